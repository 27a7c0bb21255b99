"""What the remediation plugin shows and writes: text, summary.json, remediation.sh.

Plain module. An :class:`Entry` is one failed or blocked check run, as carried to the
controller; entries are grouped by check, ordered by restoration tier, and the lowest
broken tier is marked "start here". Every string leaves through :func:`redact`.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from afterboot.checks.catalog import TIERS
from afterboot.checks.findings import Finding
from afterboot.inventory.model import HostSpec
from afterboot.procedures.runbook import Procedure, render
from afterboot.procedures.text import cause_ids, procedure_text, tier_label
from afterboot.redact import redact, redact_obj
from afterboot.verdict.entries import BLOCKED, BROKEN, COULD_NOT_RUN, FAILED, WAIVED, Entry
from afterboot.verdict.roots import root_label

ALREADY_FAILING = "already failing before the maintenance"


@dataclass
class Group:
    check: str
    tier: int
    entries: list[Entry]

    @property
    def broken(self) -> list[Entry]:
        return [e for e in self.entries if e.outcome not in (BLOCKED, WAIVED)]

    @property
    def failed(self) -> list[Entry]:
        """The entries that say the cloud is wrong (the procedure applies to these)."""
        return [e for e in self.entries if e.outcome == FAILED]

    @property
    def unrun(self) -> list[Entry]:
        return [e for e in self.entries if e.outcome == COULD_NOT_RUN]

    @property
    def causes(self) -> list[str]:
        """What the evidence of the failed entries named (``"id: text"``), once each."""
        return list(dict.fromkeys(e.cause for e in self.failed if e.cause))

    @property
    def roots(self) -> list[str]:
        """The services the failed entries' causes lie in (``"neutron-server on c1"``)."""
        return list(dict.fromkeys(root_label(e) for e in self.failed if e.root))

    @property
    def findings(self) -> list[Finding]:
        seen: dict[str, Finding] = {}
        for e in self.failed:
            for f in e.findings:
                seen.setdefault(json.dumps(f.to_dict(), sort_keys=True), f)
        return list(seen.values())


def grouped(entries: Sequence[Entry]) -> list[Group]:
    groups: dict[str, Group] = {}
    for e in entries:
        groups.setdefault(e.check, Group(e.check, e.tier, [])).entries.append(e)
    return sorted(groups.values(), key=lambda g: (g.tier, g.check))


def start_tier(groups: Sequence[Group]) -> int | None:
    """The lowest tier where the cloud is wrong (could-not-run results are listed apart)."""
    tiers = [g.tier for g in groups if g.failed] or [g.tier for g in groups if g.broken]
    return min(tiers) if tiers else None


def fresh(entries: Sequence[Entry]) -> list[Entry]:
    """The entries that were not already failing in the compared run (all without one)."""
    return [e for e in entries if e.new is not False]


def already_failing_lines(entries: Sequence[Entry]) -> list[str]:
    """The failures the compared run had too, listed apart from the new ones."""
    old = [e for e in entries if e.new is False]
    if not old:
        return []
    lines = [f"--- {ALREADY_FAILING}"]
    for e in sorted(old, key=lambda e: (e.tier, e.check, e.nodeid)):
        names = ", ".join(dict.fromkeys(f.subject for f in e.findings if f.subject))
        lines.append(f"  {e.check} {e.nodeid}: {e.outcome}" + (f" ({names})" if names else ""))
    return [redact(line) for line in lines]


def roots_named(entries: Sequence[Entry]) -> dict[str, list[str]]:
    """Each root in another service the failures' evidence named, with the failures that
    named it (``"NOVA-002 on compute1"``)."""
    out: dict[str, list[str]] = {}
    for e in entries:
        if e.outcome == FAILED and e.root:
            out.setdefault(root_label(e), []).append(
                f"{e.check} on {e.host}" if e.host else e.check
            )
    return out


def summary_lines(
    entries: Sequence[Entry],
    procs: Mapping[str, Procedure],
    hosts: Mapping[str, HostSpec] | None = None,
) -> list[str]:
    old = already_failing_lines(entries)
    entries = fresh(entries)
    groups = grouped(entries)
    first = start_tier(groups)
    lines: list[str] = [
        f"--- root in another service: {root}, named by the evidence of "
        f"{', '.join(dict.fromkeys(named))}  <== start there"
        for root, named in roots_named(entries).items()
    ]
    tier = None
    for g in groups:
        if g.tier != tier:
            tier = g.tier
            mark = "  <== start here" if tier == first else ""
            lines.append(f"--- {tier_label(tier)}{mark}")
        if g.failed:
            lines.append(f"[failed] x{len(g.failed)}")
            lines.extend(
                "    " + line
                for line in procedure_text(
                    procs.get(g.check),
                    g.check,
                    g.findings,
                    g.causes,
                    hosts,
                    tier=g.tier,
                    roots=g.roots,
                ).splitlines()
            )
        lines.extend(
            f"    {e.nodeid}: waiver expired, failing again: {e.waiver}"
            for e in g.failed
            if e.waiver
        )
        for e in g.unrun:
            lines.append(f"  {e.check} {e.nodeid}: {e.message or 'could not run'}")
        lines.extend(
            f"  {e.check} {e.nodeid}: bug in the check: {e.message}"
            for e in g.entries
            if e.outcome == BROKEN
        )
        for e in g.entries:
            if e.outcome == BLOCKED:
                lines.append(f"  {e.check} {e.nodeid}: blocked by {e.blocked_by}")
            elif e.outcome == WAIVED:
                lines.append(f"  {e.check} {e.nodeid}: {e.waiver}")
    return [redact(line) for line in lines] + old


def summary_data(
    entries: Sequence[Entry],
    procs: Mapping[str, Procedure],
    meta: Mapping[str, Any],
    hosts: Mapping[str, HostSpec] | None = None,
) -> dict[str, Any]:
    groups = grouped(entries)
    first = start_tier(grouped(fresh(entries)))  # where to start: the new failures
    checks = []
    for g in groups:
        proc = procs.get(g.check)
        steps = (
            [
                {**asdict(s), "guard": s.guard_line()}
                for s in render(proc, g.findings, cause_ids(g.causes), hosts)
            ]
            if proc
            else []
        )
        checks.append(
            {
                "check": g.check,
                "tier": g.tier,
                "tier_name": TIERS.get(g.tier, ""),
                "start_here": g.tier == first and bool(fresh(g.broken)),
                "title": proc.title if proc else "",
                "severity": proc.severity if proc else "",
                "guide": proc.guide if proc else "",
                "procedure": proc.source if proc else "",
                "runbook": proc.runbook if proc else "",
                "contact": proc.contact if proc else "",
                "causes": g.causes,
                "roots": g.roots,
                "results": [json.loads(e.to_json()) for e in g.entries],
                "steps": steps,
            }
        )
    counts: dict[str, int] = {}
    for e in entries:
        counts[e.outcome] = counts.get(e.outcome, 0) + 1
    data = {**meta, "start_here_tier": first, "counts": counts, "checks": checks}
    named = roots_named(fresh(entries))
    if named:  # where the failure starts, when that is in another service
        data["roots"] = [{"root": root, "named_by": by} for root, by in named.items()]
    old = [e for e in entries if e.new is False]
    if old:
        data[ALREADY_FAILING.replace(" ", "_")] = [
            {"check": e.check, "nodeid": e.nodeid, "host": e.host, "outcome": e.outcome}
            for e in old
        ]
    result: dict[str, Any] = redact_obj(data)
    return result


SCRIPT_HEAD = """#!/bin/sh
# afterboot remediation plan, generated {generated} (phase {phase}, cloud {cloud}).
# A checklist for a human, never run by afterboot. Read every line, keep what applies,
# run it step by step. Ordered by restoration tier (Table 11-1): fix the first tier first,
# then run afterboot again: later failures are often consequences of the first.
echo "afterboot: review remediation.sh and remove this guard before running it" >&2
exit 1
"""


def _comment(text: str, prefix: str = "# ") -> list[str]:
    """``text`` as comment lines: a value holding a newline never starts a command."""
    return [prefix + line for line in str(text).splitlines() or [""]]


def script(
    entries: Sequence[Entry],
    procs: Mapping[str, Procedure],
    meta: Mapping[str, Any],
    hosts: Mapping[str, HostSpec] | None = None,
) -> str:
    groups = grouped(entries)
    first = start_tier(groups)
    out = [SCRIPT_HEAD.format(**{k: meta.get(k) or "-" for k in ("generated", "phase", "cloud")})]
    for g in groups:
        proc = procs.get(g.check)
        if not g.broken or proc is None:
            continue
        mark = " (start here)" if g.tier == first else ""
        out.append(f"\n# ===== {g.check} [{tier_label(g.tier)}]{mark}: {proc.title}")
        for e in g.unrun:
            out.extend(
                _comment(f"  could not run: {e.nodeid}: {e.message} -- fix access, run again")
            )
        if not g.failed:
            continue
        for e in g.failed:
            out.extend(_comment(f"  {e.outcome}: {e.nodeid}"))
        for c in g.causes:
            out.extend(_comment(f"cause (from the logs): {c.split(':', 1)[-1].strip()}"))
        for r in g.roots:
            out.extend(_comment(f"root (the failure starts there, fix it first): {r}"))
        for n, step in enumerate(render(proc, g.findings, cause_ids(g.causes), hosts), 1):
            for t in step.text:
                out.extend(_comment(f"{n}. {t}"))
            if step.guard and step.commands:
                out.extend(_comment(f"GUARD, before the command below: {step.guard_line()}"))
            elif step.guard:
                out.extend(_comment(f"GUARD: {step.guard_line()}"))
            for cmd in step.commands:
                if redact(cmd) != cmd:  # masking a secret could cut a quoted word short
                    out.extend(_comment(redact(cmd), "# a secret was masked, fill in: "))
                elif "<" in cmd and ">" in cmd:
                    out.extend(_comment(cmd, "# fill in, then uncomment: "))
                else:
                    out.append(cmd)
            for h in step.historical:
                out.extend(_comment(f"   (Ops Guide: {h})"))
        blocked = [
            e for e in entries if e.outcome == BLOCKED and e.blocked_by.split(" ")[0] == g.check
        ]
        if blocked:
            out.extend(
                _comment(f"blocked by it: {', '.join(shlex.quote(e.nodeid) for e in blocked)}")
            )
    return "\n".join(redact(item) for item in out) + "\n"  # item by item: see above
