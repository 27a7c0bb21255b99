"""testinfra backends with one overall deadline and capped output on every command.

testinfra runs commands without a timeout; after a reboot a host that accepts TCP but
never answers would hang the whole run. These subclasses keep testinfra's behaviour and
add three things: every command ends within ``timeout`` seconds *in total* (not per read),
each output stream keeps at most :data:`OUTPUT_CAP` bytes (its tail), and a transport
failure (ssh's exit status 255, a paramiko socket error) becomes :class:`HostUnreachable`,
so the check ends as *could not run* instead of failing.

ssh is started from an argv list, never a shell line: no inventory value can become an
option of the local ssh or a local command.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import time
from typing import IO, Any

from testinfra.backend import base, docker, local, podman, ssh

from afterboot.errors import CommandTimeout, HostUnreachable

OUTPUT_CAP = 4 * 1024 * 1024  # bytes kept per stream (the tail)
CHUNK = 65536


def _first_line(data: bytes | str) -> str:
    text = data.decode(errors="replace") if isinstance(data, bytes) else data
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no reason given"


class Tail:
    """The last ``cap`` bytes of a stream, and how much was cut before them."""

    def __init__(self, cap: int | None = None) -> None:
        self.cap = cap or OUTPUT_CAP
        self.chunks: list[bytes] = []
        self.size = 0
        self.cut = 0

    def add(self, data: bytes) -> None:
        self.chunks.append(data)
        self.size += len(data)
        if self.size > 2 * self.cap:  # compact now and then, not on every chunk
            self._compact()

    def _compact(self) -> None:
        data = b"".join(self.chunks)
        if len(data) > self.cap:
            self.cut += len(data) - self.cap
            data = data[-self.cap :]
        self.chunks, self.size = [data], len(data)

    def value(self) -> bytes:
        self._compact()
        return self.chunks[0] if self.chunks else b""


def with_note(stderr: bytes, out: Tail, err: Tail) -> bytes:
    notes = [
        f"afterboot: {name} cut to its last {tail.cap} bytes ({tail.cut} bytes dropped)\n"
        for name, tail in (("stdout", out), ("stderr", err))
        if tail.cut
    ]
    return "".join(notes).encode() + stderr


def _kill(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    # An ssh mux client hands its pipes to the master: do not wait for their EOF.
    for pipe in (proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()
    proc.wait()


def run_bounded(cmd: bytes | list[str], deadline: float, shell: bool) -> tuple[int, bytes, bytes]:
    """Run a local process; ``TimeoutError`` past ``deadline`` seconds in total."""
    proc = subprocess.Popen(
        cmd,
        shell=shell,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    ends_at = time.monotonic() + deadline
    tails: dict[int, Tail] = {proc.stdout.fileno(): Tail(), proc.stderr.fileno(): Tail()}
    open_: dict[int, IO[bytes]] = {
        proc.stdout.fileno(): proc.stdout,
        proc.stderr.fileno(): proc.stderr,
    }
    try:
        while open_:
            left = ends_at - time.monotonic()
            if left <= 0:
                raise TimeoutError
            ready, _, _ = select.select(list(open_), [], [], left)
            for fd in ready:
                data = os.read(fd, CHUNK)
                if data:
                    tails[fd].add(data)
                else:
                    del open_[fd]
        rc = proc.wait(max(0.01, ends_at - time.monotonic()))
    except (TimeoutError, subprocess.TimeoutExpired):
        _kill(proc)
        raise TimeoutError from None
    out, err = tails[proc.stdout.fileno()], tails[proc.stderr.fileno()]
    proc.stdout.close()
    proc.stderr.close()
    return rc, out.value(), with_note(err.value(), out, err)


class _Deadline:
    """Mixin: ``run_local`` with a deadline; the whole process group dies on expiry."""

    host_label: str
    deadline: float

    def run_local(self, command: str, *args: str) -> base.CommandResult:
        backend: Any = self
        cmd = backend.encode(backend.quote(command, *args))
        try:
            rc, stdout, stderr = run_bounded(cmd, self.deadline, shell=True)
        except TimeoutError:
            raise CommandTimeout(
                self.host_label, " ".join(args) or command, self.deadline
            ) from None
        result: base.CommandResult = backend.result(rc, cmd, stdout, stderr)
        return result


class DeadlineSsh(_Deadline, ssh.SshBackend):
    """OpenSSH through one master per host, started from an argv list (no shell)."""

    def __init__(
        self,
        label: str,
        deadline: float,
        destination: str,
        *,
        user: str | None,
        port: int | None,
        options: list[str],
        **kwargs: Any,
    ) -> None:
        self.host_label, self.deadline = label, deadline
        self.options = options
        super().__init__(destination, **kwargs)
        self.host = base.HostSpec(destination, str(port) if port else None, user, None)

    def ssh_argv(self, command: str) -> list[str]:
        argv = ["ssh", *self.options]
        if self.ssh_config:
            argv += ["-F", self.ssh_config]
        if self.host.user:
            argv += ["-l", self.host.user]
        if self.host.port:
            argv += ["-p", str(self.host.port)]
        if self.ssh_identity_file:
            argv += ["-i", self.ssh_identity_file]
        argv += ["-o", f"ConnectTimeout={self.timeout}"]
        if self.controlpath:
            argv += [
                "-o",
                "ControlMaster=auto",
                "-o",
                f"ControlPersist={self.controlpersist}s",
                "-o",
                f"ControlPath={self.controlpath}",
            ]
        return [*argv, "--", self.host.name, command]

    def run_ssh(self, command: str) -> base.CommandResult:
        try:
            rc, stdout, stderr = run_bounded(self.ssh_argv(command), self.deadline, shell=False)
        except TimeoutError:
            raise CommandTimeout(self.host_label, command, self.deadline) from None
        if rc == 255:
            raise HostUnreachable(self.host_label, _first_line(stderr))
        result: base.CommandResult = self.result(rc, self.encode(command), stdout, stderr)
        return result


class DeadlineLocal(_Deadline, local.LocalBackend):
    def __init__(self, label: str, deadline: float, *args: Any, **kwargs: Any) -> None:
        self.host_label, self.deadline = label, deadline
        super().__init__(*args, **kwargs)


class DeadlineDocker(_Deadline, docker.DockerBackend):
    def __init__(self, label: str, deadline: float, *args: Any, **kwargs: Any) -> None:
        self.host_label, self.deadline = label, deadline
        super().__init__(*args, **kwargs)


class DeadlinePodman(_Deadline, podman.PodmanBackend):
    def __init__(self, label: str, deadline: float, *args: Any, **kwargs: Any) -> None:
        self.host_label, self.deadline = label, deadline
        super().__init__(*args, **kwargs)
