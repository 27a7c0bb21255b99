"""Before and after the maintenance (Ops Guide: "note what runs before you touch it ...
check it is all back"): with ``--compare=FILE``, what ran, was attached, mounted, clustered
or configured in the snapshot taken before (``--phase=pre-maintenance``) is so now.

Each difference names its offender, what it was before and what it is now. These checks
run in any phase, only with ``--compare``; the comparisons are the pure functions of
``afterboot/domains/beforeafter.py`` over the two snapshot documents.
"""

from __future__ import annotations

import pytest

from afterboot.checks.findings import Findings
from afterboot.domains.beforeafter import (
    Doc,
    attachments,
    configs,
    host_services,
    instances,
    membership,
    service_records,
    storage,
)
from afterboot.settings import PHASES
from afterboot.verdict.compare import judge
from afterboot.verdict.compared import Compared


@pytest.mark.check("DIFF-001", tier=5, roles=("compute",), phases=PHASES)
@pytest.mark.reads("instances", "domains")
def test_instances_run_as_before(
    before: Compared, after: Doc, findings: Findings, pytestconfig: pytest.Config
) -> None:
    """Every instance that was active and running before the maintenance is active and
    running again, on the host it ran on, and so is its libvirt domain."""
    judge(instances(before.doc, after), before, findings, pytestconfig)


@pytest.mark.check("DIFF-002", tier=5, roles=("compute", "block-storage"), phases=PHASES)
@pytest.mark.reads("volumes")
def test_volumes_attached_as_before(
    before: Compared, after: Doc, findings: Findings, pytestconfig: pytest.Config
) -> None:
    """Every volume attached before the maintenance is attached to the same server, as
    the same device, and in use."""
    judge(attachments(before.doc, after), before, findings, pytestconfig)


@pytest.mark.check("DIFF-003", tier=4, phases=PHASES)
@pytest.mark.reads("compute_services", "volume_services", "network_agents")
def test_service_records_as_before(
    before: Compared, after: Doc, findings: Findings, pytestconfig: pytest.Config
) -> None:
    """Every nova and cinder service and neutron agent that was up and enabled before the
    maintenance is up and enabled again."""
    judge(service_records(before.doc, after), before, findings, pytestconfig)


@pytest.mark.check("DIFF-004", tier=4, phases=PHASES)
@pytest.mark.reads("services")
def test_hosts_run_what_they_ran(
    before: Compared, after: Doc, findings: Findings, pytestconfig: pytest.Config
) -> None:
    """Every service a host ran before the maintenance (process, systemd unit or
    container) runs again."""
    judge(host_services(before.doc, after), before, findings, pytestconfig)


@pytest.mark.check(
    "DIFF-005",
    tier=2,
    roles=("object-storage", "object-storage-proxy", "block-storage", "ceph"),
    phases=PHASES,
)
@pytest.mark.reads(
    "swift_checksums@object-storage",
    "swift_checksums@object-storage-proxy",
    "mounts",
    "swift_device_health@object-storage",
    "ceph_status@ceph",
)
def test_storage_as_before(
    before: Compared, after: Doc, findings: Findings, pytestconfig: pytest.Config
) -> None:
    """Swift's rings and swift.conf are the files they were, every data filesystem mounted
    before the maintenance is mounted and readable again, and Ceph has its health and OSDs
    back."""
    judge(storage(before.doc, after), before, findings, pytestconfig)


@pytest.mark.check("DIFF-006", tier=10, roles=("messaging", "database"), phases=PHASES)
@pytest.mark.reads("rabbitmq@messaging", "galera")
def test_clusters_as_before(
    before: Compared, after: Doc, findings: Findings, pytestconfig: pytest.Config
) -> None:
    """Every RabbitMQ node that ran before the maintenance is back in the cluster, every
    named queue that had consumers has some again, and Galera has its members back."""
    judge(membership(before.doc, after), before, findings, pytestconfig)


@pytest.mark.check("DIFF-007", tier=4, phases=PHASES)
@pytest.mark.reads("configs")
def test_configuration_as_before(
    before: Compared, after: Doc, findings: Findings, pytestconfig: pytest.Config
) -> None:
    """Every service configuration file of every host holds the options it held before
    the maintenance (the names of those that changed are given, never their values)."""
    judge(configs(before.doc, after), before, findings, pytestconfig)
