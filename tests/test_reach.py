"""Silent hosts of a fleet cost one timeout together (afterboot.transport.reach): every
ssh port asked at once, on loopback only (a full accept queue drops the SYN: no answer)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from afterboot.transport.reach import silent, target


@pytest.fixture
def listening() -> Iterator[int]:
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(16)
        yield srv.getsockname()[1]


@pytest.fixture
def full() -> Iterator[int]:
    """A port whose accept queue is full: new connections get no answer."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(0)
    port = srv.getsockname()[1]
    queued = []
    for _ in range(4):  # fill the queue; the kernel then drops further SYNs
        c = socket.socket()
        c.setblocking(False)
        c.connect_ex(("127.0.0.1", port))
        queued.append(c)
    time.sleep(0.2)
    yield port
    for c in queued:
        c.close()
    srv.close()


def _closed() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_silent_hosts_cost_one_timeout_together(listening: int, full: int) -> None:
    closed = _closed()
    hosts = {"up": ("127.0.0.1", listening), "refused": ("127.0.0.1", closed)}
    hosts |= {f"silent-{i}": ("127.0.0.1", full) for i in range(200)}
    started = time.monotonic()
    why = silent(hosts, timeout=1.0)
    took = time.monotonic() - started
    assert "up" not in why
    assert "ECONNREFUSED" in why["refused"]
    assert all(f"silent-{i}" in why for i in range(200))
    assert why["silent-7"].endswith("no answer within 1s")
    assert took < 3.0, took  # 200 silent hosts: one timeout, not 200


def test_only_hosts_ssh_reaches_directly_are_asked() -> None:
    direct = ["ssh", "-o", "HostName=127.0.0.1", "-p", "2222", "--", "cmp-01", "true"]
    assert target(direct, 2.0) == ("127.0.0.1", 2222)
    jumped = ["ssh", "-J", "admin@bastion", "-o", "HostName=10.0.0.5", "--", "cmp-02", "true"]
    assert target(jumped, 2.0) is None
    proxied = ["ssh", "-o", "ProxyCommand=nc %h %p", "-o", "HostName=10.0.0.6", "--", "c", "x"]
    assert target(proxied, 2.0) is None
    named = ["ssh", "-o", "HostName=cmp-03.example.org", "--", "cmp-03", "true"]
    assert target(named, 2.0) is None  # a name ssh resolves: left to ssh
