"""Ceph's own health checks (Table 11-1, priority 2: backing storage services)."""

from __future__ import annotations

import pytest

from afterboot.checks.findings import Findings
from afterboot.domains.ceph import CephHealth, health_of, osdmap_flags
from afterboot.reads.hostreads import SHARED_TRIES
from afterboot.transport.connections import Connections, Remote, first_answer


@pytest.mark.check("CEPH-001", tier=2, roles=("ceph",))
@pytest.mark.reads("ceph_status@ceph")
def test_ceph_reports_health_ok(connections: Connections, findings: Findings) -> None:
    """Ceph reports HEALTH_OK: no health check raised (a flag that stops I/O, OSDs down
    or out, placement groups not active+clean, monitors out of quorum, full or nearfull
    OSDs, no manager). Its own judgement, as the first ceph host that answers reads it."""
    ceph = connections.with_role("ceph")
    if not ceph:
        pytest.skip("the inventory declares no ceph host")

    def ask(remote: Remote) -> tuple[str, CephHealth]:
        return remote.name, health_of(remote)

    host, cluster = first_answer(ceph, ask, "Ceph's health", tries=SHARED_TRIES)
    for check in cluster.raised:
        # a flag left set is one offender each: each is unset (or kept) on its own
        flags = osdmap_flags(check.message) if check.code == "OSDMAP_FLAGS" else ()
        for flag in flags or ("",):
            findings.add(
                f"{check.code}:{flag}" if flag else check.code,
                host=host,
                expected="HEALTH_OK",
                actual=f"{check.severity} {check.code}",
                code=check.code,
                severity=check.severity,
                message=check.message,
                flag=flag,
                detail="; ".join(check.detail),
                said=f"{check.code} ({check.severity}): {check.message}"
                + (f" [{'; '.join(check.detail)}]" if check.detail and not flag else ""),
            )
    findings.assert_none()
