"""Required services run on every host, per role (Ops Guide: controller and compute reboot).

The guide checks with ``ps aux | grep nova-``; afterboot asks the host's own service
manager (systemd units, kolla containers, or the process table) and names every service
that is not running, on which host.
"""

from __future__ import annotations

import pytest

from afterboot.checks.catalog import WITH_CONFIG_GATE
from afterboot.checks.findings import Findings
from afterboot.domains.boot import not_at_boot
from afterboot.domains.servicemap import expected_services, host_services
from afterboot.domains.services import service_states
from afterboot.transport.connections import Remote


def assert_role_services(host: Remote, role: str, findings: Findings) -> None:
    __tracebackhide__ = True
    wanted = expected_services(host, role)
    states = service_states(host, wanted)
    for name, state in states.items():
        if not state.running:
            findings.add(
                name,
                host=host.name,
                expected="running",
                actual=state.detail,
                service=name,
                said=f"{name} ({state.detail})",
                manager=host.spec.service_manager,
                **({"unit": state.unit, "unit_state": state.state} if state.unit else {}),
                **(
                    {"container": state.container, "container_state": state.state}
                    if state.container
                    else {}
                ),
                **dict(state.about),
                **(
                    {
                        "process_state": "hung",
                        "pid": state.pids,
                        "wchan": state.wchan,
                        "blocked_on": state.blocked_on or "unknown: read its kernel stack",
                        "blocked_cause": state.cause or "unknown",
                    }
                    if state.state == "hung"
                    else {}
                ),
            )
    findings.assert_none(f"{role} services not running on {host.name}: ", sep=", ")


@pytest.mark.check("SVC-001", tier=10, roles=("database",), phases=WITH_CONFIG_GATE)
@pytest.mark.reads("services")
def test_database_service_running(host: Remote, findings: Findings) -> None:
    """The database server runs on every database host."""
    assert_role_services(host, "database", findings)


@pytest.mark.check("SVC-002", tier=10, roles=("messaging",), phases=WITH_CONFIG_GATE)
@pytest.mark.reads("services")
def test_message_queue_running(host: Remote, findings: Findings) -> None:
    """RabbitMQ runs on every messaging host."""
    assert_role_services(host, "messaging", findings)


@pytest.mark.check("SVC-003", tier=4, roles=("compute",), phases=WITH_CONFIG_GATE)
@pytest.mark.reads("services")
def test_compute_host_services_running(host: Remote, findings: Findings) -> None:
    """d-bus, libvirtd and nova-compute run on every compute host."""
    assert_role_services(host, "compute", findings)


@pytest.mark.check("SVC-004", tier=15, roles=("controller",), phases=WITH_CONFIG_GATE)
@pytest.mark.reads("services")
def test_controller_services_running(host: Remote, findings: Findings) -> None:
    """keystone, placement, glance, neutron, nova and cinder control services run."""
    assert_role_services(host, "controller", findings)


@pytest.mark.check("SVC-005", tier=4, roles=("block-storage",), phases=WITH_CONFIG_GATE)
@pytest.mark.reads("services")
def test_block_storage_services_running(host: Remote, findings: Findings) -> None:
    """cinder-volume runs on every block-storage host."""
    assert_role_services(host, "block-storage", findings)


@pytest.mark.check("SVC-006", tier=2, roles=("ceph",), phases=WITH_CONFIG_GATE)
@pytest.mark.reads("services")
def test_ceph_daemons_running(host: Remote, findings: Findings) -> None:
    """The Ceph monitor and OSD daemons run on every Ceph host."""
    assert_role_services(host, "ceph", findings)


@pytest.mark.check("SVC-007", tier=2, roles=("object-storage",), phases=WITH_CONFIG_GATE)
@pytest.mark.reads("services")
def test_object_storage_services_running(host: Remote, findings: Findings) -> None:
    """Swift account/container/object servers, replicators, auditors, updaters, rsync run."""
    assert_role_services(host, "object-storage", findings)


@pytest.mark.check("SVC-008", tier=2, roles=("object-storage-proxy",), phases=WITH_CONFIG_GATE)
@pytest.mark.reads("services")
def test_object_storage_proxy_running(host: Remote, findings: Findings) -> None:
    """swift-proxy-server and memcached run on every proxy host."""
    assert_role_services(host, "object-storage-proxy", findings)


@pytest.mark.check("SVC-009", tier=3, roles=("network",), phases=WITH_CONFIG_GATE)
@pytest.mark.reads("services")
def test_network_agents_running(host: Remote, findings: Findings) -> None:
    """The neutron DHCP, L3 and metadata agents run on every network host."""
    assert_role_services(host, "network", findings)


@pytest.mark.check("SVC-010", tier=100, roles=("dashboard",), phases=WITH_CONFIG_GATE)
@pytest.mark.reads("services")
def test_dashboard_running(host: Remote, findings: Findings) -> None:
    """The dashboard's web server runs on every dashboard host."""
    assert_role_services(host, "dashboard", findings)


SERVICE_ROLES = (
    "controller",
    "compute",
    "block-storage",
    "ceph",
    "object-storage",
    "object-storage-proxy",
    "network",
    "database",
    "messaging",
    "dashboard",
)


@pytest.mark.check("SVC-011", tier=99, roles=SERVICE_ROLES)
@pytest.mark.managed_by("systemd", "container")  # a process host has no boot configuration
@pytest.mark.reads("manager")
def test_services_start_at_next_boot(host: Remote, findings: Findings) -> None:
    """Every service that runs now starts again at the next boot: its unit enabled (not
    disabled, masked or enabled only until the reboot), kolla's container unit enabled or
    its restart policy one the engine starts at boot. A service started by hand runs today
    and is gone after the next reboot."""
    wanted = host_services(host.spec)
    if not wanted:
        pytest.skip(f"{host.name}: no service expected of its roles")
    for b in not_at_boot(host, wanted):
        findings.add(
            b.what,
            host=host.name,
            expected="starts at boot",
            actual=b.state,
            service=b.service,
            boot_state=b.state,
            **({"unit": b.what} if b.kind == "unit" else {"container": b.what, "engine": b.engine}),
            manager=host.spec.service_manager,
            said=f"{b.service}: {b.what} is {b.state}",
        )
    findings.assert_none(f"running, but not started at the next boot of {host.name}: ", sep=", ")
