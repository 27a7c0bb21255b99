"""Silent hosts of a fleet cost one timeout together (afterboot.transport.reach): every
ssh port asked at once, on loopback only (a full accept queue drops the SYN: no answer)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from afterboot.transport import reach
from afterboot.transport.reach import silent, target
from afterboot.transport.sshconfig import host_patterns, matches, signature


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


# -- one ssh -G for command lines ssh's configuration cannot tell apart ---------------------


def _fleet(config: Path, *destinations: str) -> dict[str, list[str]]:
    return {
        f"h{i}": ["ssh", "-F", str(config), "-l", "ops", "--", d, "true"]
        for i, d in enumerate(destinations)
    }


def _counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Each ``ssh -G`` run, by destination."""
    asked: list[str] = []
    real = reach.target

    def counting(argv: Sequence[str], timeout: float) -> tuple[str, int] | None:
        asked.append(argv[list(argv).index("--") + 1])
        return real(argv, timeout)

    monkeypatch.setattr(reach, "target", counting)
    return asked


def _one_by_one(argvs: dict[str, list[str]]) -> dict[str, tuple[str, int]]:
    """What ``ssh -G`` says for each host, asked one by one."""
    return {n: t for n, a in argvs.items() if (t := target(a, 2.0)) is not None}


FLEET = ("10.1.0.1", "10.1.0.2", "10.1.0.3", "10.2.0.4", "ops@10.2.0.5", "cmp-06.example.org")


def test_destinations_the_same_host_lines_apply_to_ask_ssh_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A site's configuration: a bastion, names of its own, a block for one network, one
    for a single host, a default for all. ssh is asked once per set of destinations the
    same Host lines apply to, and says the same as asked one by one."""
    config = tmp_path / "ssh_config"
    (tmp_path / "more.conf").write_text("Host *\n  ServerAliveInterval 5\n")
    config.write_text(
        f"Include {tmp_path}/*.conf\n"
        "Host bastion cmp-*\n  User admin\n"
        "Host 10.2.* !10.2.0.9\n  Port 2202\n"
        "Host 10.1.0.3\n  Port 2203\n"
        "Host=*\n  Port 2200\n"
        "Match all\n  ConnectionAttempts 1\n"
    )
    argvs = _fleet(config, *FLEET)
    asked = _counted(monkeypatch)
    got = reach.targets(argvs, 2.0)
    # 10.1.0.1 and .2 alike (one ssh -G); 10.1.0.3 alone; 10.2.0.4 and .5 alike; a name
    # is asked for itself (a Host block may give it an address)
    assert sorted(asked) == ["10.1.0.1", "10.1.0.3", "10.2.0.4", "cmp-06.example.org"]
    assert got == {
        "h0": ("10.1.0.1", 2200),
        "h1": ("10.1.0.2", 2200),
        "h2": ("10.1.0.3", 2203),
        "h3": ("10.2.0.4", 2202),
        "h4": ("10.2.0.5", 2202),
    }
    monkeypatch.undo()
    assert got == _one_by_one(argvs)


def test_names_given_their_address_ask_ssh_once_per_host_lines_that_apply(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An inventory's hosts as afterboot gives them to ssh: the name as destination, the
    address as ``-o HostName=``. ssh matches Host lines against the name and takes the
    command line's HostName before any file's: one ``ssh -G`` per set of names the same
    lines apply to, each host at its own address, as asked one by one."""
    config = tmp_path / "ssh_config"
    config.write_text(
        "Host cmp-*\n  Port 2202\n  HostName 10.9.9.9\n"
        "Host ctl-01\n  Port 2203\n"
        "Host *\n  User ops\n"
    )
    names = {"h0": "cmp-01", "h1": "cmp-02", "h2": "ctl-01", "h3": "obj-01", "h4": "obj-02"}
    argvs = {
        h: ["ssh", "-o", f"HostName=10.1.0.{i}", "-F", str(config), "--", name, "true"]
        for i, (h, name) in enumerate(names.items())
    }
    argvs["h5"] = ["ssh", "-o", "HostName=obj-03.example.org", "-F", str(config), "--", "o3", "x"]
    asked = _counted(monkeypatch)
    got = reach.targets(argvs, 2.0)
    # cmp-01 and -02 alike, ctl-01 alone, obj-01 and -02 alike; an address that is a name
    # is left to ssh (asked, not reached directly)
    assert sorted(asked) == ["cmp-01", "ctl-01", "o3", "obj-01"]
    assert got == {
        "h0": ("10.1.0.0", 2202),
        "h1": ("10.1.0.1", 2202),
        "h2": ("10.1.0.2", 2203),
        "h3": ("10.1.0.3", 22),
        "h4": ("10.1.0.4", 22),
    }
    monkeypatch.undo()
    assert got == _one_by_one(argvs)


@pytest.mark.parametrize(
    "text",
    [
        "Match host 10.1.0.2\n  Port 2201\n",
        'Match exec "test -e /nonexistent"\n  Port 2201\n',
        "CanonicalizeHostname yes\n",
        "Host *\n  HostName 10.9.9.9\n",  # every host to one address: ssh -G says so
        "Host *\n  ProxyJump bastion\n",
        'Host "unterminated\n',
    ],
)
def test_a_configuration_that_may_tell_hosts_apart_otherwise_asks_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    config = tmp_path / "ssh_config"
    config.write_text(text)
    argvs = _fleet(config, "10.1.0.1", "10.1.0.2")
    asked = _counted(monkeypatch)
    got = reach.targets(argvs, 2.0)
    assert set(asked) == {"10.1.0.1", "10.1.0.2"}  # each asked (after one, maybe)
    monkeypatch.undo()
    assert got == _one_by_one(argvs)


def test_host_patterns_as_ssh_matches_them() -> None:
    assert matches(["10.1.*"], "10.1.0.7")
    assert matches(["*"], "10.1.0.7")
    assert matches(["10.1.0.?"], "10.1.0.7")
    assert not matches(["10.1.0.?"], "10.1.0.17")
    assert not matches(["10.1.*", "!10.1.0.7"], "10.1.0.7")
    assert not matches(["!10.1.0.7"], "10.1.0.8")  # a negation alone matches nothing
    assert matches(["CMP-*"], "cmp-01")
    assert not matches(["10.1.[0]*"], "10.1.0.7")  # no character classes in ssh's patterns
    assert signature([("a",), ("10.*",), ("*",)], "10.0.0.1") == (False, True, True)


def test_an_unreadable_configuration_is_not_evaluated(tmp_path: Path) -> None:
    config = tmp_path / "ssh_config"
    config.mkdir()  # not a file ssh could read either
    assert host_patterns(["ssh", "-F", str(config), "--", "x", "true"]) is None
    config.rmdir()
    config.write_bytes(b"Host \xff\n")
    assert host_patterns(["ssh", "-F", str(config), "--", "x", "true"]) is None
    config.write_text("Host a b\nHost=c\n")
    assert host_patterns(["ssh", "-F", str(config), "--", "x", "true"]) == (("a", "b"), ("c",))
