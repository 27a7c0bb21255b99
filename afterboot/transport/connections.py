"""One reusable connection per host, opened on first use and shared by every check.

ssh connections share one master per host (ControlMaster/ControlPersist), closed at the
end of the session; every command has a deadline (``--timeout``). A host that does not
answer is probed once: its checks end as *could not run: host X unreachable (reason)*
and the other hosts are checked normally.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from functools import cached_property
from typing import Any, TypeVar

import testinfra.host
from testinfra.backend.base import BaseBackend, CommandResult

from afterboot.errors import CommandTimeout, CouldNotRun, HostUnreachable
from afterboot.inventory.model import HostSpec, Inventory, merge_jumps
from afterboot.snapshot import HostSnapshot, ReadResult
from afterboot.transport.paramiko_backend import paramiko_backend
from afterboot.transport.transports import (
    DeadlineDocker,
    DeadlineLocal,
    DeadlinePodman,
    DeadlineSsh,
)

# reads named host reads in one command, now: ``read_host(remote, names, timeout)``
Reader = Callable[["Remote", list[str], float], HostSnapshot]

# masters asked to exit at once at the end of the run
CLOSE_WORKERS = 16


def ssh_hostname(address: str) -> str:
    """HostName as ssh reads it: ssh expands ``%`` sequences there, and an IPv6 scope id
    (``fe80::1%eth0``) is no sequence of ssh's."""
    return address.replace("%", "%%")


def ran_key(command: str, args: Iterable[str]) -> str:
    """A command as :meth:`Remote.run` keeps it: its format, then each argument (as a JSON
    list: no control character, which a saved snapshot's redaction would escape)."""
    return json.dumps([command, *args])


class Remote:
    """A host of the inventory and its connection; testinfra's modules are attributes.

    ``remote.run("virsh list --all")``, ``remote.file("/etc/nova/nova.conf")``,
    ``remote.process.filter(...)``: all go through the same deadline-bound connection.
    """

    def __init__(
        self,
        spec: HostSpec,
        timeout: float,
        control_dir: str | Callable[[], str],
        reader: Reader | None = None,
        offline: str = "",
    ) -> None:
        self.spec = spec
        self.reader = reader
        self.offline = offline  # why no command may run (a saved snapshot is judged)
        self.name = spec.name
        self.timeout = timeout
        self._control_dir = control_dir
        self._unreachable: HostUnreachable | None = None
        self._probed = False
        self.commands = 0
        self.reads: dict[str, ReadResult] = {}
        self.undeclared: set[str] = set()  # reads a check made that no check declared
        # commands run after the pass (a failure's evidence: log tails), by ran_key: saved
        # with the snapshot, so that a later judge (--from-snapshot) answers them again
        self.ran: dict[str, ReadResult] = {}
        self.read_window = (0.0, 0.0)  # UNIX times between which the host was read
        self._collected = threading.Event()
        self._collected.set()
        self._collect_bound = 0.0

    def __repr__(self) -> str:
        return f"<Remote {self.name} via {self.spec.connection}>"

    @property
    def control_path(self) -> str:
        """This inventory host's own ssh master socket (two names for one address are two
        hosts to the suite: each has its own master). Its directory may be made only
        now (:meth:`Connections.control_dir`)."""
        digest = hashlib.sha256(self.name.encode()).hexdigest()[:16]
        where = self._control_dir if isinstance(self._control_dir, str) else self._control_dir()
        return f"{where}/{digest}"

    @cached_property
    def backend(self) -> BaseBackend:
        if self.offline:
            raise CouldNotRun(f"host {self.name}: {self.offline}", "no command runs")
        spec, label, t = self.spec, self.name, self.timeout
        if spec.connection == "local":
            return DeadlineLocal(label, t)
        if spec.connection == "docker":
            return DeadlineDocker(label, t, spec.container or spec.name)
        if spec.connection == "podman":
            return DeadlinePodman(label, t, spec.container or spec.name)
        if spec.connection == "paramiko":
            target = spec.address or spec.name
            pspec = f"{spec.user}@{target}" if spec.user else target
            if spec.port:
                pspec = f"{pspec}:{spec.port}"
            return paramiko_backend(
                label,
                t,
                pspec,
                ssh_config=spec.ssh_config,
                ssh_identity_file=spec.key,
                timeout=int(max(1, t)),
            )
        # An argv list, never a shell line: inventory values stay single arguments.
        options = [
            "-o",
            "BatchMode=yes",
            "-o",
            f"ServerAliveInterval={max(1, int(t))}",
            "-o",
            "ServerAliveCountMax=1",
        ]
        if spec.address:
            options += ["-o", f"HostName={ssh_hostname(spec.address)}"]
        # one -J: the inventory's jump and any -J/ProxyJump of the ssh arguments, in order
        # (ssh refuses a second -J, and would keep only the first ProxyJump)
        jump, ssh_args = merge_jumps(spec.jump, spec.ssh_args)
        if jump:
            options += ["-J", jump]
        options += list(ssh_args)  # ansible_ssh_common_args / _extra_args, as argv
        return DeadlineSsh(
            label,
            t,
            spec.name,
            user=spec.user,
            port=spec.port,
            options=options,
            ssh_config=spec.ssh_config,
            ssh_identity_file=spec.key,
            timeout=int(max(1, t)),
            controlpath=self.control_path,
            controlpersist=max(60, int(t) * 6),
        )

    def ssh_argv(self) -> list[str] | None:
        """The OpenSSH command line this host's commands run through (None: not ssh)."""
        if self.spec.connection != "ssh" or self.offline:
            return None
        backend: Any = self.backend
        argv: list[str] = backend.ssh_argv("true")
        return argv

    @cached_property
    def testinfra(self) -> testinfra.host.Host:
        return testinfra.host.Host(self.backend)

    def probe(self) -> None:
        """Raise :class:`HostUnreachable` if the host does not answer; asks only once."""
        if not self._probed:
            self._probed = True
            try:
                result = self.backend.run("true")
                if result.rc != 0:
                    raise HostUnreachable(self.name, f"'true' exited {result.rc}")
            except HostUnreachable as exc:
                self._unreachable = exc
            except CommandTimeout:
                self._unreachable = HostUnreachable(
                    self.name, f"no answer within {self.timeout:g}s"
                )
            except CouldNotRun as exc:
                self._unreachable = HostUnreachable(self.name, str(exc))
        if self._unreachable is not None:
            raise self._unreachable

    def run(self, command: str, *args: str) -> CommandResult:
        """Run a command (``%s`` placeholders are shell-quoted ``args``); judged offline, the
        answer the live run saved, where it ran the same command."""
        self.probe()
        key = ran_key(command, args)
        if self.offline and key in self.ran:
            saved = self.ran[key]
            return CommandResult(None, saved.rc, key.encode(), saved.stdout, saved.stderr)
        self.commands += 1
        result: CommandResult = self.testinfra.run(self.become() + command, *args)
        self.ran[key] = ReadResult(key, result.rc, result.stdout, result.stderr)
        return result

    def become(self) -> str:
        """The ``sudo`` prefix of a host whose inventory says to become another user
        (``ansible_become``): non-interactive, so a missing sudo rule fails at once."""
        if not self.spec.become:
            return ""
        user = self.spec.become_user or "root"
        return f"sudo -n -u {shlex.quote(user)} -- "

    def run_script(self, script: str, deadline: float) -> CommandResult:
        """Run a composed read script (``sh``), once, within ``deadline`` seconds."""
        backend: Any = self.backend
        saved = backend.deadline
        backend.deadline = deadline
        try:
            self.commands += 1
            result: CommandResult = backend.run(self.become() + "sh -c %s", script)
        finally:
            backend.deadline = saved
        if result.rc == 255 and self.spec.connection in ("ssh",):
            raise HostUnreachable(self.name, (result.stderr or "ssh failed").strip()[-200:])
        return result

    def begin_collection(self, bound: float = 0.0) -> None:
        """The collection pass reads this host now, within ``bound`` seconds: :meth:`read`
        waits for it (at least 3 x --timeout)."""
        self._collect_bound = bound
        self._collected.clear()

    def adopt(self, snap: HostSnapshot | None) -> None:
        """Take the collection pass's reads (and its verdict on reachability); a saved
        snapshot's commands run after its pass too."""
        if snap is not None:
            self.reads.update(snap.reads)
            self.ran.update(snap.ran)
            self.read_window = (snap.started, snap.ended)
            if snap.paths:  # where the services' configurations put what is read
                self.spec = replace(self.spec, paths={**self.spec.paths, **snap.paths})
            self._probed = True
            # the latest read's verdict: a host read again (--settle) may be back
            self._unreachable = (
                HostUnreachable(self.name, snap.unreachable) if snap.unreachable else None
            )
        self._collected.set()

    def read(self, name: str, *, again: bool = False) -> ReadResult:
        """A named read of :mod:`afterboot.reads.hostreads`, from the collection pass; read now
        (one more round trip, counted in ``undeclared``) when no check declared it, or
        when a check asks for a second sample (``again``)."""
        self._collected.wait(max(self.timeout * 3, self._collect_bound))
        self.probe()
        # a saved snapshot judged (offline) has one sample: the second is the first again
        got = None if again and not self.offline else self.reads.get(name)
        if got is None:
            if self.reader is None:
                why = self.offline or "no reader"
                raise CouldNotRun(f"host {self.name}: read {name!r} was not collected", why)
            if name not in self.reads:
                self.undeclared.add(name)
            snap = self.reader(self, [name], self.timeout)
            if snap.unreachable is not None:
                raise HostUnreachable(self.name, snap.unreachable)
            self.reads.update(snap.reads)
            self.read_window = (snap.started, snap.ended)
            got = self.reads[name]
        return got.require(self.name)

    def path(self, canonical: str) -> str:
        return self.spec.path(canonical)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        self.probe()
        return getattr(self.testinfra, name)

    def close(self) -> None:
        if (
            self.spec.connection == "ssh"
            and "backend" in self.__dict__
            and self._probed
            and os.path.exists(self.control_path)  # a master was started: no socket, no master
        ):
            # Ask the master to exit: same options, "-O exit" instead of a command.
            argv = ["ssh", "-O", "exit", "-o", f"ControlPath={self.control_path}"]
            if self.spec.ssh_config:
                argv += ["-F", self.spec.ssh_config]
            if self.spec.user:
                argv += ["-l", self.spec.user]
            if self.spec.port:
                argv += ["-p", str(self.spec.port)]
            if self.spec.address:
                argv += ["-o", f"HostName={ssh_hostname(self.spec.address)}"]
            argv += ["--", self.spec.name]
            subprocess.run(argv, capture_output=True, timeout=self.timeout, check=False)


T = TypeVar("T")


def each_answer(remotes: Iterable[Remote], ask: Callable[[Remote], T | None]) -> dict[str, T]:
    """What each host answered (``None``: nothing to say); hosts that could not be read
    are left out: their own checks say so."""
    answers: dict[str, T] = {}
    for remote in remotes:
        try:
            value = ask(remote)
        except CouldNotRun:
            continue
        if value is not None:
            answers[remote.name] = value
    return answers


def first_answer(
    remotes: Iterable[Remote],
    ask: Callable[[Remote], T | None],
    what: str,
    tries: int = 0,
) -> T:
    """The first host's answer, asking in turn (hosts of one role share what is asked);
    CouldNotRun naming why each host did not answer when none does.

    ``tries``: how many hosts that answered, but not with this, are asked at most (0: all).
    A cluster's state that one host could not read (its monitors silent for 10 s) the
    next will not either: a fleet's ceph hosts are not each asked in turn. Hosts that do
    not answer at all cost nothing more (the pass already said so) and are not counted."""
    why = []
    left = tries or -1
    for remote in remotes:
        if not left:
            why.append("the other hosts not asked: they share one cluster")
            break
        try:
            value = ask(remote)
        except HostUnreachable as exc:
            why.append(str(exc))
            continue
        except CouldNotRun as exc:
            why.append(str(exc))
            left -= 1
            continue
        if value is not None:
            return value
        why.append(f"{remote.name}: nothing")
        left -= 1
    raise CouldNotRun(f"{what} answers on no host", "; ".join(why) or "no such host")


class Connections:
    """The session's pool: one :class:`Remote` per host, made on first use."""

    def __init__(
        self,
        inventory: Inventory | None,
        timeout: float,
        reader: Reader | None = None,
        offline: str = "",
    ) -> None:
        self.inventory = inventory
        self.timeout = timeout
        self.reader = reader  # reads a host now (afterboot.collection.read_host)
        self.offline = offline  # why nothing is read now: a saved snapshot is judged
        self._control_dir = ""  # made when the first ssh master needs it (their sockets)
        self._control_lock = threading.Lock()
        self._remotes: dict[str, Remote] = {}

    def __getitem__(self, name: str) -> Remote:
        remote = self._remotes.get(name)
        if remote is None:
            if self.inventory is None or name not in self.inventory.hosts:
                raise CouldNotRun(f"host {name} is not in the inventory", "")
            spec = self.inventory.hosts[name]
            remote = Remote(spec, self.timeout, self.control_dir, self.reader, self.offline)
            self._remotes[name] = remote
        return remote

    def control_dir(self) -> str:
        """The directory of the session's ssh master sockets, made on the first call: a
        session whose hosts never open an ssh connection (reads given to it, a snapshot
        judged) leaves no directory behind, even if nobody closes it."""
        with self._control_lock:
            if not self._control_dir:
                self._control_dir = tempfile.mkdtemp(prefix="ab-ssh-")
            return self._control_dir

    def with_role(self, *roles: str) -> list[Remote]:
        if self.inventory is None:
            return []
        return [self[h.name] for h in self.inventory.with_role(*roles)]

    def masters(self) -> int:
        """ssh master connections open now (one control socket each)."""
        if not self._control_dir:
            return 0
        try:
            return sum(1 for _ in os.scandir(self._control_dir))
        except OSError:
            return 0

    def close(self) -> None:
        """Ask every master to exit, all at once (one ``ssh -O exit`` each, ~10 ms)."""

        def close_one(remote: Remote) -> None:
            with contextlib.suppress(subprocess.SubprocessError, OSError):
                remote.close()

        with ThreadPoolExecutor(max_workers=CLOSE_WORKERS, thread_name_prefix="ab-close") as pool:
            list(pool.map(close_one, self._remotes.values()))
        if self._control_dir:
            shutil.rmtree(self._control_dir, ignore_errors=True)
