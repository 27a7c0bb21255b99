"""``--list-hosts``: one line per resolved host, where its settings came from; runs nothing."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from .conftest import SAMPLES

CHECK = """
import pytest

@pytest.mark.check("NOVA-002", tier=4, roles=("compute",))
def test_would_touch_hosts_if_run():
    \"\"\"Never runs under --list-hosts.\"\"\"
    raise SystemExit("ran")
"""


@pytest.mark.parametrize("xdist", [(), ("-n", "2")], ids=["serial", "xdist"])
def test_kolla_inventory_listed_and_nothing_run(
    suite: pytest.Pytester, xdist: tuple[str, ...]
) -> None:
    suite.makepyfile(**{"tests_cloud/test_x.py": CHECK})
    result = suite.runpytest(
        f"--inventory={SAMPLES / 'kolla-multinode.ini'}", "--list-hosts", *xdist
    )
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        [
            "HOST * ADDRESS * PORT * USER * CONNECTION * ROLES * FROM",
            "compute02 * 192.0.2.32 * 2222 * - * ssh * compute *"
            "port: kolla-multinode.ini:10 (ansible_port)*",
            "control01 * control01 * 22 * kolla * ssh become *controller,*"
            "user: kolla-multinode.ini:3 (ansible_user)*",
            "localhost * localhost * - * - * local * - *",
        ]
    )
    assert "ran" not in result.stdout.str()
    assert "collected" not in result.stdout.str()  # no session: nothing collected or run


def test_dynamic_inventory_listed_without_checks(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}/usr/bin:/bin")
    script = SAMPLES / "osa-dynamic-inventory.py"
    result = suite.runpytest(f"--inventory={script}", "--list-hosts")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        [
            "inventory: *osa-dynamic-inventory.py (openstack-ansible's layout)",
            "infra1 * 172.29.236.11 * 22 * root * ssh * process * controller,database,messaging *",
            "infra1_galera_container-5ba8c7a1 * 172.29.236.101 * - * - * "
            "not-checked(an LXC container on infra1: its services are read there)*",
        ]
    )


def test_list_hosts_needs_an_inventory(suite: pytest.Pytester) -> None:
    result = suite.runpytest("--list-hosts")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --list-hosts needs an inventory (--inventory=FILE)"])


def test_manager_key_jump_and_paths_are_listed_and_role_limits_the_list(
    suite: pytest.Pytester,
) -> None:
    inventory = suite.path / "inventory.yaml"
    inventory.write_text(
        "defaults: {user: root, key: /etc/afterboot/id_ed25519}\n"
        "hosts:\n"
        "  ctl-01: {address: 10.0.0.11, roles: [controller], jump: admin@bastion}\n"
        "  cmp-01: {address: 10.0.0.21, roles: [compute], service_manager: container,\n"
        "           container_engine: podman, paths: {/etc/nova: /etc/kolla/nova-compute}}\n"
    )
    result = suite.runpytest(f"--inventory={inventory}", "--list-hosts")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        [
            "HOST * CONNECTION * MANAGER * ROLES * DETAILS * FROM",
            "cmp-01 * ssh * container/podman * compute * key=/etc/afterboot/id_ed25519 "
            "paths=/etc/nova->/etc/kolla/nova-compute *",
            "ctl-01 * ssh * systemd * controller * jump=admin@bastion *",
        ]
    )
    limited = suite.runpytest(f"--inventory={inventory}", "--list-hosts", "--role=compute")
    assert limited.ret == pytest.ExitCode.OK
    assert "cmp-01" in limited.stdout.str()
    assert "ctl-01" not in limited.stdout.str()
