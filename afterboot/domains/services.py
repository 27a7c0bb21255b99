"""Which services a host must run, and how to ask its service manager about one.

Three managers, as real deployments have them: ``systemd`` (units, with restart counts),
``container`` (kolla-style docker/podman containers) and ``process`` (the process table,
as the Operations Guide's ``ps aux | grep nova-`` does).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

from afterboot.domains.blocked import Hung, hung_processes, parse
from afterboot.domains.containers import Container, ContainerRead, health_meaning
from afterboot.domains.containers import parse as parse_containers
from afterboot.domains.hypervisor import clock
from afterboot.domains.servicemap import Service, service
from afterboot.domains.units import units, unix_time
from afterboot.errors import CouldNotRun
from afterboot.reads.hostreads import unexpected
from afterboot.transport.connections import Remote


@dataclass(frozen=True)
class ServiceState:
    running: bool
    detail: str
    # systemd: the unit the detail is about, and its state as the remediation keys on it
    # ("restarting", "failed", "inactive", "activating", "no unit")
    unit: str = ""
    state: str = ""
    # container: the container the detail is about; state as above, or "absent",
    # "exited", "created", "paused", "unhealthy", "frozen"
    container: str = ""
    # what a finding says about it besides the detail (a container's engine, project,
    # health check): the remediation's placeholders
    about: tuple[tuple[str, str], ...] = ()
    # a process hung in uninterruptible sleep (state "hung"): its pids, wchan, and what it
    # most likely waits on (afterboot/domains/blocked.py)
    pids: str = ""
    wchan: str = ""
    blocked_on: str = ""
    cause: str = ""


@dataclass(frozen=True)
class Process:
    pid: int
    age: int  # seconds since it started
    state: str  # ps STAT: R, S, D (uninterruptible), T (stopped), Z (zombie) ...
    args: str


# A process in one of these states does no work, whatever its command line says.
DEAD_STATES = {"T": "stopped (SIGSTOP or a debugger)", "t": "stopped by a tracer", "Z": "zombie"}


# ps STAT: a state letter, then its flags (<, N, L, s, l, +)
_STAT = re.compile(r"^[A-Za-z][A-Za-z<+]*$")
_TOP = re.compile(r"^top \d+$")


def process_table(text: str, host: str = "") -> list[Process]:
    """The host's processes, without afterboot's own: the reading script (``top``),
    everything it started, and the shells that carry its text. A line that is neither
    ``top <pid>`` nor ps's ``pid ppid etimes stat args`` is could-not-run naming it."""
    top = 0
    rows: dict[int, tuple[int, Process]] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        if line.startswith("top "):
            if not _TOP.match(line.rstrip()):
                raise unexpected(host, "processes", line)
            top = int(line.split()[1])
            continue
        fields = line.split(None, 4)
        if (
            len(fields) < 4
            or not all(f.isdigit() for f in fields[:3])
            or not _STAT.match(fields[3])
        ):
            raise unexpected(host, "processes", line)
        pid, ppid, age = (int(f) for f in fields[:3])
        rows[pid] = (ppid, Process(pid, age, fields[3], fields[4] if len(fields) == 5 else ""))
    ours: set[int] = set()
    if top in rows:
        children: dict[int, list[int]] = {}
        for pid, (ppid, _) in rows.items():
            children.setdefault(ppid, []).append(pid)
        todo = [top]
        while todo:
            pid = todo.pop()
            if pid not in ours:
                ours.add(pid)
                todo.extend(children.get(pid, ()))
        parent = rows[top][0]
        while parent in rows and "@@ab-" in rows[parent][1].args:
            ours.add(parent)
            parent = rows[parent][0]
    return [proc for pid, (_, proc) in rows.items() if pid not in ours]


def _processes(remote: Remote) -> list[Process]:
    """The host's process table: never empty (ps itself runs while it reads)."""
    text = remote.read("processes").stdout
    if not any(not line.startswith("top ") and line.strip() for line in text.splitlines()):
        raise CouldNotRun(f"host {remote.name}: read 'processes'", "no process in its answer")
    return process_table(text, remote.name)


def _hung(remote: Remote, processes: list[Process]) -> dict[int, Hung]:
    """The processes proven hung in ``D`` (the ``blocked`` read, read with the process
    table; its first sample under ``--settle``); none when it was not read. A second
    sample that failed, or is not the read's (no ``now`` line), is CouldNotRun: a process
    in ``D`` would read as running."""
    got = remote.reads.get("blocked")
    if got is None:
        return {}
    second = parse(got.require(remote.name).stdout, remote.name)
    if second.uptime is None:
        raise CouldNotRun(
            f"host {remote.name}: read 'blocked' answered no uptime ('now' line)",
            got.stdout.strip()[:80] or "no output",
        )
    first = remote.reads.get("blocked@first")
    return hung_processes(
        {p.pid: (p.state, p.age) for p in processes},
        second,
        parse(first.stdout, remote.name) if first is not None and first.ok else None,
    )


def _hung_state(found: list[Process], hung: Mapping[int, Hung]) -> ServiceState:
    stuck = sorted((hung[p.pid] for p in found if p.pid in hung), key=lambda h: -h.seconds)
    since = min(h.seconds for h in stuck)
    first = stuck[0]
    pids = ", ".join(str(h.pid) for h in stuck[:5])
    wchan = first.wchan or "unknown"
    detail = (
        f"hung in uninterruptible sleep, state D, for >= {since:.0f} s: pid {pids}, "
        f"wchan {wchan}" + (f"; {first.because}" if first.because else "")
    )
    return ServiceState(
        False, detail, state="hung", pids=pids, wchan=wchan, blocked_on=first.because,
        cause=first.cause,
    )  # fmt: skip


def _by_process(
    processes: list[Process], service: Service, hung: Mapping[int, Hung] | None = None
) -> ServiceState:
    """Running: a matching process that can work. Stopped (``T``) and zombie (``Z``)
    processes are there but do nothing: a hung service looks alive to ``pgrep``; nor does
    one proven in uninterruptible sleep (``D``) for long (``hung``, afterboot/domains/blocked.py).
    One ``D`` sample is any disk I/O: running."""
    hung = hung or {}
    found = [p for p in processes if service.matches(p.args)]
    if not found:
        return ServiceState(False, "no process")
    working = [p for p in found if p.state[:1] not in DEAD_STATES and p.pid not in hung]
    if not working and any(p.pid in hung for p in found):
        return _hung_state(found, hung)
    if not working:
        states = sorted({DEAD_STATES[p.state[:1]] for p in found})
        pids = ", ".join(str(p.pid) for p in found[:5])
        return ServiceState(
            False, f"{len(found)} process(es), all {' or '.join(states)}: pid {pids}"
        )
    newest = min(working, key=lambda p: p.age)
    return ServiceState(
        True, f"{len(working)} process(es), newest pid {newest.pid} up {newest.age}s"
    )


def _unit_blocks(remote: Remote) -> dict[str, dict[str, str]]:
    """``systemctl show`` of the host's units, by unit name (``Id``)."""
    return units(remote)


# A unit systemd restarted more than LOOP_RESTARTS times is in a restart loop while its
# current run is younger than LOOP_WINDOW_S; one that has run longer since recovered.
LOOP_RESTARTS = 3
LOOP_WINDOW_S = 600.0


def _restart_loop(restarts: int, started: float | None, now: float | None) -> bool:
    """Restarted more than LOOP_RESTARTS times, its current run younger than the window
    (a run that could not be dated counts as young)."""
    if restarts <= LOOP_RESTARTS:
        return False
    return now is None or started is None or now - started < LOOP_WINDOW_S


def _looping(props: dict[str, str], restarts: int, now: float | None) -> bool:
    if props.get("SubState") == "auto-restart":
        return True
    return _restart_loop(restarts, unix_time(props.get("ExecMainStartTimestamp", "")), now)


def _instance_down(mine: list[dict[str, str]], now: float | None) -> ServiceState | None:
    """The first instance unit of a multi-instance service (``ceph-osd@*``) that failed or
    loops: one active instance does not stand for another. Instances that are merely
    inactive are not judged (which instances the host should run is not read)."""
    for props in mine:
        uid, restarts = props["Id"], int(props.get("NRestarts", "0") or 0)
        if props.get("ActiveState") == "failed":
            return ServiceState(False, f"{uid} failed", uid, "failed")
        looping = props.get("ActiveState") == "active" and _looping(props, restarts, now)
        if looping or props.get("SubState") == "auto-restart":
            return ServiceState(False, f"{uid} restarting ({restarts} restarts)", uid, "restarting")
    return None


def _by_systemd(
    blocks: dict[str, dict[str, str]], service: Service, now: float | None = None
) -> ServiceState:
    mine = [
        p
        for unit in service.units
        for uid, p in blocks.items()
        if fnmatch.fnmatch(uid, unit if "." in unit else unit + ".service")
    ]
    down = _instance_down(mine, now) if any("*" in u for u in service.units) else None
    if down is not None:
        return down
    for props in mine:
        restarts = int(props.get("NRestarts", "0") or 0)
        uid = props["Id"]
        if props.get("ActiveState") == "active":
            if _looping(props, restarts, now):
                return ServiceState(
                    False, f"{uid} restarting ({restarts} restarts)", uid, "restarting"
                )
            return ServiceState(True, f"{uid} active ({props.get('SubState')})", uid, "active")
        # between two runs of a restart loop: waiting to start again, or caught as a run
        # ends (deactivating, stop-sigterm) or starts (activating, start) with the restarts
        # of a loop behind it
        transient = props.get("ActiveState") in ("activating", "deactivating")
        if props.get("SubState") == "auto-restart" or (
            transient and _looping(props, restarts, now)
        ):
            return ServiceState(False, f"{uid} restarting ({restarts} restarts)", uid, "restarting")
    shown = [
        p
        for p in mine
        if p.get("ActiveState") not in (None, "inactive")
        or p.get("Id") == service.units[0] + ".service"
    ]
    states = ", ".join(f"{p.get('Id')}={p.get('ActiveState')}" for p in shown)
    if not shown:
        return ServiceState(False, "no unit", "", "no unit")
    first = shown[0]
    return ServiceState(False, states, first.get("Id", ""), first.get("ActiveState", ""))


def _by_container(read: ContainerRead, service: Service, now: float | None = None) -> ServiceState:
    """Running: a container of the service runs, is not unhealthy and is in no restart
    loop (the engine's restart count, or the ``kolla-<name>-container`` unit's, climbing
    while its current run is young). The state names the container for the remediation:
    ``absent``, ``exited``, ``created``, ``paused``, ``restarting``, ``unhealthy``."""
    if not service.containers:  # the host's own (d-bus): its unit, read beside the containers
        return _by_systemd(read.units, service, now)
    wanted = [c.lstrip("/") for c in service.containers]
    mine = [
        c for name, c in read.containers.items() if any(fnmatch.fnmatch(name, w) for w in wanted)
    ]
    if not mine:
        name = wanted[0] if wanted else service.name
        about = (("engine", read.engine or "docker"), ("project", Container(name, "").project))
        return ServiceState(
            False, f"no container {name}", container=name, state="absent", about=about
        )
    judged = [_one_container(read, c, now) for c in mine]
    return next((s for s in judged if s.running), judged[0])


def _one_container(read: ContainerRead, c: Container, now: float | None) -> ServiceState:
    unit = read.units.get(c.unit, {})
    unit_restarts = int(unit.get("NRestarts", "0") or 0) if unit else 0
    if c.status == "running":
        if _restart_loop(c.restarts, c.started_at, now):
            return _cstate(read, c, f"{c.name} restarting ({c.restarts} restarts)", "restarting")
        if unit and _looping(unit, unit_restarts, now):
            return _cstate(
                read, c, f"{c.name} restarting ({c.unit}: {unit_restarts} restarts)", "restarting"
            )
        if c.health == "unhealthy":
            said = f": {c.health_output}" if c.health_output else ""
            return _cstate(read, c, f"{c.name} unhealthy{said}", "unhealthy")
        health = f", {c.health}" if c.health else ""
        return ServiceState(
            True,
            f"{c.name} running{health}",
            container=c.name,
            state="running",
            about=_about(read, c),
        )
    if c.status == "restarting" or unit.get("SubState") == "auto-restart":
        count = max(c.restarts, unit_restarts)
        return _cstate(read, c, f"{c.name} restarting ({count} restarts)", "restarting")
    if c.status in ("exited", "dead"):
        return _cstate(read, c, f"{c.name} {c.status} (exit code {c.exit_code})", "exited")
    return _cstate(read, c, f"{c.name} {c.status}", c.status or "unknown")


def _about(read: ContainerRead, c: Container) -> tuple[tuple[str, str], ...]:
    """What the remediation of a container says: its engine, kolla project, health check."""
    about = {
        "engine": read.engine or "docker",
        "project": c.project,
        "health_check": health_meaning(c.health_test) if c.health_test else "",
        "health_output": c.health_output,
    }
    return tuple((k, v) for k, v in about.items() if v)


def _cstate(read: ContainerRead, c: Container, detail: str, state: str) -> ServiceState:
    return ServiceState(False, detail, container=c.name, state=state, about=_about(read, c))


def _frozen(
    state: ServiceState,
    processes: list[Process],
    service: Service,
    hung: Mapping[int, Hung] | None = None,
) -> ServiceState:
    """A running container whose service processes are all stopped (``T``), zombies or
    hung in ``D`` does no work, and its health check may not see it (a frozen process
    keeps its connections): judged from the host's process table. No process found: the
    container's word stands (its processes may not be named as the service)."""
    if not state.running or not state.container or not processes:
        return state
    by_process = _by_process(processes, service, hung)
    if by_process.running or by_process.detail == "no process":
        return state
    detail = f"{state.container} running, but its {service.name} {by_process.detail}"
    if by_process.state == "hung":  # the hung procedure steps: find the I/O, no restart
        return replace(by_process, detail=detail, container=state.container, about=state.about)
    return replace(state, running=False, detail=detail, state="frozen")


def process_state(processes: list[Process], name: str) -> ServiceState:
    """Whether a service runs, judged from a process table (:func:`process_table`)."""
    return _by_process(processes, service(name))


def _now(remote: Remote) -> float | None:
    """The host's clock when it was read (the ``clock`` read), if it could be read."""
    try:
        return clock(remote)[0]
    except CouldNotRun:
        return None


def service_states(remote: Remote, names: list[str]) -> dict[str, ServiceState]:
    """Ask the host's service manager about each service (from the host's one read)."""
    manager = remote.spec.service_manager
    processes = _processes(remote) if manager in ("process", "container") else []
    hung = _hung(remote, processes) if manager in ("process", "container") else {}
    blocks = _unit_blocks(remote) if manager == "systemd" else {}
    now = _now(remote) if manager in ("systemd", "container") else None
    containers = (
        parse_containers(remote.read("containers").stdout, remote.name)
        if manager == "container"
        else ContainerRead()
    )
    states: dict[str, ServiceState] = {}
    for name in names:
        svc = service(name)
        if manager == "systemd":
            states[name] = _by_systemd(blocks, svc, now)
        elif manager == "container":
            states[name] = _frozen(_by_container(containers, svc, now), processes, svc, hung)
        else:
            states[name] = _by_process(processes, svc, hung)
    return states
