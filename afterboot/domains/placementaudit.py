"""nova's own placement oracle: ``nova-manage placement heal_allocations --dry-run`` (the
instances nova would give allocations) and ``nova-manage placement audit`` (allocations
no instance or migration holds), read on the controllers and parsed.

Both compare nova's cell databases with placement's allocations, as nova itself sees
them: what the API reads (NOVA-010, NOVA-011) cannot tell, such as an instance whose
allocations name another project, or a port's bandwidth allocation missing. Both reads
are read-only by construction: heal_allocations always with ``--dry-run`` (it then prints
what it would write and writes nothing), audit never with ``--delete``.

Their exit statuses (nova/cmd/manage.py, ``PlacementCommands``):

- heal_allocations: 4 "completed, no allocations created", which a dry run always is (it
  counts no instance as processed); 0 would mean it created some (no dry run); 1 a
  ``--max-count`` reached; 2 an instance's compute node not found; 3 allocations not
  read or not written (placement unreachable); 5 to 7 neutron's ports; 8 an instance with
  a vGPU or Cyborg request (heal_allocations stops at the first one); 127 invalid input;
  255 a crash (``An error has occurred:`` and a traceback, on stdout).
- audit: 0 no orphaned allocation; 3 orphaned allocations found (4 with ``--delete``:
  deleted); 1 an error deleting; 127 an unknown provider; 255 a crash.

The reads (``placement_heal_dry_run``, ``placement_audit``) are framed as the projects'
upgrade checks are (:mod:`afterboot.domains.upgradecheck`): the tool's status on a line
of its own where it is an answer (4; 0 or 3), a failed read with the tool's last lines
otherwise (a crash, an error, an unknown status: could-not-run, never an empty answer);
a controller without nova-manage is said so (``absent``).

``--verbose`` lines parsed (every other line is could-not-run naming it, but oslo.log's
own lines: nova-manage logs on stdout where nova.conf sets no log file)::

    Running batches of 50 until complete
    Looking for instances in cell: <uuid>(<name>)
    Found 4 candidate instances.
    Instance <uuid> is undergoing a task state transition: <task_state>
    Instance <uuid> is not on a host.
    [dry-run] Create allocations for instance <uuid>: <JSON: allocations by provider>
    [dry-run] Update allocations for instance <uuid>: <JSON>
    The allocation of instance <uuid> is up-to-date. Nothing to be healed.
    Found a request group : resource provider mapping ... (a port's, before an Update)
    Processed 0 instances.

    The compute node for UUID <uuid> can not be found
    Allocations were set against consumer UUID <uuid> but no existing instances or active
    migrations are related.  (one line)
    Allocations for consumer UUID <uuid> on Resource Provider <uuid> can be deleted: {...}
    Processed 2 allocations.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from afterboot.domains.upgradecheck import (
    answer_or_fail,
    framed_output,
    said_last,
    tool_present,
)
from afterboot.errors import CouldNotRun, shown
from afterboot.inventory.model import HostSpec
from afterboot.reads.hostreads import HostRead, register, unexpected
from afterboot.snapshot import ReadResult
from afterboot.transport.connections import Remote

TOOL = "nova-manage"
CONTAINER = "nova_api"  # kolla's container with nova-manage and the API's nova.conf
HEAL_READ = "placement_heal_dry_run"
AUDIT_READ = "placement_audit"
READS = (HEAL_READ, AUDIT_READ)
# the commands as the reads run them: read-only (a dry run; an audit that deletes nothing)
HEAL_COMMAND = f"{TOOL} placement heal_allocations --dry-run --verbose"
AUDIT_COMMAND = f"{TOOL} placement audit --verbose"
HEAL_ANSWER = 4  # completed, no allocation created: every dry run's status
AUDIT_CLEAN, AUDIT_ORPHANS = 0, 3

_UUID = r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}"
# oslo.log's default format (logging_default_format_string): nova-manage's own log lines
_LOG = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? \d+ [A-Z]+ \S")
_HEAL_SAID = [
    re.compile(r"^Running batches of \d+ until complete$"),
    re.compile(r"^Looking for instances in cell: \S.*$"),
    re.compile(r"^Found \d+ candidate instances\.$"),
    re.compile(rf"^Instance {_UUID} is undergoing a task state transition: \S+$"),
    re.compile(rf"^Instance {_UUID} is not on a host\.$"),
    re.compile(rf"^The allocation of instance {_UUID} is up-to-date\. Nothing to be healed\.$"),
    re.compile(r"^Found a request group : resource provider mapping .+$"),
]
_HEAL = re.compile(rf"^\[dry-run\] (Create|Update) allocations for instance ({_UUID}): (\{{.*\}})$")
_HEAL_DONE = re.compile(r"^Processed (\d+) instances\.$")
_NO_NODE = re.compile(rf"^The compute node for UUID ({_UUID}) can not be found$")
_AUDIT_SAID = [
    re.compile(
        rf"^Allocations were set against consumer UUID {_UUID} but no existing instances or "
        r"active migrations are related\.$"
    ),
]
_ORPHAN = re.compile(
    rf"^Allocations for consumer UUID ({_UUID}) on Resource Provider ({_UUID}) can be "
    r"deleted: (\{.*\})$"
)
_AUDIT_DONE = re.compile(r"^Processed (\d+) allocations?\.$")


# -- the reads ---------------------------------------------------------------------------


def heal_script(spec: HostSpec) -> str:
    """``nova-manage placement heal_allocations --dry-run --verbose``: status 4 an answer."""
    return tool_present(TOOL) + f"o=$({HEAL_COMMAND}); r=$?; " + answer_or_fail(str(HEAL_ANSWER))


def audit_script(spec: HostSpec) -> str:
    """``nova-manage placement audit --verbose`` (never ``--delete``): 0 and 3 answers."""
    ok = f"{AUDIT_CLEAN}|{AUDIT_ORPHANS}"
    return tool_present(TOOL) + f"o=$({AUDIT_COMMAND}); r=$?; " + answer_or_fail(ok)


# -- the answers -------------------------------------------------------------------------


@dataclass(frozen=True)
class ToHeal:
    """An instance heal_allocations would write allocations for."""

    instance: str
    action: str  # "create": it has none; "update": its project/user or a port's are wrong
    providers: tuple[str, ...]  # the resource providers it would allocate from
    resources: str  # what it would allocate, as "VCPU=1, MEMORY_MB=64" (all providers)


@dataclass(frozen=True)
class Orphan:
    """An allocation the audit finds no instance or active migration for."""

    consumer: str
    provider: str
    resources: str  # "DISK_GB=1, MEMORY_MB=64, VCPU=1"


@dataclass(frozen=True)
class Heal:
    installed: bool = True
    instances: tuple[ToHeal, ...] = ()


@dataclass(frozen=True)
class Audit:
    installed: bool = True
    orphans: tuple[Orphan, ...] = ()
    unknown_nodes: tuple[str, ...] = ()  # providers whose compute node nova does not find


def _held(resources: Any) -> str:
    if not isinstance(resources, dict) or not all(
        isinstance(k, str) and isinstance(v, (int, float)) and not isinstance(v, bool)
        for k, v in resources.items()
    ):
        raise ValueError(f"resources not understood: {shown(resources)}")
    return ", ".join(f"{k}={v:g}" for k, v in sorted(resources.items()))


def _to_heal(action: str, instance: str, text: str) -> ToHeal:
    """One ``[dry-run]`` line's JSON: ``{"allocations": {rp: {"resources": {...}}}, ...}``."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"instance {instance}: allocations not JSON ({exc.msg})") from None
    allocations = data.get("allocations") if isinstance(data, dict) else None
    if not isinstance(allocations, dict) or not allocations:
        raise ValueError(f"instance {instance}: no allocations in {shown(text)}")
    held = []
    for rp, alloc in sorted(allocations.items()):
        if not isinstance(alloc, dict) or not re.fullmatch(_UUID, str(rp)):
            raise ValueError(f"instance {instance}: allocation not understood: {shown(rp)}")
        held.append(_held(alloc.get("resources")))
    return ToHeal(instance, action.lower(), tuple(sorted(allocations)), "; ".join(held))


def _tool_lines(lines: Iterable[str]) -> list[str]:
    """The tool's own lines: without blanks and oslo.log's lines."""
    return [line.rstrip() for line in lines if line.strip() and not _LOG.match(line)]


def parse_heal(result: ReadResult, host: str) -> Heal:
    """heal_allocations' dry run as ``host`` answered it (the read succeeded: see
    :meth:`ReadResult.require`); could-not-run where it is not understood."""
    where = f"host {host}: {HEAL_COMMAND}"
    framed = framed_output(result.stdout)
    if framed.absent:
        return Heal(installed=False)
    if framed.status != HEAL_ANSWER:
        raise CouldNotRun(f"{where}: no exit status in the read", said_last(result, framed.lines))
    found: list[ToHeal] = []
    done: int | None = None
    for line in _tool_lines(framed.lines):
        m = _HEAL.match(line)
        if m:
            try:
                found.append(_to_heal(m[1], m[2], m[3]))
            except ValueError as exc:
                raise CouldNotRun(f"{where}: output not understood", str(exc)) from None
            continue
        m = _HEAL_DONE.match(line)
        if m:
            done = int(m[1])
        elif line == "No cells to process.":
            done = 0
        elif not any(p.match(line) for p in _HEAL_SAID):
            raise unexpected(host, HEAL_READ, line)
    if done is None:
        raise CouldNotRun(f"{where}: it did not say it finished", said_last(result, framed.lines))
    if done:  # a dry run processes none: this one wrote allocations
        raise CouldNotRun(f"{where}: it processed {done} instances (no dry run?)", "")
    return Heal(True, tuple(found))


def parse_audit(result: ReadResult, host: str) -> Audit:
    """The audit as ``host`` answered it; could-not-run where it is not understood, or
    where its status and its lines disagree."""
    where = f"host {host}: {AUDIT_COMMAND}"
    framed = framed_output(result.stdout)
    if framed.absent:
        return Audit(installed=False)
    if framed.status not in (AUDIT_CLEAN, AUDIT_ORPHANS):
        raise CouldNotRun(f"{where}: no exit status in the read", said_last(result, framed.lines))
    orphans: list[Orphan] = []
    unknown: list[str] = []
    done: int | None = None
    for line in _tool_lines(framed.lines):
        m = _ORPHAN.match(line)
        if m:
            try:
                held = _held(_python_dict(m[3]))
            except ValueError as exc:
                raise CouldNotRun(f"{where}: output not understood", str(exc)) from None
            orphans.append(Orphan(m[1], m[2], held))
            continue
        if m := _NO_NODE.match(line):
            unknown.append(m[1])
        elif m := _AUDIT_DONE.match(line):
            done = int(m[1])
        elif not any(p.match(line) for p in _AUDIT_SAID):
            raise unexpected(host, AUDIT_READ, line)
    said = said_last(result, framed.lines)
    if framed.status == AUDIT_CLEAN and (orphans or done):
        raise CouldNotRun(f"{where}: exit 0, but it lists orphaned allocations", said)
    if framed.status == AUDIT_ORPHANS and (not orphans or done != len(orphans)):
        raise CouldNotRun(
            f"{where}: exit 3, but {len(orphans)} orphaned allocations listed"
            f" and {done if done is not None else 'no'} processed",
            said,
        )
    return Audit(True, tuple(orphans), tuple(unknown))


_PY_KEY = re.compile(r"'([A-Z0-9_]+)': ")


def _python_dict(text: str) -> Any:
    """A resources dict as Python prints it (``{'VCPU': 1, 'MEMORY_MB': 64}``), read as
    JSON once its quotes are JSON's (resource class names are upper case, values ints)."""
    try:
        return json.loads(_PY_KEY.sub(r'"\1": ', text))
    except json.JSONDecodeError:
        raise ValueError(f"resources not understood: {shown(text)}") from None


def heal(remote: Remote) -> Heal:
    """heal_allocations' dry run as this controller read it (the collection pass)."""
    return parse_heal(remote.read(HEAL_READ), remote.name)


def audit(remote: Remote) -> Audit:
    """The placement audit as this controller read it (the collection pass)."""
    return parse_audit(remote.read(AUDIT_READ), remote.name)


# -- the reads this module judges (afterboot.reads.hostreads' registry) --------------

# nova-manage's imports cost 2 to 4 s of CPU; heal_allocations asks placement once per
# instance and neutron for its ports, audit placement once per provider: bounded all the
# same, past --timeout
PLACEMENT_AUDIT_BUDGET_S = 120.0

register(
    HostRead(
        HEAL_READ,
        "nova-manage placement heal_allocations --dry-run --verbose (instances nova would "
        "give allocations; writes nothing)",
        heal_script,
        slow=True,
        budget=PLACEMENT_AUDIT_BUDGET_S,
        container=CONTAINER,
    ),
    HostRead(
        AUDIT_READ,
        "nova-manage placement audit --verbose (allocations no instance or migration "
        "holds; never --delete)",
        audit_script,
        slow=True,
        budget=PLACEMENT_AUDIT_BUDGET_S,
        container=CONTAINER,
    ),
)
