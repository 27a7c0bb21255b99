"""The paramiko transport (inventory ``connection: paramiko``), bound by the same deadline
as the others. paramiko itself (a tenth of a second to import) is imported only by runs
that have such a host: :func:`paramiko_backend` makes the class on first use."""

from __future__ import annotations

import functools
import select
import time
from typing import TYPE_CHECKING, Any

from testinfra.backend.base import BaseBackend

from afterboot.errors import CommandTimeout, HostUnreachable
from afterboot.transport.transports import CHUNK, Tail, with_note

if TYPE_CHECKING:
    import paramiko


def paramiko_backend(label: str, deadline: float, *args: Any, **kwargs: Any) -> BaseBackend:
    """testinfra's paramiko backend for one host, each command bound by ``deadline``."""
    backend: BaseBackend = _backend_class()(label, deadline, *args, **kwargs)
    return backend


@functools.cache
def _backend_class() -> type[Any]:
    import paramiko  # third party, imported here: only runs with a paramiko host pay for it
    from testinfra.backend import paramiko as testinfra_paramiko

    class DeadlineParamiko(testinfra_paramiko.ParamikoBackend):
        def __init__(self, label: str, deadline: float, *args: Any, **kwargs: Any) -> None:
            self.host_label, self.deadline = label, deadline
            super().__init__(*args, **kwargs)

        def _exec_command(self, command: bytes) -> tuple[int, bytes, bytes]:
            ends_at = time.monotonic() + self.deadline
            chan: paramiko.Channel | None = None
            try:
                transport = self.client.get_transport()
                if transport is None:
                    raise HostUnreachable(self.host_label, "ssh transport closed")
                chan = transport.open_session(timeout=self.deadline)
                chan.exec_command(command)
                return _drain(chan, ends_at)
            except TimeoutError:
                if chan is not None:
                    chan.close()
                raise CommandTimeout(
                    self.host_label, command.decode(errors="replace"), self.deadline
                ) from None
            except (paramiko.SSHException, OSError) as exc:
                raise HostUnreachable(self.host_label, str(exc) or type(exc).__name__) from None

    return DeadlineParamiko


def _drain(chan: paramiko.Channel, ends_at: float) -> tuple[int, bytes, bytes]:
    """Both streams of a channel and its exit status by ``ends_at``, or TimeoutError."""
    out, err = Tail(), Tail()
    while True:
        left = ends_at - time.monotonic()
        if left <= 0:
            raise TimeoutError
        if chan.recv_ready():
            out.add(chan.recv(CHUNK))
        elif chan.recv_stderr_ready():
            err.add(chan.recv_stderr(CHUNK))
        elif chan.eof_received or chan.closed:
            break
        else:
            select.select([chan], [], [], min(left, 0.02))  # EOF sets no event
    if not chan.status_event.wait(max(0.0, ends_at - time.monotonic())):
        raise TimeoutError
    return chan.recv_exit_status(), out.value(), with_note(err.value(), out, err)
