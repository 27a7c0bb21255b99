"""Check identity as data: the ``check`` marker parsed into a frozen :class:`Check`.

Plain module (no hooks), so reporting plugins and our own tests can use it directly.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import pytest

from afterboot.settings import PHASES, ROLES

# Table 11-1 of the Operations Guide, restored (CATALOG.md): priority -> what comes back.
TIERS: dict[int, str] = {
    1: "internal network connectivity",
    2: "backing storage services",
    3: "public network connectivity for user VMs",
    4: "nova-compute, nova-network, cinder hosts",
    5: "user virtual machines",
    10: "message queue and database services",
    15: "keystone services",
    20: "cinder-scheduler",
    21: "image catalog and delivery services (glance)",
    22: "nova-scheduler services",
    98: "cinder-api",
    99: "nova-api services",
    100: "dashboard node",
}

# Checks that say nothing about their phases run in every phase that asks "is the cloud
# healthy"; pre-maintenance and config-gate checks must ask for those phases by name.
DEFAULT_PHASES = ("post-reboot", "post-restore", "post-upgrade", "periodic")
# ... and the checks that prove a configuration change did no harm (services came back
# after their restart, APIs answer, RPC consumers and service records are there).
WITH_CONFIG_GATE = (*DEFAULT_PHASES, "config-gate")

ID_PATTERN = re.compile(r"^[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*-\d{3}$")

MARKER_HELP = (
    "check(id, *, tier, roles=(), phases=(), title=None, settles=True): the stable identity "
    'of a check, e.g. @pytest.mark.check("NOVA-002", tier=4, roles=("compute",)). IDs never '
    "change. settles=False: waiting does not fix its failure (a ring, a config drift), so "
    "--settle gives its verdict at once."
)


@dataclass(frozen=True)
class Check:
    id: str
    tier: int
    title: str
    roles: tuple[str, ...]
    phases: tuple[str, ...]
    where: str
    settles: bool = True  # a failure can go away by itself (a service coming back): --settle

    @property
    def component(self) -> str:
        return self.id.rsplit("-", 1)[0]

    @property
    def tier_name(self) -> str:
        return TIERS[self.tier]


class CheckError(ValueError):
    """A check marker that cannot be accepted; the message is one line."""


def _tuple(value: object, what: str, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Iterable):
        return tuple(str(v) for v in value)
    raise CheckError(f"{where}: {what} must be a list of names, got {value!r}")


# A sentence ends at ".", "!" or "?" followed by a capital letter, unless the word before the
# stop is an abbreviation ("e.g. Nova", "i.e. The").
_SENTENCE_END = re.compile(r"(?<!\be\.g)(?<!\bi\.e)(?<!\betc)[.!?](?=\s+[A-Z])")


def first_sentence(doc: str) -> str:
    """The docstring's first sentence, across line breaks, whitespace made single spaces."""
    paragraph = doc.strip().split("\n\n", 1)[0]
    text = " ".join(paragraph.split())
    end = _SENTENCE_END.search(text)
    return text[: end.end()] if end else text


def parse_marker(marker: pytest.Mark, where: str, doc: str | None) -> Check:
    """Turn one ``@pytest.mark.check(...)`` into a :class:`Check`, or raise CheckError."""
    if len(marker.args) != 1 or not isinstance(marker.args[0], str):
        raise CheckError(
            f"{where}: check marker needs exactly one ID string, e.g. check('NOVA-002', tier=4)"
        )
    check_id = marker.args[0]
    if not ID_PATTERN.match(check_id):
        raise CheckError(
            f"{where}: check ID {check_id!r} is not of the form AREA-NNN (e.g. NOVA-002)"
        )
    unknown = set(marker.kwargs) - {"tier", "roles", "phases", "title", "settles"}
    if unknown:
        raise CheckError(
            f"{where}: check {check_id}: unknown marker argument {sorted(unknown)[0]!r}"
        )
    tier = marker.kwargs.get("tier")
    if tier not in TIERS:
        raise CheckError(
            f"{where}: check {check_id}: tier {tier!r} is not a Table 11-1 priority "
            f"({', '.join(map(str, TIERS))})"
        )
    roles = _tuple(marker.kwargs.get("roles", ()), "roles", where)
    bad_roles = [r for r in roles if r not in ROLES]
    if bad_roles:
        raise CheckError(f"{where}: check {check_id}: unknown role {bad_roles[0]!r}")
    phases = _tuple(marker.kwargs.get("phases", DEFAULT_PHASES), "phases", where)
    bad_phases = [p for p in phases if p not in PHASES]
    if bad_phases:
        raise CheckError(f"{where}: check {check_id}: unknown phase {bad_phases[0]!r}")
    title = marker.kwargs.get("title") or first_sentence(doc or "")
    if not title:
        raise CheckError(f"{where}: check {check_id}: needs a title (a docstring or title=...)")
    settles = marker.kwargs.get("settles", True)
    if not isinstance(settles, bool):
        raise CheckError(f"{where}: check {check_id}: settles must be True or False")
    return Check(check_id, int(tier), str(title), roles, phases, where, settles)


def format_catalog(checks: Iterable[Check]) -> list[str]:
    """The catalog as aligned text lines, ordered by tier then ID."""
    rows = sorted(checks, key=lambda c: (c.tier, c.id))
    table = [("ID", "TIER", "ROLES", "PHASES", "TITLE")] + [
        (c.id, str(c.tier), ",".join(c.roles) or "-", ",".join(c.phases), c.title) for c in rows
    ]
    widths = [max(len(r[i]) for r in table) for i in range(4)]
    return [
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:4])) + "  " + row[4]
        for row in table
    ]
