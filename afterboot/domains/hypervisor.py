"""What a compute host's hypervisor really runs: libvirt domains, instance directories,
backing files, nbd devices: parsers of the host reads (:mod:`afterboot.reads.hostreads`)."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from xml.etree import ElementTree

from afterboot.errors import CouldNotRun
from afterboot.inventory.model import HostSpec
from afterboot.reads.hostreads import (
    INSTANCES_DIR,
    LIBVIRT_CONTAINER,
    PART,
    HostRead,
    container_path,
    name_lines,
    parts,
    quoted_path,
    register,
    unexpected,
)
from afterboot.transport.connections import Remote

# nova's power_state values (nova/compute/power_state.py)
NOSTATE, RUNNING, PAUSED, SHUTDOWN, CRASHED, SUSPENDED = 0, 1, 3, 4, 6, 7
POWER_NAMES = {
    0: "no state",
    1: "running",
    3: "paused",
    4: "shutdown",
    6: "crashed",
    7: "suspended",
}

# virsh domstate -> nova power_state
LIBVIRT_POWER = {
    "running": RUNNING,
    "idle": RUNNING,
    "blocked": RUNNING,
    "in shutdown": RUNNING,
    "paused": PAUSED,
    "shut off": SHUTDOWN,
    "crashed": CRASHED,
    "pmsuspended": SUSPENDED,
}

__all__ = ["INSTANCES_DIR", "Domain", "boot_time", "clock", "domains"]


@dataclass(frozen=True)
class Domain:
    name: str
    uuid: str
    state: str  # as virsh says it: "running", "shut off" ...
    reason: str  # "booted", "crashed", "unknown", "user" ...

    @property
    def power_state(self) -> int:
        return LIBVIRT_POWER.get(self.state, NOSTATE)


def domains(remote: Remote) -> list[Domain]:
    """Every domain libvirt knows on the host (``virsh list --all``), running or not."""
    result = remote.read("domains")
    if result.rc != 0:
        raise CouldNotRun(
            f"{remote.name}: virsh did not answer",
            (result.stderr.strip() or f"exit {result.rc}")[:200],
        )
    return parse_domains(result.stdout, remote.name)


UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def parse_domains(text: str, host: str = "") -> list[Domain]:
    """The ``domains`` read's lines (name, uuid, state with its reason) as domains (a
    domain gone between virsh's list and its questions has no uuid: left out). A line
    that is not three tab-separated fields, or whose uuid is no uuid or has no state, is
    could-not-run naming it: garbage is no "no domain"."""
    found = []
    for line in text.splitlines():
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 3 or not fields[0].strip():
            raise unexpected(host, "domains", line)
        if not fields[1].strip():
            continue
        if not UUID.match(fields[1].strip()) or not fields[2].strip():
            raise unexpected(host, "domains", line)
        state, _, reason = fields[2].strip().partition(" (")
        found.append(Domain(fields[0], fields[1].strip(), state, reason.rstrip(")")))
    return found


def domain_xml(remote: Remote, name: str) -> str:
    """The domain's XML; "" when libvirt has no such domain, CouldNotRun when libvirt
    itself does not answer (a dead libvirtd is not a missing domain)."""
    result = remote.read("domain_xmls")
    if result.rc != 0:
        raise CouldNotRun(
            f"{remote.name}: virsh did not answer",
            (result.stderr.strip() or f"exit {result.rc}")[:200],
        )
    return parts(result.stdout).get(name, "")


def has_volume_disk(xml: str, volume: str, where: str = "domain XML") -> bool:
    """The domain has a disk that is this volume: nova sets a volume disk's ``<serial>``
    to the volume's id; its source (``volumes/volume-<id>`` on RBD, a path with it) says so
    too. Not the id anywhere in the XML (its metadata or another disk's description).
    XML that does not parse is CouldNotRun, never "no such disk"."""
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError as exc:
        raise CouldNotRun(f"{where} does not parse", str(exc)[:120]) from None
    for disk in root.iterfind("./devices/disk"):
        if (disk.findtext("serial") or "").strip() == volume:
            return True
        source = disk.find("source")
        if source is not None and any(
            volume in (source.get(attr) or "") for attr in ("name", "file", "dev", "volume")
        ):
            return True
    return False


def instance_dirs(remote: Remote) -> set[str]:
    """Names in ``/var/lib/nova/instances`` that look like instance uuids (none when the
    directory does not exist; one that cannot be listed is CouldNotRun)."""
    listed = name_lines(remote.read("instance_dirs").stdout, remote.name, "instance_dirs")
    return {n for n in listed if len(n) == 36 and n.count("-") == 4}


def parse_backing_files(text: str, host: str = "") -> dict[str, str]:
    """The ``backing_files`` read: ``<instance dir>/disk<TAB><backing file>`` a line, for
    each disk whose backing file is gone (none: nothing missing). A line of another form
    is could-not-run naming it."""
    found = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        disk, tab, backing = line.partition("\t")
        if not tab or not disk.startswith("/") or not disk.endswith("/disk") or not backing:
            raise unexpected(host, "backing_files", line)
        found[disk] = backing
    return found


def missing_backing_files(remote: Remote, uuids: list[str]) -> dict[str, str]:
    """uuid -> backing file path, for instance disks whose backing file is gone."""
    missing = {}
    for disk, backing in parse_backing_files(
        remote.read("backing_files").stdout, remote.name
    ).items():
        uuid = disk.rsplit("/", 2)[-2] if disk.count("/") >= 2 else ""
        if uuid in uuids:
            missing[uuid] = backing
    return missing


_NBD = re.compile(r"^(?:connected /sys/block/nbd\d+|mounted /dev/nbd\S* on .+)$")


def nbd_in_use(remote: Remote) -> list[str]:
    """nbd devices connected to an image (``qemu-nbd -c``) or mounted, left from an inspection."""
    out = remote.read("nbd").stdout
    for line in out.splitlines():
        if line and not _NBD.match(line):
            raise unexpected(remote.name, "nbd", line)
    return [line.replace("/sys/block/", "/dev/") for line in out.splitlines() if line]


def clock(remote: Remote, *, again: bool = False) -> tuple[float, float]:
    """The host's clock when it was read and its uptime, in seconds (``again``: a new
    sample, read now; ``remote.read_window`` is then its window)."""
    out = remote.read("clock", again=again).stdout
    try:
        fields = out.split()
        if len(fields) not in (2, 3):  # the UTC offset, third, is not in older snapshots
            raise ValueError(out)
        now, uptime = float(fields[0]), float(fields[1])
    except ValueError:
        raise CouldNotRun(f"{remote.name}: unreadable clock", out.strip()[:80]) from None
    return now, uptime


def skew(remote: Remote, now: float) -> float:
    """How far ``now``, the host's clock, lies outside the operator's clock while the host
    was read (``remote.read_window``): 0.0 inside it."""
    before, after = remote.read_window
    return now - after if now > after else now - before if now < before else 0.0


def boot_time(remote: Remote) -> float:
    """When the host booted, as a UNIX time (its clock minus its uptime)."""
    now, uptime = clock(remote)
    return now - uptime


def cpu_signature(remote: Remote) -> tuple[str, frozenset[str]]:
    """The CPU model name and flags as the host's kernel reports them (arm64: no model
    name, its implementer and part instead; its Features as the flags)."""
    return parse_cpu(remote.read("cpu").stdout, remote.name)


CPU_KEYS = ("model name", "flags", "Features", "CPU implementer", "CPU part")


def parse_cpu(text: str, host: str = "") -> tuple[str, frozenset[str]]:
    """The ``cpu`` read (``/proc/cpuinfo``'s model, flags and arm64 ids, ``key : value``
    lines): a line of no such key, or no line at all, is could-not-run naming it."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        key, colon, value = line.partition(":")
        if not colon or key.strip() not in CPU_KEYS:
            raise unexpected(host, "cpu", line)
        fields.setdefault(key.strip(), value.strip())
    if not fields:
        raise CouldNotRun(f"host {host}: read 'cpu'", "no model name, flags or Features")
    model = fields.get("model name") or (
        f"arm64 implementer {fields['CPU implementer']} part {fields['CPU part']}"
        if "CPU implementer" in fields and "CPU part" in fields
        else ""
    )
    return model, frozenset((fields.get("flags") or fields.get("Features") or "").split())


# -- the reads this module judges (afterboot.reads.hostreads' registry) --------------

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


def _backing_files(spec: HostSpec) -> str:
    if spec.service_manager == "container":
        # the disks and their backing files as qemu sees them, in nova_libvirt
        base = shlex.quote(container_path(spec, spec.path(INSTANCES_DIR)))
    else:
        base = quoted_path(spec, INSTANCES_DIR)
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


register(
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
        lambda s: (
            f"[ -e {quoted_path(s, INSTANCES_DIR)} ] || exit 0; "
            f"ls -1 {quoted_path(s, INSTANCES_DIR)}"
        ),
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
)
