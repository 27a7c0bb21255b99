"""Which hosts of a fleet answer at all: one TCP connect to each host's ssh port, all at
once, before any ssh process starts.

An unreachable host costs ssh a process and a whole connect timeout; ten thousand of them,
a few dozen at a time, take hours. Asked all at once without ssh (non-blocking sockets, as
many as the process may open), every silent host costs the same single timeout. Only hosts
ssh itself would reach directly are asked: where ssh's own configuration (``ssh -G``, with
the options afterboot gives it) names the address and port and no ProxyJump or
ProxyCommand; anything else, and any host that answers, goes through ssh as before.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import itertools
import resource
import selectors
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

from afterboot.transport.sshconfig import host_patterns, signature

Target = tuple[str, int]  # numeric address, port

RESOLVE_WORKERS = 8
SPARE_FDS = 64  # left for everything else the process has open


def target(ssh_argv: Sequence[str], timeout: float) -> Target | None:
    """Where ssh would connect for this command line (``ssh -G``), or None when it would
    not connect directly (a jump, a proxy command, a name to resolve)."""
    argv = list(ssh_argv)
    if "--" in argv:
        argv = argv[: argv.index("--") + 2]  # the destination, not the command
    try:
        proc = subprocess.run(
            [argv[0], "-G", *argv[1:]],
            capture_output=True,
            text=True,
            timeout=max(1.0, timeout),
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if proc.returncode != 0:
        return None
    conf: dict[str, str] = {}
    for line in proc.stdout.splitlines():
        key, _, value = line.partition(" ")
        conf.setdefault(key.lower(), value.strip())
    if conf.get("proxyjump", "none") != "none" or conf.get("proxycommand", "none") != "none":
        return None
    host, port = conf.get("hostname", ""), conf.get("port", "22")
    return (host, int(port)) if _literal(host) and port.isdigit() else None


def _destination(argv: Sequence[str]) -> str:
    """The destination of an ssh command line (the word after ``--``), its user dropped."""
    words = list(argv)
    after = words[words.index("--") + 1] if "--" in words[:-1] else ""
    return after.rpartition("@")[2]


def _address(argv: Sequence[str]) -> str:
    """Where the command line tells ssh to connect: its first ``-o HostName=`` (ssh takes
    the first value it is given, the command line's before any file's), else its
    destination. An inventory's address is given that way, its name as the destination."""
    words = list(argv)
    if "--" in words:
        words = words[: words.index("--")]
    for option, value in itertools.pairwise(words):
        if option == "-o" and _named(value):
            return value.partition("=")[2]
    return _destination(argv)


def _shape(argv: Sequence[str]) -> tuple[str, ...]:
    """The command line without its destination, command, ControlPath and HostName (which
    ssh's answer for where to connect depends on only as :func:`_address` says): alike
    lines, one ``ssh -G``."""
    words = list(argv)
    if "--" in words:
        words = words[: words.index("--")]
    return tuple(w for w in words if not w.startswith("ControlPath=") and not _named(w))


def _named(word: str) -> bool:
    """Whether an ``-o`` word sets HostName (ssh's keywords are case-insensitive)."""
    return word.lower().startswith("hostname=")


def _literal(address: str) -> bool:
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return False
    return True


def _alike(argvs: Mapping[str, Sequence[str]], timeout: float) -> dict[str, Target | None]:
    """Hosts whose command lines differ only in their destination (and the address they
    give, a literal one), and to whose destinations the same ``Host`` lines of ssh's
    configuration apply (:mod:`afterboot.transport.sshconfig`; ssh matches them against
    the destination, not the address): one ``ssh -G`` answers for all of them. Those it
    cannot answer for are left out."""
    patterns: dict[tuple[str, ...], tuple[tuple[str, ...], ...] | None] = {}
    groups: dict[tuple[object, ...], list[str]] = {}
    for name, argv in argvs.items():
        shape = _shape(argv)
        if shape not in patterns:
            patterns[shape] = host_patterns(argv)
        lines = patterns[shape]
        if lines is not None and _literal(_address(argv)):
            groups.setdefault((shape, signature(lines, _destination(argv))), []).append(name)
    out: dict[str, Target | None] = {}
    for names in groups.values():
        if len(names) < 2:
            continue
        first = target(argvs[names[0]], timeout)
        if first is None or first[0] != _address(argvs[names[0]]):
            out[names[0]] = first  # its own answer all the same: not asked twice
            continue  # a proxy, or a HostName for all of them: the others are asked
        out.update((n, (_address(argvs[n]), first[1])) for n in names)
    return out


def targets(argvs: Mapping[str, Sequence[str]], timeout: float) -> dict[str, Target]:
    """The hosts ssh would reach directly, and where: ``ssh -G`` for each (side by side),
    once for hosts whose command lines and configuration cannot tell them apart."""
    found = _alike(argvs, timeout)
    rest = {n: a for n, a in argvs.items() if n not in found}
    with ThreadPoolExecutor(RESOLVE_WORKERS, thread_name_prefix="ab-ssh-G") as pool:
        found.update(zip(rest, pool.map(lambda a: target(a, timeout), rest.values()), strict=True))
    return {name: t for name, t in found.items() if t is not None}


def _room() -> int:
    """How many sockets may be open at once (the soft limit raised to the hard one)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        if hard == resource.RLIM_INFINITY or hard > soft:
            resource.setrlimit(
                resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY else 65536, hard)
            )
            soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return max(16, soft - SPARE_FDS)


def silent(hosts: dict[str, Target], timeout: float) -> dict[str, str]:
    """The hosts whose ssh port did not accept a connection within ``timeout``, and why
    (refused, unreachable, no answer); every host asked at once (in batches as large as the
    process may open sockets)."""
    why: dict[str, str] = {}
    names = list(hosts)
    room = _room()
    for start in range(0, len(names), room):
        why.update(_batch({n: hosts[n] for n in names[start : start + room]}, timeout))
    return why


def _batch(hosts: dict[str, Target], timeout: float) -> dict[str, str]:
    why: dict[str, str] = {}
    sel = selectors.DefaultSelector()
    pending: dict[socket.socket, str] = {}
    try:
        for name, (addr, port) in hosts.items():
            family = socket.AF_INET6 if ":" in addr else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.setblocking(False)
            err = sock.connect_ex((addr, port))
            if err in (0, errno.EINPROGRESS):
                pending[sock] = name
                sel.register(sock, selectors.EVENT_WRITE)
            else:
                why[name] = f"{addr}:{port}: {errno.errorcode.get(err, err)}"
                sock.close()
        deadline = time.monotonic() + timeout
        while pending:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            for key, _ in sel.select(left):
                sock = key.fileobj  # type: ignore[assignment]
                name = pending.pop(sock)
                sel.unregister(sock)
                err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    addr, port = hosts[name]
                    why[name] = f"{addr}:{port}: {errno.errorcode.get(err, err)}"
                sock.close()
        for name in pending.values():
            addr, port = hosts[name]
            why[name] = f"{addr}:{port}: no answer within {timeout:g}s"
    finally:
        for sock in pending:
            sock.close()
        sel.close()
    return why


def unreachable(argvs: Mapping[str, Sequence[str]], timeout: float) -> dict[str, str]:
    """Of these ssh hosts (name -> ssh's command line), those whose ssh port does not
    answer, and why: ssh need not be started for them."""
    return silent(targets(argvs, timeout), timeout)
