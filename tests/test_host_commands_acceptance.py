"""Host commands, acceptance layer: the real SVC-003 check by pytester against the kolla
compute host of tests/test_kolla_acceptance.py (recorded podman outputs, fake podman,
systemctl and ps) whose nova-compute log names RabbitMQ's ACCESS_REFUSED; the fitting
step's command is rendered for the kolla host (kolla's unit, nova.conf where kolla keeps
it) in the terminal, JUnit, summary.json and remediation.sh; serial and ``-n 2``."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from tests.test_kolla_acceptance import ARGS, kolla  # noqa: F401 (the fixture)

PACKAGED = "sudo grep -E '^transport_url' /etc/nova/nova.conf"
KOLLA = (
    "ssh cmp-01 -- 'sudo grep -E '\"'\"'^transport_url'\"'\"' "
    "/etc/kolla/nova-compute/nova.conf | sed '\"'\"'s/:[^:@]*@/:***@/'\"'\"' "
    "&& sudo systemctl restart kolla-nova_compute-container'"
)


def _refused(suite: pytest.Pytester) -> None:
    """nova-compute's log (where the inventory puts it) names ACCESS_REFUSED; nova.conf
    lives under /etc/kolla/nova-compute, as the inventory says."""
    logs = suite.path / "kolla-logs"
    (logs / "nova-compute.log").write_text(
        "2026-11-29 08:54:48.100 7 ERROR oslo.messaging._drivers.impl_rabbit [-] "
        "Connection failed: ACCESS_REFUSED - Login was refused using authentication "
        "mechanism AMQPLAIN\n"
    )
    inventory = suite.path / "inventory.yaml"
    inventory.write_text(
        inventory.read_text().replace(
            "    paths: {", "    paths: {/etc/nova: /etc/kolla/nova-compute, ", 1
        )
    )


@pytest.mark.parametrize("xdist", [False, True], ids=["serial", "n2"])
def test_a_kolla_host_s_remedy_restarts_its_container_s_unit(
    kolla: pytest.Pytester,  # noqa: F811
    xdist: bool,
) -> None:
    _refused(kolla)
    result = kolla.runpytest_subprocess(
        *ARGS, "--junitxml=junit.xml", "-p", "xdist", *(["-n", "2"] if xdist else [])
    )
    out = result.stdout.str()
    result.assert_outcomes(failed=2, passed=1)
    assert "RabbitMQ refused the service's login" in out  # the cause the step fits
    assert f"$ {KOLLA}" in out
    assert PACKAGED not in out
    props = [
        p.get("value", "")
        for p in ET.parse(kolla.path / "junit.xml").iter("property")
        if p.get("name") == "remediation"
    ]
    assert any(KOLLA in v for v in props)
    assert not any(PACKAGED in v for v in props)
    plan = (kolla.path / "reports" / "remediation.sh").read_text().splitlines()
    assert KOLLA in plan
    summary = json.loads((kolla.path / "reports" / "summary.json").read_text())
    svc = next(c for c in summary["checks"] if c["check"] == "SVC-003")
    assert KOLLA in [c for s in svc["steps"] for c in s["commands"]]


@pytest.mark.parametrize("kolla", ["containers-podman-faults.txt"], indirect=True)
def test_the_same_host_as_a_packaged_one_gets_today_s_commands(
    kolla: pytest.Pytester,  # noqa: F811
) -> None:
    """The control: without the inventory's paths and manager, the step renders as written
    (here the same fake host, declared systemd: SVC-003 still fails, on its units)."""
    _refused(kolla)
    inventory = kolla.path / "inventory.yaml"
    declared = inventory.read_text().replace("/etc/nova: /etc/kolla/nova-compute, ", "")
    inventory.write_text(declared.replace("service_manager: container", "service_manager: systemd"))
    result = kolla.runpytest_subprocess(*ARGS)
    out = result.stdout.str()
    assert "RabbitMQ refused the service's login" in out
    assert "kolla-nova_compute-container" not in out
    plan = (kolla.path / "reports" / "remediation.sh").read_text().splitlines()
    packaged = KOLLA.replace("/etc/kolla/nova-compute/", "/etc/nova/").replace(
        "kolla-nova_compute-container", "nova-compute"
    )
    assert packaged in plan
