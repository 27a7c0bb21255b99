"""The projects' own upgrade checks (``<project>-status upgrade check``) and keystone's
doctor (``keystone-manage doctor``), read on the controllers (afterboot/domains/upgradecheck.py).

After an upgrade or a restore, and from the timer: each project knows best what its
upgrade left undone (cells v2, computes too old, online migrations, removed options or
drivers still set). A *Failure* fails the check, one finding per failed check; a
*Warning* (oslo.upgradecheck: "investigate, not a blocker") is recorded as a JUnit
property (``upgrade_warning``) and does not fail it.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from afterboot.checks.findings import Findings
from afterboot.domains.upgradecheck import (
    DOCTOR_READ,
    PROJECTS,
    Doctor,
    Project,
    UpgradeCheck,
    doctor,
)
from afterboot.domains.upgradecheck import upgrade_check as read_upgrade_check
from afterboot.errors import CouldNotRun
from afterboot.reads.answers import Answers, every_answer
from afterboot.transport.connections import Connections

PHASES = ("post-upgrade", "post-restore", "periodic")


def _installed(got: Answers[UpgradeCheck] | Answers[Doctor], tool: str, hosts: list[str]) -> None:
    """Could-not-run naming the tool when no controller has it (and none failed to say)."""
    if not got.failed and not any(a.installed for a in got.values.values()):
        raise CouldNotRun(
            f"{tool} is installed on no controller ({', '.join(hosts)})",
            "every project is expected on the controllers",
        )


@pytest.mark.check("UPG-001", tier=99, roles=("controller",), phases=PHASES, settles=False)
@pytest.mark.parametrize(
    "project", [pytest.param(p, id=p.name, marks=pytest.mark.reads(p.read)) for p in PROJECTS]
)
def test_upgrade_checks_pass(
    project: Project,
    connections: Connections,
    findings: Findings,
    record_property: Callable[[str, object], None],
) -> None:
    """Every project's own upgrade check reports no Failure on any controller that has its
    tool (``<project>-status upgrade check``); its warnings are recorded, not failed."""
    controllers = connections.with_role("controller")
    if not controllers:
        pytest.skip("the inventory declares no controller host")
    got = every_answer(controllers, lambda remote: read_upgrade_check(remote, project))
    _installed(got, project.tool, [r.name for r in controllers])
    for host, answer in sorted(got.values.items()):
        if not answer.installed:
            continue
        if answer.note:
            record_property("upgrade_check_note", f"{host} {project.name}: {answer.note}")
        record_property(
            "upgrade_checks",
            f"{host} {project.name}: {len(answer.checks)} checks, exit {answer.status}",
        )
        for warned in answer.warnings:
            record_property(
                "upgrade_warning", f"{host} {project.name}: {warned.check}: {warned.details}"
            )
        for failed in answer.failures:
            findings.add(
                f"{project.name}: {failed.check}",
                host=host,
                expected="Success",
                actual=failed.result,
                project=project.name,
                tool=project.tool,
                upgrade_check=failed.check,
                details=failed.details,
                said=f"{project.name} on {host}: {failed.check}: {failed.details or 'Failure'}",
            )
    note = f" ({got.unanswered('not judged').what})" if got.failed else ""
    findings.assert_none(f"{project.tool} upgrade check reports Failure{note}: ")
    got.raise_unanswered(f"{project.tool} upgrade check")


@pytest.mark.check("KEYSTONE-002", tier=15, roles=("controller",), phases=PHASES, settles=False)
@pytest.mark.reads(DOCTOR_READ)
def test_keystone_doctor_finds_no_symptom(connections: Connections, findings: Findings) -> None:
    """``keystone-manage doctor`` finds no symptom on any controller that runs keystone
    (key repositories set up, caching configured, no debug mode, sane password rules)."""
    controllers = connections.with_role("controller")
    if not controllers:
        pytest.skip("the inventory declares no controller host")
    got = every_answer(controllers, doctor)
    _installed(got, "keystone-manage", [r.name for r in controllers])
    for host, answer in sorted(got.values.items()):
        for symptom in answer.symptoms:
            findings.add(
                symptom.title,
                host=host,
                expected="no symptom",
                actual="symptom",
                symptom=symptom.title,
                detail=symptom.detail,
                said=f"{host}: {symptom.title}",
            )
    note = f" ({got.unanswered('not judged').what})" if got.failed else ""
    findings.assert_none(f"keystone-manage doctor finds symptoms{note}: ")
    got.raise_unanswered("keystone-manage doctor")
