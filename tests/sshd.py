"""A real OpenSSH server on loopback for connection tests and benchmarks (needs root)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from afterboot.inventory.model import HostSpec

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Sshd:
    port: int
    key: Path
    ssh_config: Path


def available() -> str | None:
    """Why a loopback sshd cannot run here, or None if it can."""
    if os.geteuid() != 0:
        return "needs root (sshd)"
    if not Path(SSHD).exists():
        return "openssh-server is not installed"
    return None


@contextmanager
def sshd(workdir: Path) -> Iterator[Sshd]:
    workdir.mkdir(parents=True, exist_ok=True)
    Path("/run/sshd").mkdir(exist_ok=True)
    host_key, key = workdir / "host_key", workdir / "id_ed25519"
    for path in (host_key, key):
        if not path.exists():
            subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True
            )
    (workdir / "authorized_keys").write_text((workdir / "id_ed25519.pub").read_text())
    port = free_port()
    config = workdir / "sshd_config"
    config.write_text(
        f"ListenAddress 127.0.0.1\nPort {port}\nHostKey {host_key}\n"
        f"PidFile {workdir / 'sshd.pid'}\nAuthorizedKeysFile {workdir / 'authorized_keys'}\n"
        "PermitRootLogin prohibit-password\nPasswordAuthentication no\nUsePAM no\n"
        "StrictModes no\nMaxSessions 50\nMaxStartups 50\n"
    )
    client = workdir / "ssh_config"
    client.write_text(
        "Host *\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n"
    )
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield Sshd(port, key, client)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@contextmanager
def silent_listener() -> Iterator[int]:
    """A TCP port that accepts connections and never says a word (a hung host)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                held.append(conn)
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(server.getsockname()[1])
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        server.close()


def host_spec(server: Sshd, connection: str = "ssh", **kw: object) -> HostSpec:
    """A host of the inventory reaching this sshd (``kw`` overrides any field)."""
    fields: dict[str, object] = dict(
        name="good",
        address="127.0.0.1",
        port=server.port,
        user="root",
        key=str(server.key),
        ssh_config=str(server.ssh_config),
        connection=connection,
        service_manager="process",
    )
    fields.update(kw)
    return HostSpec(**fields)  # type: ignore[arg-type]
