"""The collection pass: read each host once, all hosts at once, then let the checks judge.

The selected checks declare what they read (``@pytest.mark.reads("processes", ...)``;
``name@role`` reads on the hosts of another role than the check's own). Before the first
check runs, :func:`collect` composes each host's reads into one read-only script, runs it
over the host's one connection (slow reads such as ``rabbitmqctl`` as a second command),
all hosts concurrently, while the cloud-wide reads (database rows, API listings) run
beside them. An unreachable host costs one ``--timeout``, in parallel with the rest.

The result is a :class:`~afterboot.snapshot.Snapshot`, saved redacted as
``reports/snapshot.json``. Under pytest-xdist one worker collects the host reads and the
others load them (a lock file in pytest's base temp), so no host is read twice.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
import os
import secrets
import shlex
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import pytest

from afterboot.checks.identity import check_key
from afterboot.domains import dependencies, diskfiles, glancestore, rabbitmq_api, rbd
from afterboot.domains.all import CLOUD_READS, READS
from afterboot.domains.config import effective_files, service_paths
from afterboot.domains.discovery import ring_summary
from afterboot.errors import CommandTimeout, CouldNotRun, HostUnreachable
from afterboot.inventory.load import loaded_inventory
from afterboot.inventory.model import HostSpec, Inventory
from afterboot.reads import hostreads
from afterboot.reads.cloud import api_unavailable
from afterboot.reads.cloudreads import CloudContext
from afterboot.reads.hostreads import (
    ALWAYS,
    MOVABLE,
    PATH_READS,
    SHARED_HOSTS,
    HostRead,
    is_shared,
    known,
    parts,
    resolve,
)
from afterboot.settings import reports_dir, settings, settings_key
from afterboot.snapshot import (
    CloudSnapshot,
    HostSnapshot,
    ReadResult,
    Snapshot,
    inventory_doc,
    save,
    to_json,
)
from afterboot.transport.connections import Connections, Remote
from afterboot.transport.reach import unreachable

MAX_WORKERS = 32
# From this many hosts on, the pass first asks every ssh host's port at once, so that
# silent hosts cost one timeout together instead of one ssh process and timeout each.
REACH_MIN = 32
# The API probes run first, all at once (one request to each API: afterboot/reads/cloudreads.py),
# then the listings. Measured on the lab before keystone cached tokens, 2, 3 or 4 cloud
# reads at once made the pass slower (1.3x to 1.6x), each API's first request validating
# the run's token with keystone while the others queued behind it. With the token validated
# once (keystone's cache, as kolla and openstack-ansible configure it), the probes gain from
# running at once and the listings after them from 2 at once.
API_WORKERS = 2
READS_HELP = (
    "reads(*names): what the check reads, collected before the checks run: host reads "
    "(afterboot/reads/hostreads.py; 'name@role' on the hosts of that role) and cloud reads "
    "(afterboot/reads/cloudreads.py)"
)
snapshot_key = pytest.StashKey[Snapshot]()
# Checks not run whose reads the pass makes too (afterboot/verdict/compare.py: the before/after
# checks in --phase=pre-maintenance, so that its snapshot is a whole "before").
also_reads_key = pytest.StashKey[list[pytest.Item]]()
# Why nothing is read in this run (it judges a saved snapshot: --snapshot-file).
no_reading_key = pytest.StashKey[str]()


# -- one host: compose, run, split ------------------------------------------------------


def compose(reads: Iterable[HostRead], spec: HostSpec, nonce: str, timeout: float) -> str:
    """One POSIX shell script printing every read framed by ``nonce`` lines; stderr lines
    carry the read's name; each read ends within ``timeout`` (coreutils ``timeout``).

    Slow reads (and on a container host those through its engine) start first, in the
    background, into a private temporary directory, and are printed at the end; where no
    such directory can be made (a full /tmp), they run in turn after the others. Reads
    whose tool lives in the same container share one exec (:func:`_exec_group`).
    """
    t = max(1, int(timeout))
    reads = list(reads)
    slow = [r for r in reads if r.background(spec)]
    lines = [
        # the process read leaves out this script and everything it starts
        "AB_TOP=$$; export AB_TOP",
        *_framing(nonce, t),
    ]
    # background reads with a budget past --timeout get it (each read still bounded)
    ts = max(t, math.ceil(budget_of(slow)))
    ab = "_ab"
    if ts > t:
        ab = "_abs"
        lines += _framing(nonce, ts, ab, "TS")
    jobs = _jobs(slow, spec, nonce, ts)
    if jobs:
        lines.append("D=$(mktemp -d 2>/dev/null) || D=")
        lines.append('[ -n "$D" ] && trap \'rm -rf "$D"\' EXIT')
        for name, body in jobs:
            lines.append(f'[ -n "$D" ] && {ab} {name} {body} >"$D/{name}.o" 2>"$D/{name}.e" &')
    for read in sorted(reads, key=lambda r: r.last):  # a second sample after the first
        if read not in slow:
            lines.append(f"_ab {read.name} {shlex.quote(read.command(spec))}")
    if jobs:
        lines.append('if [ -n "$D" ]; then wait')
        for name, _ in jobs:
            lines.append(f'cat "$D/{name}.o"; cat "$D/{name}.e" >&2')
        lines.append("else")
        for name, body in jobs:
            lines.append(f"{ab} {name} {body}")
        lines.append("fi")
    return "\n".join(lines) + "\n"


def _framing(nonce: str, t: int, name: str = "_ab", var: str = "T") -> list[str]:
    """The shell function ``_ab NAME SNIPPET``: the snippet's output between a begin and
    an end line (with its exit status), each of its stderr lines led by the read's name.

    Its stderr is held until it ends and led by the name with builtins: a read costs the
    host ``timeout`` and ``sh`` (not a subshell, a pipeline and a ``sed`` besides, ~2.5 ms
    of CPU a read; a host has a dozen or more)."""
    return [
        f"if command -v timeout >/dev/null 2>&1; then {var}='timeout -k 1 {t}'; else {var}=; fi",
        name + "() { printf '%s begin %s\\n' " + nonce + ' "$1"; '
        "{ _abe=$($" + var + ' sh -c "$2" 2>&1 1>&3 3>&-); _abr=$?; } 3>&1; '
        "printf '\\n%s end %s %d\\n' " + nonce + ' "$1" $_abr; '
        '[ -z "$_abe" ] || while IFS= read -r _abl; do '
        "printf '%s %s %s\\n' " + nonce + ' "$1" "$_abl"; done >&2 <<_AB_E_\n$_abe\n_AB_E_\n}',
    ]


# A container's shared exec is framed as a read of this name ("@nova_libvirt"): when the
# exec itself fails (the container is not running), its reads carry its status and error.
EXEC_GROUP = "@{}"


def _jobs(slow: list[HostRead], spec: HostSpec, nonce: str, t: int) -> list[tuple[str, str]]:
    """The background jobs, as (frame name, quoted snippet): one per read, but one for
    all the reads of a container (an exec is ~0.2 s of engine, conmon and systemd work)."""
    by_container: dict[str, list[HostRead]] = {}
    for read in slow:
        if read.runs_in(spec):
            by_container.setdefault(read.runs_in(spec), []).append(read)
    jobs: list[tuple[str, str]] = []
    for read in slow:
        group = by_container.get(read.runs_in(spec), [])
        if len(group) < 2:
            jobs.append((read.name, shlex.quote(read.command(spec))))
        elif read is group[0]:
            jobs.append(_exec_group(group, spec, nonce, t))
    return jobs


def _exec_group(group: list[HostRead], spec: HostSpec, nonce: str, t: int) -> tuple[str, str]:
    """The reads of one container in one exec, each framed in there as it would be here."""
    container = group[0].runs_in(spec)
    inner = "\n".join(
        [*_framing(nonce, t), *(f"_ab {r.name} {shlex.quote(r.script(spec))}" for r in group)]
    )
    name = EXEC_GROUP.format(container)
    return name, shlex.quote(hostreads.in_container(spec, container, inner))


def split(stdout: str, stderr: str, nonce: str) -> dict[str, ReadResult]:
    """The framed output of :func:`compose`, back into one result per read (the frames of
    a container's shared exec nest inside its own)."""
    results: dict[str, ReadResult] = {}
    begin, end = f"{nonce} begin ", f"{nonce} end "
    open_frames: list[tuple[str, list[str]]] = []
    for line in stdout.split("\n"):
        if line.startswith(begin):
            open_frames.append((line[len(begin) :], []))
        elif line.startswith(end) and open_frames:
            ended, _, rc = line[len(end) :].rpartition(" ")
            # frames left open inside it were cut short (an exec killed at its deadline):
            # dropped, their reads take the status of the frame that ended
            while len(open_frames) > 1 and open_frames[-1][0] != ended:
                open_frames.pop()
            name, body = open_frames.pop()
            text = "\n".join(body)
            results[name] = ReadResult(name, int(rc) if rc.lstrip("-").isdigit() else 1, text)
        elif open_frames:
            open_frames[-1][1].append(line)
    errs: dict[str, list[str]] = {}
    for line in stderr.splitlines():
        rname = None
        while line.startswith(nonce + " "):  # the innermost frame's name is the read's
            rname, _, line = line[len(nonce) + 1 :].partition(" ")
        if rname is not None:
            errs.setdefault(rname, []).append(line)
    for rname, lines in errs.items():
        if rname in results:
            results[rname].stderr = "\n".join(lines)
    return results


def deadline(timeout: float, budget: float = 0.0) -> float:
    """A host's whole read: its connection, then reads of at most ``timeout`` each (the
    slow ones beside the others, those with a larger ``budget`` within it), with the
    grace ``timeout -k`` gives a read to die."""
    return 2 * timeout + 2 + max(0.0, math.ceil(budget) - timeout)


def budget_of(reads: Iterable[HostRead]) -> float:
    """The largest budget past --timeout the reads ask for (0: none)."""
    return max((r.budget for r in reads), default=0.0)


def read_host(remote: Remote, names: Iterable[str], timeout: float) -> HostSnapshot:
    """Read ``names`` on one host, in one command over its connection.

    Reads under a path a service's configuration can move (nova's ``instances_path``,
    swift's ``devices`` and ``recon_cache_path``) bring the configuration along; where it
    moved a path from its documented default, those reads are made again there, in a
    second command (only on such hosts)."""
    names = list(names)
    if set(names) & PATH_READS.keys():
        names.append("configs")
    names += [READS[n].follows for n in names if READS[n].follows]  # what they are made from
    wanted = [READS[n] for n in dict.fromkeys([*ALWAYS, *names])]
    snap = HostSnapshot(remote.name, started=time.time())
    _read_into(snap, remote, remote.spec, [r for r in wanted if not r.follows], timeout)
    moved = moved_paths(remote.spec, snap.reads.get("configs"))
    again = [r for r in wanted if PATH_READS.get(r.name) in moved]
    spec = remote.spec
    if again and snap.unreachable is None:
        snap.paths = {MOVABLE[key]: where for key, where in moved.items()}
        spec = replace(remote.spec, paths={**remote.spec.paths, **snap.paths})
    # one more command: the reads made again where their path moved, and the reads made
    # from another's output (the dependencies the host's configuration names, the RBD pools
    # its cinder.conf enables, glance's stores, the domains' disk files) that need the host
    # to answer them (nothing to probe, or no configuration to probe from, does not)
    if snap.unreachable is None:
        second = list(again)
        for read in wanted:
            if read.follows:
                asked = FOLLOWERS[read.name](spec, snap.reads.get(read.follows))
                if isinstance(asked, ReadResult):
                    snap.reads[read.name] = asked
                else:
                    second.append(_asking(read, asked))
        if second:
            _read_into(snap, remote, spec, second, timeout)
    snap.ended = time.time()
    return snap


def _asking(read: HostRead, command: str) -> HostRead:
    """The follower read as a read of its own, made with ``command``."""
    return replace(read, script=lambda spec: command, follows="")


# reads made from another read's output: name -> (spec, that output) -> the command, or
# the result itself where it needs no host to answer it
FOLLOWERS: dict[str, Callable[[HostSpec, ReadResult | None], str | ReadResult]] = {
    "dependencies": dependencies.probe_from,
    "rbd_volumes": rbd.list_from,
    "glance_store": glancestore.list_from,
    "disk_files": diskfiles.probe_from,
}


def moved_paths(spec: HostSpec, configs: ReadResult | None) -> dict[str, str]:
    """The movable paths the host's configuration puts elsewhere than their defaults:
    ``service_paths`` name -> path on the host."""
    if configs is None or configs.rc != 0:
        return {}
    configured = service_paths(parts(configs.stdout))
    return {
        key: spec.path(configured[key])
        for key, default in MOVABLE.items()
        if configured.get(key) and configured[key].rstrip("/") != default
    }


def _read_into(
    snap: HostSnapshot, remote: Remote, spec: HostSpec, wanted: list[HostRead], timeout: float
) -> None:
    nonce = "@@ab-" + secrets.token_hex(6)
    try:
        snap.commands += 1
        bound = deadline(timeout, budget_of(wanted))
        result = remote.run_script(compose(wanted, spec, nonce, timeout), bound)
    except CommandTimeout:
        snap.unreachable = f"no answer within {bound:g}s"
    except HostUnreachable as exc:
        snap.unreachable = exc.reason
    except CouldNotRun as exc:
        snap.unreachable = str(exc)
    else:
        got = split(result.stdout, result.stderr, nonce)
        for read in wanted:
            snap.reads[read.name] = got.get(read.name) or _unframed(read, spec, got, result.stderr)


def _unframed(
    read: HostRead, spec: HostSpec, got: dict[str, ReadResult], stderr: str
) -> ReadResult:
    """A read with no frame of its own: its container's exec failed (its status and error),
    or the script died before it (the script's error)."""
    shared = got.get(EXEC_GROUP.format(read.runs_in(spec))) if read.runs_in(spec) else None
    if shared is not None:
        return ReadResult(read.name, shared.rc or 1, "", shared.stderr or shared.stdout[-200:])
    return ReadResult(read.name, 1, "", (stderr or "no output")[-200:])


# -- the whole cloud ---------------------------------------------------------------------


def needs(
    items: Iterable[pytest.Item], inventory: Inventory | None
) -> tuple[dict[str, set[str]], set[str]]:
    """Host reads per host and the cloud reads, for the given (selected) checks."""
    per_host: dict[str, set[str]] = {}
    cloud: set[str] = set()
    if inventory is not None:
        for name in inventory.names():  # a host without a role is read by no check
            per_host[name] = set()
    for item in items:
        marker = item.get_closest_marker("reads")
        if marker is None:
            continue
        check = item.stash.get(check_key, None)
        roles = check.roles if check is not None else ()
        callspec = getattr(item, "callspec", None)
        pinned = callspec.params.get("host") if callspec is not None else None
        for arg in marker.args:
            name, _, role = str(arg).partition("@")
            if name in CLOUD_READS:
                cloud.add(name)
                continue
            if inventory is None:
                continue
            if pinned and not role:
                hosts = [str(pinned)] if str(pinned) in inventory.hosts else []
            else:
                hosts = inventory.names(*((role,) if role else roles))
            first = hosts[:SHARED_HOSTS]  # a cluster's own state is read there only
            for host in hosts:
                got = resolve(name, inventory.hosts[host])
                got = tuple(n for n in got if host in first or not is_shared(n))
                per_host.setdefault(host, set()).update(got)
    return per_host, cloud


def cloud_readers(items: Iterable[pytest.Item]) -> list[pytest.Item]:
    """The checks that read the cloud as a whole (database rows, API listings)."""
    found = []
    for item in items:
        marker = item.get_closest_marker("reads")
        if marker is not None and any(str(a) in CLOUD_READS for a in marker.args):
            found.append(item)
    return found


def reads_cloud(config: pytest.Config) -> bool:
    """Whether this run makes the cloud-wide reads: every run but shards 2..N
    (``--shard``), whose snapshots are judged with shard 1's."""
    shard = settings(config).shard.value
    return not shard or shard[0] == 1


def unknown_reads(items: Iterable[pytest.Item]) -> list[str]:
    bad = []
    for item in items:
        marker = item.get_closest_marker("reads")
        for arg in marker.args if marker is not None else ():
            name = str(arg).partition("@")[0]
            if not known(name) and name not in CLOUD_READS:
                bad.append(f"{item.nodeid.split('[', 1)[0]}: unknown read {name!r}")
    return bad


def collect(
    connections: Connections,
    per_host: dict[str, set[str]],
    cloud_reads: set[str],
    context: Callable[[], CloudContext],
    timeout: float,
    hosts_done: Snapshot | None = None,
    pass_deadline: float | None = None,
) -> Snapshot:
    """Every host's reads and every cloud read, concurrently (bounded threads). Hosts not
    begun within ``pass_deadline`` seconds of the pass are not read: could-not-run (those
    begun end within their own deadline)."""
    snap = Snapshot(started=time.time())
    remotes = [connections[name] for name in per_host]
    with ThreadPoolExecutor(max_workers=MAX_WORKERS, thread_name_prefix="ab-read") as pool:
        futures: dict[str, Future[HostSnapshot]] = {}
        if hosts_done is None:
            for name, why in _silent(remotes, timeout).items():  # no ssh started for them
                snap.hosts[name] = HostSnapshot(
                    name, started=snap.started, ended=time.time(), unreachable=why
                )
                connections[name].adopt(snap.hosts[name])
            for remote in remotes:
                if remote.name in snap.hosts:
                    continue
                # its checks wait for its reads: two commands at most, each bounded
                wanted = [READS[n] for n in per_host[remote.name] if n in READS]
                remote.begin_collection(2 * deadline(timeout, budget_of(wanted)))
                futures[remote.name] = pool.submit(
                    _read_and_hand, remote, per_host[remote.name], timeout, connections
                )
        else:
            snap.hosts = hosts_done.hosts
            for remote in remotes:
                remote.adopt(snap.hosts.get(remote.name))
        if cloud_reads:
            snap.cloud.update(_read_cloud(context(), cloud_reads))
        left = None if pass_deadline is None else snap.started + pass_deadline - time.time()
        wait(futures.values(), timeout=max(0.0, left) if left is not None else None)
        late = [name for name, f in futures.items() if f.cancel()]  # never begun
        for name in late:
            why = f"not read: the pass's {pass_deadline:g}s deadline passed first (--pass-deadline)"
            snap.hosts[name] = HostSnapshot(name, snap.started, time.time(), unreachable=why)
            connections[name].adopt(snap.hosts[name])
        for name, host_future in futures.items():
            if name not in late:
                snap.hosts[name] = host_future.result()  # begun: bounded by its deadline
    snap.seconds = time.time() - snap.started
    return snap


def _silent(remotes: list[Remote], timeout: float) -> dict[str, str]:
    """A fleet's ssh hosts whose ssh port does not answer (one TCP connect each, all at
    once: :mod:`afterboot.transport.reach`), and why; below REACH_MIN hosts none is asked
    that way (ssh's own connect costs no more there)."""
    if len(remotes) < REACH_MIN:
        return {}
    argvs = {r.name: argv for r in remotes if (argv := r.ssh_argv()) is not None}
    return {name: f"no ssh answer: {why}" for name, why in unreachable(argvs, timeout).items()}


def _read_cloud(ctx: CloudContext, names: set[str]) -> dict[str, CloudSnapshot]:
    """The cloud reads: the database's in a lane of their own, started first (they wait
    for no token); then the API probes (all at once, one request to each API); then the
    API listings, API_WORKERS at a time."""
    lanes = {
        source: sorted(n for n in names if CLOUD_READS[n].source == source)
        for source in ("db", "api")
    }
    done: dict[str, CloudSnapshot] = {}
    with (
        ThreadPoolExecutor(1, thread_name_prefix="ab-db") as db_lane,
        ThreadPoolExecutor(API_WORKERS, thread_name_prefix="ab-api") as api_lane,
    ):
        futures: dict[str, Future[CloudSnapshot]] = {}
        if lanes["db"]:
            ctx.resolve("db")
            futures = {name: db_lane.submit(_cloud_read, name, ctx) for name in lanes["db"]}
        # the run's token, asked for at configure time (afterboot.reads.cloud), before any ssh
        # handshake: keystone's password check is CPU work that many handshakes at once can
        # starve (the lab, where keystone and a hundred host aliases share two cores)
        ctx.resolve()
        if "apis" in lanes["api"]:
            done["apis"] = _cloud_read("apis", ctx)
        for name in lanes["api"]:
            if name != "apis":
                futures[name] = api_lane.submit(_cloud_read, name, ctx)
        for name in sorted(futures):
            done[name] = futures[name].result()
    return done


def _read_and_hand(
    remote: Remote, names: set[str], timeout: float, connections: Connections
) -> HostSnapshot:
    """Read the host; its RabbitMQ reads from the broker's management API where that
    answers (:mod:`afterboot.domains.rabbitmq_api`), else with ``rabbitmqctl`` in one more command.
    The host's other reads are handed over first: others may wait for its configs."""
    host_snap = HostSnapshot(remote.name, started=time.time())
    by_api = names & {*rabbitmq_api.READS, *rabbitmq_api.OPTIONAL, rabbitmq_api.HEALTH}
    try:
        host_snap = read_host(
            remote, (names - by_api) | ({"configs"} if by_api else set()), timeout
        )
        if by_api and host_snap.unreachable is None:
            remote.adopt(host_snap)
            try:
                answered = rabbitmq_api.management_reads(remote, connections, timeout, by_api)
                host_snap.reads.update(answered)
            except Exception:  # noqa: BLE001 - whatever keeps the API from answering
                answered = {}
            # what the API did not answer (all of it, or what its user may not list)
            left = sorted(by_api - set(answered))
            if left:
                _read_into(host_snap, remote, remote.spec, [READS[n] for n in left], timeout)
            host_snap.ended = time.time()
    except Exception as exc:  # noqa: BLE001 - a broken transport must not stop the others
        host_snap.unreachable = f"reading failed: {type(exc).__name__}: {exc}"[:300]
        host_snap.ended = time.time()
    finally:
        remote.adopt(host_snap)
    return host_snap


def _cloud_read(name: str, ctx: CloudContext) -> CloudSnapshot:
    started = time.time()
    try:
        value = CLOUD_READS[name].fetch(ctx)
        return CloudSnapshot(name, started, time.time() - started, value, None)
    except Exception as exc:  # noqa: BLE001 - kept, raised again in each check reading it
        return CloudSnapshot(name, started, time.time() - started, None, exc)


# -- xdist: one worker reads the hosts, the others load what it read --------------------


def host_file(base: Path) -> Path:
    return base / "afterboot-host-reads.json"


def dump_hosts(snap: Snapshot, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({n: asdict(h) for n, h in snap.hosts.items()}, f)
    tmp.replace(path)


def load_hosts(path: Path) -> Snapshot:
    data = json.loads(path.read_text())
    snap = Snapshot()
    for name, h in data.items():
        reads = {k: ReadResult(**v) for k, v in h.pop("reads").items()}
        ran = {k: ReadResult(**v) for k, v in h.pop("ran", {}).items()}
        snap.hosts[name] = HostSnapshot(**h, reads=reads, ran=ran)
    return snap


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


# -- pytest wiring -----------------------------------------------------------------------


def stored_forms() -> dict[str, Any]:
    """What ``reports/snapshot.json`` keeps of the host reads that are not kept as text."""
    return {"configs": effective_files, "swift_rings": ring_summary}


# Reads kept as text too, beside their stored form, for a later judge (--from-snapshot):
# the configurations' text, redacted (the swift rings are made again from their devices).
KEEP_TEXT = ("configs",)


def _unrun(error: BaseException) -> str:
    """Why a cloud read's error is could-not-run for its checks ("": it is not)."""
    why = api_unavailable(error)
    return str(why) if why is not None else ""


# -- xdist: what a worker read after the pass, for the controller to add to the snapshot --

# one file per worker but the one saving the snapshot (gw0), beside it, removed once merged
LATE_PART = ".snapshot-late-{worker}.json"


def save_late_part(config: pytest.Config, snap: Snapshot, worker: str) -> None:
    """This worker's reads made after the pass (and its round trips since), for the
    controller to add to the snapshot gw0 saves: a later judge sees what every worker's
    checks judged, not only gw0's."""
    out = reports_dir(config) if settings_key in config.stash else None
    hosts = {
        name: replace(h, reads={r: h.reads[r] for r in h.late if r in h.reads})
        for name, h in snap.hosts.items()
        if h.late or h.commands or h.ran
    }
    if out is None or not hosts:
        return
    doc = to_json(Snapshot(started=snap.started, hosts=hosts), stored_forms(), KEEP_TEXT, _unrun)
    with contextlib.suppress(OSError):
        save(doc, Path(out) / LATE_PART.format(worker=worker))


def merge_late_parts(doc: dict[str, Any], out: Path, since: float) -> None:
    """The workers' parts added to the snapshot's document (each read kept where gw0 has
    none, late reads and round trips summed), and their files removed; a part older than
    ``since`` (a run that stopped before merging) is removed unread."""
    for path in sorted(out.glob(LATE_PART.format(worker="*"))):
        try:
            part = json.loads(path.read_text())
        except (OSError, ValueError):
            part = None
        with contextlib.suppress(OSError):
            path.unlink()
        if not isinstance(part, dict) or float(part.get("read_at") or 0) < since:
            continue
        for name, theirs in (part.get("hosts") or {}).items():
            mine = doc.get("hosts", {}).get(name)
            if not isinstance(mine, dict) or not isinstance(theirs, dict):
                continue
            for key in ("reads", "ran"):
                for read, value in (theirs.get(key) or {}).items():
                    mine.setdefault(key, {}).setdefault(read, value)
            late = {*(mine.get("late_reads") or ()), *(theirs.get("late_reads") or ())}
            mine["late_reads"] = sorted(late)
            mine["commands"] = int(mine.get("commands") or 0) + int(theirs.get("commands") or 0)


def save_snapshot(config: pytest.Config, snap: Snapshot) -> None:
    """``reports/snapshot.json``: what was read, with the inventory (and the shard) it
    was read for, so that a later run can judge it (``--from-snapshot``)."""
    out = reports_dir(config) if settings_key in config.stash else None
    if out is not None:
        shard = settings(config).shard.value
        extra = {
            "inventory": inventory_doc(loaded_inventory(config)),
            **({"shard": f"{shard[0]}/{shard[1]}"} if shard else {}),
        }
        with contextlib.suppress(OSError):
            doc = to_json(snap, stored_forms(), KEEP_TEXT, _unrun, extra)
            save(doc, Path(out) / "snapshot.json")


def cloud_context(timeout: float, fixture: Callable[[str], Any]) -> Callable[[], CloudContext]:
    """The cloud's sources for a pass, opened by ``fixture`` (pytest's
    ``request.getfixturevalue``: in pytest's own thread, before the readers start)."""

    def context() -> CloudContext:
        return CloudContext(
            timeout,
            **{
                name: (lambda name=name: fixture(name))
                for name in ("cloud", "db", "identity", "swift")
            },
        )

    return context
