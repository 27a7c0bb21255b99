"""A check's procedure as text, filled for one failure: the terminal's "Remediation"
section, the JUnit property and the Allure attachment (one renderer for all three)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from afterboot.checks.catalog import TIERS
from afterboot.checks.findings import Finding
from afterboot.inventory.model import HostSpec
from afterboot.procedures.runbook import Procedure, render
from afterboot.redact import redact


def tier_label(tier: int) -> str:
    return f"tier {tier}: {TIERS.get(tier, '?')}"


def cause_ids(causes: Sequence[str]) -> tuple[str, ...]:
    """The signature IDs of ``"id: text"`` causes."""
    return tuple(dict.fromkeys(c.split(":", 1)[0].strip() for c in causes if c))


def procedure_text(
    proc: Procedure | None,
    check: str,
    findings: Sequence[Finding],
    causes: Sequence[str] = (),
    hosts: Mapping[str, HostSpec] | None = None,
    *,
    tier: int,
    roots: Sequence[str] = (),
) -> str:
    """The filled-in procedure of one check, for a section, a property or an attachment;
    ``causes`` (``"id: text"``) put the steps that fit them first; ``hosts`` (the
    inventory's) adapt the host commands to their hosts; ``tier``: the check's; ``roots``:
    the services in which the causes lie (``"neutron-server on controller"``)."""
    if proc is None:
        return redact(f"{check}: no remediation procedure is defined (add one under procedures/)")
    lines = [
        f"{check} [{tier_label(tier)}] {proc.severity}: {proc.title}",
        f"Why: {' '.join(proc.why.split())}",
    ]
    where = sorted({f.host for f in findings if f.host})
    if where:
        lines.append(f"Where: {', '.join(where)}")
    lines.extend(f"Cause: {c.split(':', 1)[-1].strip()}" for c in dict.fromkeys(causes) if c)
    lines.extend(
        f"Root: {r}: the failure starts there (its log is in the evidence); fix it first, "
        "then the steps below"
        for r in dict.fromkeys(roots)
        if r
    )
    for n, step in enumerate(render(proc, findings, cause_ids(causes), hosts), 1):
        lines.extend(f"{'  ' if i else f'{n:>2}. '}{t}" for i, t in enumerate(step.text))
        if step.guard:
            lines.append(f"      guard: {step.guard_line()}")
        lines.extend(f"      $ {c}" for c in step.commands)
        lines.extend(f"      (Ops Guide, historical: {h})" for h in step.historical)
    lines.append(f"Guide: {proc.guide}")
    if proc.runbook:
        lines.append(f"Runbook: {proc.runbook}")
    if proc.contact:
        lines.append(f"Contact: {proc.contact}")
    return redact("\n".join(lines))
