"""What afterboot reads on a host, as data: one read-only shell snippet per named read.

Checks declare the reads they judge (``@pytest.mark.reads("processes", "mounts")``); the
collection pass (:mod:`afterboot.reads.collection`) composes the reads every selected check of a
host needs into one script, runs it once over the host's one connection, and hands each
read's output to the parsers in ``fixtures/`` (services, storage, hypervisor ...).

A snippet reads and prints, nothing else; paths go through the host's ``paths:`` mapping.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass

from afterboot.domains import containers
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
    # command, after that one (afterboot.reads.collection; ``script`` is never run)
    follows: str = ""
    # seconds the read may take where that is more than --timeout: a tool that costs
    # seconds of CPU (the projects' upgrade checks, ~2 s of imports each), run in the
    # background; the host's deadline grows by what it needs past --timeout
    budget: float = 0.0

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


def _q(spec: HostSpec, canonical: str) -> str:
    return shlex.quote(spec.path(canonical))


def _files(paths: list[str]) -> str:
    """Each file as a part (``PART path``) with its content; absent files have no part, a
    file that cannot be read fails the read (it is not an empty file)."""
    quoted = " ".join(shlex.quote(p) for p in paths)
    return (
        f'for f in {quoted}; do [ -f "$f" ] || continue; echo "{PART} $f"; '
        'cat "$f" || exit; echo; done'
    )


def config_files() -> list[str]:
    """Every configuration file a check or the database lookup reads."""
    from afterboot.domains.config import ROLE_CONFIGS
    from afterboot.domains.database import SERVICE_CONFIGS

    paths = {p for files in ROLE_CONFIGS.values() for p in files}
    return sorted(paths | {path for path, _, _ in SERVICE_CONFIGS.values()})


def _unit_names(spec: HostSpec) -> list[str]:
    from afterboot.domains.services import host_services, service

    return [unit for name in host_services(spec) for unit in service(name).units]


def _units(spec: HostSpec) -> str:
    units = " ".join(shlex.quote(u) for u in _unit_names(spec)) or "ssh"
    props = (
        "--property=Id,ActiveState,SubState,NRestarts,ExecMainStartTimestamp,UnitFileState "
        "--no-pager"
    )
    # unix timestamps where systemd has them (248+), its local format otherwise
    return (
        f"systemctl show --timestamp=unix {props} {units} 2>/dev/null || "
        f"systemctl show {props} {units}"
    )


def _rabbitmqctl(spec: HostSpec) -> str:
    if spec.service_manager == "container":
        return f"{containers.engine_command(spec)} exec rabbitmq rabbitmqctl -q"
    return "rabbitmqctl -q"


def _rabbitmq_status(spec: HostSpec) -> str:
    return f"{_rabbitmqctl(spec)} cluster_status --formatter json"


def _rabbitmq_queues(spec: HostSpec) -> str:
    ctl = _rabbitmqctl(spec)
    return (
        f'vs=$({ctl} list_vhosts name) || exit; for v in $vs; do [ "$v" = name ] && continue; '
        f'echo "{PART} $v"; {ctl} list_queues -p "$v" name consumers messages_ready '
        "|| exit $?; done"
    )


def _rabbitmq_root_queues(spec: HostSpec) -> str:
    return f"{_rabbitmqctl(spec)} list_queues -p / name consumers messages_ready"


def _rabbitmq_vhosts(spec: HostSpec) -> str:
    return f"{_rabbitmqctl(spec)} list_vhosts name"


# A mon may refuse one request for a moment (EPERM: "problem getting command descriptions",
# seen on the lab's mon); an answer that came fast is asked for once more, a second later.
# One that took its time (a mon that does not answer) is not: the read's deadline is near.
_CEPH = "ceph --connect-timeout 10 -s -f json"
_CEPH_STATUS = (
    f"s=$(date +%s); {_CEPH} && exit 0; r=$?; "
    '[ $(($(date +%s) - s)) -lt 3 ] || exit "$r"; sleep 1; ' + _CEPH
)


def _ring_files(spec: HostSpec) -> str:
    paths = " ".join(_q(spec, f"/etc/swift/{r}.ring.gz") for r in RINGS)
    return (
        f'for f in {paths}; do [ -f "$f" ] || continue; '
        'echo "' + PART + ' $f"; base64 -w0 < "$f" || exit; echo; done'
    )


def in_container(spec: HostSpec, container: str, snippet: str) -> str:
    """A snippet whose tool lives in a container on kolla hosts (virsh in nova_libvirt,
    qemu-img too): run there, whole, in one exec; elsewhere as it is."""
    if spec.service_manager != "container":
        return snippet
    return (
        containers.engine_setup(spec)
        + f'"$rt" exec {shlex.quote(container)} sh -c {shlex.quote(snippet)}'
    )


# One virsh for all the domains (each virsh is a connection to libvirtd: ~20 ms, three per
# domain when asked one by one): the names listed first (a failing list fails the read,
# never "no domain"), then one command string, each name single-quoted as virsh's parser
# reads it ('\'' inside), in which ``echo`` marks where each domain's answers start.
# virsh exits with its last command's status: a libvirtd lost mid-batch fails the read.
_VIRSH_BATCH = (
    "n=$(virsh -r list --all --name) || exit; "
    "c=$(printf '%s\\n' \"$n\" | sed -n \"/./{{s/'/'\\\\\\\\''/g;s/.*/{per}/p}}\"); "
    '[ -z "$c" ] && exit 0; o=$(virsh -r "$c") || exit; printf \'%s\\n\' "$o"'
)
DOMAIN_MARK = "@@afterboot-domain "
# each domain's marked answers back into a line: name, uuid, state (reason)
_DOMAIN_LINES = (
    f'index($0, "{DOMAIN_MARK}") == 1 {{ if (n != "") print n "\\t" u "\\t" s; '
    f'n = substr($0, {len(DOMAIN_MARK) + 1}); u = ""; s = ""; next }} '
    'NF { if (u == "") u = $0; else if (s == "") s = $0 } '
    'END { if (n != "") print n "\\t" u "\\t" s }'
)


def _domains(spec: HostSpec) -> str:
    """name, uuid and state with its reason, a tab-separated line per domain (a domain
    gone between the list and its questions: an empty uuid, or a failed read when it was
    the last one asked)."""
    per = f"echo -- '{DOMAIN_MARK}&'; domuuid -- '&'; domstate --reason -- '&';"
    return _VIRSH_BATCH.format(per=per) + f" | awk '{_DOMAIN_LINES}'"


def _domain_xmls(spec: HostSpec) -> str:
    per = f"echo -- '{PART} &'; dumpxml -- '&';"
    return _VIRSH_BATCH.format(per=per)


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


def _backing_files(spec: HostSpec) -> str:
    if spec.service_manager == "container":
        # the disks and their backing files as qemu sees them, in nova_libvirt
        base = shlex.quote(container_path(spec, spec.path(INSTANCES_DIR)))
    else:
        base = _q(spec, INSTANCES_DIR)
    # qemu-img failing on a disk that is still there fails the read ("nothing missing"
    # would be a guess), as does an answer without its "file format:" line (not qemu-img's)
    return (
        f'for d in {base}/*/disk; do [ -f "$d" ] || continue; '
        'i=$(qemu-img info -U "$d") || { r=$?; [ -f "$d" ] || continue; exit "$r"; }; '
        'case "$i" in *"file format:"*) ;; *) '
        'echo "qemu-img info $d: no file format in its answer" >&2; exit 1 ;; esac; '
        "b=$(printf '%s\\n' \"$i\" | sed -n 's/^backing file: \\([^ ]*\\).*/\\1/p'); "
        '[ -n "$b" ] && [ ! -e "$b" ] && printf "%s\\t%s\\n" "$d" "$b"; done; true'
    )


def _device_health(spec: HostSpec) -> str:
    """Each entry of the devices root: readable, or the error reading it (an XFS shut down
    after I/O errors stays mounted and answers EIO) with its mount's kernel device name;
    then the kernel log's XFS and I/O error lines (dmesg may be root-only: then none)."""
    root = _q(spec, DEVICES_ROOT)
    return (
        # (no -e test: stat fails on the very directories this looks for)
        f'for d in {root}/*; do case "$d" in */\\*) continue ;; esac; '
        'if e=$(ls -- "$d" 2>&1 >/dev/null); then printf \'ok\\t%s\\n\' "${d##*/}"; else '
        "s=$(awk -v m=\"$d\" '$2 == m {print $1}' /proc/mounts | tail -n 1); "
        'k=$(readlink -f "$s" 2>/dev/null); '
        'printf \'unreadable\\t%s\\t%s\\t%s\\n\' "${d##*/}" "${k##*/}" '
        '"$(printf %s "$e" | head -n 1)"; fi; done; '
        f'echo "{PART} kernel"; '
        "dmesg 2>/dev/null | grep -iE 'XFS \\([^)]*\\): .*(shut|error|corrupt|fail)|I/O error' "
        "| tail -n 40; true"
    )


def _blocked(spec: HostSpec) -> str:
    from afterboot.domains.blocked import script

    return script()


def _recon(spec: HostSpec) -> str:
    return _files([spec.path(f"{RECON_DIR}/{k}.recon") for k in RECON_KINDS])


# the seven tools at once cost ~13 s of CPU (imports): ~4 s on a controller's cores, 12 to
# 19 s on the lab's two (the whole cloud beside them); bounded all the same
UPGRADE_CHECK_BUDGET_S = 45.0


def _upgrade_check(project: str) -> Callable[[HostSpec], str]:
    """The read of a project's ``<project>-status upgrade check`` (afterboot/domains/upgradecheck.py)."""

    def read(spec: HostSpec) -> str:
        from afterboot.domains.upgradecheck import script

        return script(project, spec)

    return read


def _keystone_doctor(spec: HostSpec) -> str:
    from afterboot.domains.upgradecheck import doctor_script

    return doctor_script(spec)


_READS = (
    HostRead(
        "clock",
        "the host's clock and uptime (boot time, clock skew)",
        lambda s: "echo $(date +%s.%N) $(cut -d' ' -f1 /proc/uptime)",
    ),
    HostRead(
        "processes",
        "the process table (pid, parent, age, state, command line), and the script's pid",
        lambda s: 'echo "top ${AB_TOP:-0}"; ps -ww -eo pid=,ppid=,etimes=,stat=,args=',
    ),
    HostRead(
        "blocked",
        "the processes in uninterruptible sleep (D) at the end of the script: state, "
        "context switches, how long since they ran, wchan, kernel stack; the kernel's "
        "hung-task reports when there are any (afterboot/domains/blocked.py)",
        _blocked,
        last=True,
    ),
    HostRead("units", "systemd units of the host's services", _units),
    HostRead(
        "containers",
        "every container (docker/podman): state, health, image; image names now; kolla units",
        containers.script,
        engine=True,
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
        lambda s: f'df -P -T || exit; echo "{PART} inodes"; df -P -T -i',
    ),
    HostRead(
        "cpu",
        "CPU model and flags",
        lambda s: (
            # x86: model name, flags; arm64: Features, CPU implementer and part
            "grep -m5 -E '^(model name|flags|Features|CPU implementer|CPU part)' "
            "/proc/cpuinfo || "
            "{ echo 'no model name, flags or Features in /proc/cpuinfo' >&2; exit 1; }"
        ),
    ),
    HostRead(
        "swift_checksums",
        "md5 of the swift rings and swift.conf",
        lambda s: (
            "for f in "
            + " ".join(_q(s, f"/etc/swift/{n}") for n in SWIFT_FILES)
            + '; do if [ -f "$f" ]; then md5sum "$f"; else echo "missing $f"; fi; done'
        ),
    ),
    HostRead("swift_rings", "the swift ring files (base64)", _ring_files),
    HostRead(
        "swift_devices",
        "directories under the swift devices root",
        # no devices root: no device (SWIFT-005 names each missing one); a root that
        # cannot be listed fails the read
        lambda s: f"[ -e {_q(s, DEVICES_ROOT)} ] || exit 0; ls -1 {_q(s, DEVICES_ROOT)}",
    ),
    HostRead(
        "swift_device_health",
        "whether each swift device's root can be read; the kernel's XFS and I/O errors",
        _device_health,
    ),
    HostRead("swift_recon", "swift's recon cache (replication stamps)", _recon),
    HostRead(
        "domains",
        "libvirt domains with uuid, state and reason",
        _domains,
        container=LIBVIRT_CONTAINER,
    ),
    HostRead(
        "domain_xmls",
        "the XML of every libvirt domain",
        _domain_xmls,
        container=LIBVIRT_CONTAINER,
    ),
    HostRead(
        "instance_dirs",
        "instance directories of nova (none where the directory does not exist)",
        lambda s: f"[ -e {_q(s, INSTANCES_DIR)} ] || exit 0; ls -1 {_q(s, INSTANCES_DIR)}",
    ),
    HostRead(
        "backing_files",
        "instance disks whose backing file is gone",
        _backing_files,
        container=LIBVIRT_CONTAINER,
    ),
    HostRead(
        "nbd",
        "nbd devices connected or mounted",
        lambda s: (
            'for p in /sys/block/nbd*/pid; do [ -e "$p" ] && echo "connected ${p%/pid}"; '
            "done; grep '^/dev/nbd' /proc/mounts | awk '{print \"mounted \" $1 \" on \" $2}'; true"
        ),
    ),
    HostRead(
        "configs",
        "the services' configuration files",
        lambda s: _files([s.path(p) for p in config_files()]),
        secret=True,
    ),
    HostRead("rabbitmq_status", "RabbitMQ cluster status", _rabbitmq_status, slow=True),
    HostRead("rabbitmq_vhosts", "RabbitMQ vhosts", _rabbitmq_vhosts, slow=True),
    HostRead(
        "rabbitmq_root_queues", "RabbitMQ queues of vhost /", _rabbitmq_root_queues, slow=True
    ),
    HostRead(
        "ceph_status",
        "Ceph's health and OSD counts (ceph status, JSON)",
        lambda s: _CEPH_STATUS,
        slow=True,
    ),
    HostRead(
        "dependencies",
        "a bounded TCP connect from the host to each endpoint its configuration names",
        lambda s: "true",
        follows="configs",
    ),
    # Only where vhosts other than "/" exist (openstack-ansible): read after the others.
    HostRead("rabbitmq_queues", "RabbitMQ queues of every vhost", _rabbitmq_queues, slow=True),
    # The projects' own upgrade checks and keystone's doctor (afterboot/domains/upgradecheck.py): a
    # Python tool each, 1 to 3 s, in the container of the service where it runs.
    HostRead(
        "upgrade_check_keystone",
        "keystone-status upgrade check (keystone's own upgrade checks, JSON)",
        _upgrade_check("keystone"),
        slow=True,
        budget=UPGRADE_CHECK_BUDGET_S,
        container="keystone",
    ),
    HostRead(
        "upgrade_check_glance",
        "glance-status upgrade check (glance's own upgrade checks, JSON)",
        _upgrade_check("glance"),
        slow=True,
        budget=UPGRADE_CHECK_BUDGET_S,
        container="glance_api",
    ),
    HostRead(
        "upgrade_check_placement",
        "placement-status upgrade check (placement's own upgrade checks, a table)",
        _upgrade_check("placement"),
        slow=True,
        budget=UPGRADE_CHECK_BUDGET_S,
        container="placement_api",
    ),
    HostRead(
        "upgrade_check_neutron",
        "neutron-status upgrade check (neutron's own upgrade checks, JSON)",
        _upgrade_check("neutron"),
        slow=True,
        budget=UPGRADE_CHECK_BUDGET_S,
        container="neutron_server",
    ),
    HostRead(
        "upgrade_check_cinder",
        "cinder-status upgrade check (cinder's own upgrade checks, JSON)",
        _upgrade_check("cinder"),
        slow=True,
        budget=UPGRADE_CHECK_BUDGET_S,
        container="cinder_api",
    ),
    HostRead(
        "upgrade_check_nova",
        "nova-status upgrade check (nova's own upgrade checks, a table)",
        _upgrade_check("nova"),
        slow=True,
        budget=UPGRADE_CHECK_BUDGET_S,
        container="nova_api",
    ),
    HostRead(
        "keystone_doctor",
        "keystone-manage doctor (the symptoms keystone finds in its own deployment)",
        _keystone_doctor,
        slow=True,
        budget=UPGRADE_CHECK_BUDGET_S,
        container="keystone",
    ),
)

READS: dict[str, HostRead] = {r.name: r for r in _READS}
# "services": whatever read the host's service manager answers through.
MANAGER_READS = {"process": "processes", "systemd": "units", "container": "containers"}


# Declared names that stand for several reads.
GROUPS = {"rabbitmq": ("rabbitmq_status", "rabbitmq_vhosts", "rabbitmq_root_queues")}


def resolve(name: str, spec: HostSpec) -> tuple[str, ...]:
    """A declared read's real names on this host (``services`` by its service manager)."""
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
    return name in READS or name in GROUPS or name == "services"


# Read on every host whatever the checks: it is also the proof the host answers.
ALWAYS = ("clock",)


def parts(text: str) -> dict[str, str]:
    """Split a multi-part read into ``{name: content}`` (the trailing newline dropped)."""
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
    return found
