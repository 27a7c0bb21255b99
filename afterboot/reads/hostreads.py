"""What afterboot reads on a host, as data: one read-only shell snippet per named read.

Checks declare the reads they judge (``@pytest.mark.reads("processes", "mounts")``); the
collection pass (:mod:`afterboot.collection`) composes the reads every selected check of a
host needs into one script, runs it once over the host's one connection, and hands each
read's output to the parsers in ``fixtures/`` (services, storage, hypervisor ...).

A snippet reads and prints, nothing else; paths go through the host's ``paths:`` mapping.
"""

from __future__ import annotations

import functools
import shlex
from collections.abc import Callable
from dataclasses import dataclass

from afterboot.errors import CouldNotRun
from afterboot.inventory.model import HostSpec

INSTANCES_DIR = "/var/lib/nova/instances"
DEVICES_ROOT = "/srv/node"
RECON_DIR = "/var/cache/swift"
# Paths a service's configuration may move (afterboot.domains.config.service_paths' names), the
# documented default each read uses, and the reads that look there.
MOVABLE = {
    "nova_instances_path": INSTANCES_DIR,
    "swift_devices": DEVICES_ROOT,
    "swift_recon_cache_path": RECON_DIR,
}
PATH_READS = {
    "instance_dirs": "nova_instances_path",
    "backing_files": "nova_instances_path",
    "swift_devices": "swift_devices",
    "swift_device_health": "swift_devices",
    "swift_device_counts": "swift_devices",
    "swift_recon": "swift_recon_cache_path",
}
SWIFT_FILES = ("account.ring.gz", "container.ring.gz", "object.ring.gz", "swift.conf")
RINGS = ("account", "container", "object")
RECON_KINDS = ("account", "container", "object")
# kolla's container of the tools a compute host's reads run: virsh, and qemu-img (kolla's
# nova-libvirt image installs it; the instances volume is mounted there as in nova_compute)
LIBVIRT_CONTAINER = "nova_libvirt"
# Framing of multi-part reads (files, domains): a line "<MARK> <name>" before each part.
PART = "@@afterboot-part"
# The hosts of a role the pass reads a shared read on (a cluster's own state:
# HostRead.shared): the first two, at once, so that one host's own failure (a keyring
# missing, a tool not installed) costs no round trip after the pass; and the hosts that
# answered a check asks for it at most (those two and one more, read then): the others
# share the cluster, and its monitors that did not answer them.
SHARED_HOSTS = 2
SHARED_TRIES = SHARED_HOSTS + 1


@dataclass(frozen=True)
class HostRead:
    """A named read: ``script(spec)`` is a read-only POSIX shell snippet for that host."""

    name: str
    doc: str
    script: Callable[[HostSpec], str]
    slow: bool = False  # started first, in the background (rabbitmqctl: ~1 s a call)
    last: bool = False  # run after every other read of the script (a second sample)
    # on a container host, its tool runs through the engine (podman/docker exec, inspect:
    # ~0.3 s a call): started in the background there, like a slow read
    engine: bool = False
    secret: bool = False  # output holds secrets: kept in memory, never written as text
    # on a container host, the kolla container whose tool ``script`` runs (virsh and
    # qemu-img in nova_libvirt): through the engine, like ``engine``; a container's reads
    # share one exec there
    container: str = ""
    # the read whose output this one's script is made from (the dependencies a host's
    # configuration names, probed once its ``configs`` are read): read in a second
    # command, after that one (afterboot.collection; ``script`` is never run)
    follows: str = ""
    # seconds the read may take where that is more than --timeout: a tool that costs
    # seconds of CPU (the projects' upgrade checks, ~2 s of imports each), run in the
    # background; the host's deadline grows by what it needs past --timeout
    budget: float = 0.0
    # a cluster's own state, the same from every host of the role that holds it (Ceph's
    # health, RabbitMQ's users): the pass reads it on the role's first two hosts only
    # (SHARED_HOSTS); a check that gets no answer there asks the next
    # (connections.first_answer, a bounded number), which reads it then. A fleet of 100
    # Ceph hosts asks its monitors twice, not 100 times.
    shared: bool = False

    def background(self, spec: HostSpec) -> bool:
        """Started first, in the background, on this host (see ``slow``, ``engine``,
        ``container``)."""
        through_engine = self.engine or bool(self.container)
        return self.slow or (through_engine and spec.service_manager == "container")

    def runs_in(self, spec: HostSpec) -> str:
        """The container this read's snippet runs in on this host ("" on the host)."""
        return self.container if spec.service_manager == "container" else ""

    def command(self, spec: HostSpec) -> str:
        """The read as this host runs it on its own: in its container where it has one."""
        container = self.runs_in(spec)
        return in_container(spec, container, self.script(spec)) if container else self.script(spec)


def quoted_path(spec: HostSpec, canonical: str) -> str:
    return shlex.quote(spec.path(canonical))


def file_parts(paths: list[str]) -> str:
    """Each file as a part (``PART path``) with its content; absent files have no part, a
    file that cannot be read fails the read (it is not an empty file)."""
    quoted = " ".join(shlex.quote(p) for p in paths)
    return (
        f'for f in {quoted}; do [ -f "$f" ] || continue; echo "{PART} $f"; '
        'cat "$f" || exit; echo; done'
    )


def in_container(spec: HostSpec, container: str, snippet: str) -> str:
    """A snippet whose tool lives in a container on kolla hosts (virsh in nova_libvirt,
    qemu-img too): run there, whole, in one exec; elsewhere as it is."""
    if spec.service_manager != "container":
        return snippet
    return engine_setup(spec) + f'"$rt" exec {shlex.quote(container)} sh -c {shlex.quote(snippet)}'


def container_path(spec: HostSpec, host_path: str) -> str:
    """A host path back in the containers' view (the inverse of the ``paths:`` mapping):
    ``/var/lib/containers/storage/volumes/nova_compute/_data/instances`` ->
    ``/var/lib/nova/instances``; a path no mapping produced is its own. The entries of
    paths a configuration moved (:data:`MOVABLE`) are left out: they were made from the
    others."""
    best = ("", "")
    for canonical, there in spec.paths.items():
        if canonical in MOVABLE.values():
            continue
        there = there.rstrip("/")
        if (host_path == there or host_path.startswith(there + "/")) and len(there) > len(best[1]):
            best = (canonical.rstrip("/"), there)
    return best[0] + host_path[len(best[1]) :] if best[1] else host_path


READS: dict[str, HostRead] = {}


def register(*reads: HostRead) -> None:
    """Add reads to the registry: the basic ones below, and each domain module's own, made
    where it is judged (:mod:`afterboot.domains.all` imports them all)."""
    for read in reads:
        if read.name in READS:
            raise ValueError(f"host read {read.name!r} registered twice")
        READS[read.name] = read


register(
    HostRead(
        "clock",
        "the host's clock, uptime and UTC offset (boot time, clock skew, the local times in logs)",
        lambda s: "echo $(date +%s.%N) $(cut -d' ' -f1 /proc/uptime) $(date +%z)",
    ),
    HostRead(
        "processes",
        "the process table (pid, parent, age, state, command line), and the script's pid",
        # afterboot's own scripts (this one, and other runs' at the same time) are cut
        # after their nonce: a script's command line is its whole text (7 KB), which the
        # judge leaves out and the report would carry, and redact, once per script
        lambda s: (
            'echo "top ${AB_TOP:-0}"; t=$(ps -ww -eo pid=,ppid=,etimes=,stat=,args=) || exit; '
            "printf '%s\\n' \"$t\" | sed 's/\\(@@ab-[0-9a-f]*\\).*/\\1 .../'"
        ),
    ),
    HostRead("mounts", "/proc/mounts", lambda s: "cat /proc/mounts"),
    HostRead("addresses", "every IP address of the host", lambda s: "hostname -I"),
    HostRead(
        "partitions",
        "block devices that are partitions",
        lambda s: (
            'for p in /sys/class/block/*/partition; do [ -e "$p" ] && '
            'basename "${p%/partition}"; done; true'
        ),
    ),
    HostRead(
        "df",
        "space and inodes of every mounted filesystem",
        # in the C locale: its header is the one the parser knows, whatever LANG ssh sent
        lambda s: f'LC_ALL=C df -P -T || exit; echo "{PART} inodes"; LC_ALL=C df -P -T -i',
    ),
)

# "services": whatever read the host's service manager answers through.
MANAGER_READS = {"process": "processes", "systemd": "units", "container": "containers"}


# Declared names that stand for several reads.
GROUPS = {"rabbitmq": ("rabbitmq_status", "rabbitmq_vhosts", "rabbitmq_root_queues")}


def resolve(name: str, spec: HostSpec) -> tuple[str, ...]:
    """A declared read's real names on this host (``services`` by its service manager, with
    the process table's second sample; ``manager``: the service manager's own read only)."""
    if name == "manager":
        return (MANAGER_READS.get(spec.service_manager, "processes"),)
    if name == "services":
        read = MANAGER_READS.get(spec.service_manager, "processes")
        # a process table is judged with its second sample: processes in D for long; a
        # container's processes too, seen from the host: a frozen one (SIGSTOP) still
        # passes its container's health check (its connection stays open)
        if read == "containers":
            return (read, "processes", "blocked")
        return (read, "blocked") if read == "processes" else (read,)
    return GROUPS.get(name, (name,))


def known(name: str) -> bool:
    return name in READS or name in GROUPS or name in ("services", "manager")


def is_shared(name: str) -> bool:
    """A registered read of a cluster's own state (``HostRead.shared``)."""
    read = READS.get(name)
    return read is not None and read.shared


# Read on every host whatever the checks: it is also the proof the host answers.
ALWAYS = ("clock",)


def parts(text: str) -> dict[str, str]:
    """Split a multi-part read into ``{name: content}`` (the trailing newline dropped)."""
    return dict(_parts(text))


# A host's configs are looked up file by file (a check asks for each of its role's files,
# the next check again): split once for each of the last 256 texts asked, not once a file.
@functools.lru_cache(maxsize=256)
def _parts(text: str) -> tuple[tuple[str, str], ...]:
    found: dict[str, str] = {}
    name: str | None = None
    lines: list[str] = []
    for line in text.split("\n"):
        if line.startswith(PART + " "):
            if name is not None:
                found[name] = "\n".join(lines).rstrip("\n")
            name, lines = line[len(PART) + 1 :], []
        elif name is not None:
            lines.append(line)
    if name is not None:
        found[name] = "\n".join(lines).rstrip("\n")
    return tuple(found.items())


def unexpected(host: str, read: str, line: str) -> CouldNotRun:
    """Could-not-run for a line the read's tool does not print: the read answered something
    else (a wrapper's message, another tool, damage), which is never an empty answer."""
    where = f"host {host}: " if host else ""
    return CouldNotRun(f"{where}read {read!r}: unexpected line {line[:80]!r}", "")


def name_lines(text: str, host: str, read: str) -> set[str]:
    """A read that lists names one a line (``ls -1``, ``basename``): each line one name,
    without blanks or control characters; any other line is could-not-run naming it."""
    found = set()
    for line in text.splitlines():
        if not line:
            continue
        if not line.isprintable() or len(line.split()) != 1 or line != line.strip():
            raise unexpected(host, read, line)
        found.add(line)
    return found


def outside_parts(text: str) -> str:
    """The first non-empty line of a multi-part read before its first part ("" if none)."""
    for line in text.split("\n"):
        if line.startswith(PART + " "):
            return ""
        if line.strip():
            return line
    return ""


def whole_parts(text: str, host: str, read: str) -> dict[str, str]:
    """A multi-part read's parts (:func:`parts`); text before its first part is
    could-not-run naming it: the read answered something else, which is never "no part"."""
    stray = outside_parts(text)
    if stray:
        raise unexpected(host, read, stray)
    return parts(text)


def engine_setup(spec: HostSpec) -> str:
    """The shell that sets ``rt``: the inventory's engine, else the one that answers."""
    if spec.container_engine:
        return f"rt={shlex.quote(spec.container_engine)}; "
    # docker first (kolla's default); a docker CLI without a daemon does not answer
    return (
        'rt=""; for e in docker podman; do command -v "$e" >/dev/null 2>&1 && '
        '"$e" ps -q >/dev/null 2>&1 && { rt=$e; break; }; done; '
        '[ -n "$rt" ] || { echo "neither docker nor podman answers" >&2; exit 127; }; '
    )


def engine_command(spec: HostSpec) -> str:
    """``docker`` / ``podman`` as a shell word for commands run in a container
    (``$(...)`` when the inventory does not say which)."""
    if spec.container_engine:
        return shlex.quote(spec.container_engine)
    return "$(command -v docker || command -v podman)"
