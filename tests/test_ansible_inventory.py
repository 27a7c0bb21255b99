"""Ansible inventories through ansible-core's own ``ansible-inventory`` (really installed),
and the hand parser that stands in when it is not on PATH."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from afterboot.errors import InputError
from afterboot.inventory import ansible, commands
from afterboot.inventory.ansible import RANGE_LIMIT
from afterboot.inventory.load import load_inventory
from afterboot.inventory.model import Inventory

from .conftest import SAMPLES

VENV_BIN = str(Path(sys.executable).parent)
OSA_SCRIPT = SAMPLES / "osa-dynamic-inventory.py"


@pytest.fixture
def with_ansible(monkeypatch: pytest.MonkeyPatch) -> str:
    """ansible-core's ansible-inventory, found beside the interpreter (this venv's, where
    `pip install` put it) whatever PATH says."""
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    found = commands.tool("ansible-inventory")
    if found is None:
        pytest.skip("ansible-core is not installed (pip install 'afterboot[ansible]')")
    return found


def summary(inv: Inventory) -> dict[str, tuple[object, ...]]:
    return {
        h.name: (h.address, h.port, h.user, h.connection, tuple(sorted(h.roles)), h.become)
        for h in inv.hosts.values()
    }


def test_directory_inventory_with_group_and_host_vars(with_ansible: str) -> None:
    inv = load_inventory(SAMPLES / "ansible-dir")
    assert summary(inv) == {
        "ctl01": ("10.0.0.11", 2200, "kolla", "ssh", ("controller",), False),
        "ctl03": ("ctl03", 2200, "kolla", "ssh", ("controller",), False),
        "cmp01": ("10.0.0.21", 2200, None, "ssh", ("compute",), True),
        "cmp02": ("10.0.0.22", 2222, None, "ssh", ("compute",), True),
    }
    ctl01 = inv.hosts["ctl01"]
    # the ProxyJump is the jump, passed once as -J (never twice: ssh refuses a second -J)
    assert ctl01.ssh_args == ("-o", "StrictHostKeyChecking no")
    assert ctl01.jump == "ops@bastion.example.org"
    assert ctl01.origins["address"] == "host_vars/ctl01.yml (ansible_host)"
    assert ctl01.origins["port"] == "group_vars/all.yml (ansible_port)"
    assert ctl01.origins["ssh_args"] == "group_vars/all.yml (ansible_ssh_common_args)"
    assert inv.hosts["cmp01"].origins["become"].endswith("group compute vars (ansible_become)")


def test_vault_through_a_password_file_from_the_environment(
    with_ansible: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    shutil.copytree(SAMPLES / "ansible-dir", site)
    secret = site / "group_vars" / "compute.yml"
    secret.write_text("ansible_user: vaulted-user\n")
    password = tmp_path / "vault-pass"
    password.write_text("s3cret\n")
    vault = str(Path(with_ansible).with_name("ansible-vault"))
    subprocess.run(
        [vault, "encrypt", "--vault-password-file", str(password), str(secret)],
        check=True,
        capture_output=True,
    )
    assert secret.read_text().startswith("$ANSIBLE_VAULT")
    monkeypatch.delenv("ANSIBLE_VAULT_PASSWORD_FILE", raising=False)
    with pytest.raises(InputError) as exc:
        load_inventory(site)
    assert "\n" not in str(exc.value)
    assert str(exc.value).startswith(f"{site}: ansible-inventory -i {site} --list failed: ")
    assert str(exc.value).endswith(
        "(set ANSIBLE_VAULT_PASSWORD_FILE, or vault_password_file in ansible.cfg)"
    )
    monkeypatch.setenv("ANSIBLE_VAULT_PASSWORD_FILE", str(password))
    inv = load_inventory(site)
    assert inv.hosts["cmp01"].user == "vaulted-user"
    assert inv.hosts["cmp01"].origins["user"] == "group_vars/compute.yml (ansible_user)"


OSA_EXPECTED = {
    "infra1": (
        "172.29.236.11",
        None,
        "root",
        "ssh",
        ("controller", "database", "messaging"),
        False,
    ),
    "compute1": ("172.29.236.21", None, "root", "ssh", ("compute",), True),
    "storage1": ("172.29.236.31", None, "root", "ssh", ("block-storage",), False),
    # an LXC container has no role: its physical host's process table shows its services
    "infra1_galera_container-5ba8c7a1": ("172.29.236.101", None, "root", "ssh", (), False),
    "infra1_rabbit_mq_container-0c3a5e2b": ("172.29.236.102", None, "root", "ssh", (), False),
    "infra1_keystone_container-9f1e2d3c": ("172.29.236.103", None, "root", "ssh", (), False),
}


def test_dynamic_inventory_through_ansible(with_ansible: str) -> None:
    inv = load_inventory(OSA_SCRIPT)
    assert summary(inv) == OSA_EXPECTED
    assert inv.hosts["storage1"].ssh_args == ("-o", "ServerAliveInterval=5")


def test_dynamic_inventory_without_ansible(without_ansible: None) -> None:
    assert summary(load_inventory(OSA_SCRIPT)) == OSA_EXPECTED


def test_list_json_file_is_read_directly(tmp_path: Path, without_ansible: None) -> None:
    listed = subprocess.run([str(OSA_SCRIPT), "--list"], capture_output=True, check=True)
    path = tmp_path / "inventory.json"
    path.write_bytes(listed.stdout)
    assert summary(load_inventory(path)) == OSA_EXPECTED
    json.loads(listed.stdout)


def test_directory_needs_ansible(without_ansible: None) -> None:
    with pytest.raises(InputError, match="directory inventory is read through ansible-inventory"):
        load_inventory(SAMPLES / "ansible-dir")


def test_kolla_sample_reads_the_same_with_and_without_ansible(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if commands.tool("ansible-inventory") is None:
        pytest.skip("ansible-core is not installed")
    through_ansible = load_inventory(SAMPLES / "kolla-multinode.ini")
    found = commands.tool
    monkeypatch.setattr(commands, "tool", lambda n: None if n.startswith("ansible") else found(n))
    by_hand = load_inventory(SAMPLES / "kolla-multinode.ini")
    assert through_ansible.hosts == by_hand.hosts  # origins are not compared
    assert {h.name: h.groups for h in through_ansible.hosts.values()} == {
        h.name: h.groups for h in by_hand.hosts.values()
    }


# -- the hand parser -----------------------------------------------------------------


def hand(tmp_path: Path, text: str, name: str = "inv.ini") -> Inventory:
    path = tmp_path / name
    path.write_text(text)
    return load_inventory(path)


def test_ranges_stride_padding_and_letters(tmp_path: Path, without_ansible: None) -> None:
    inv = hand(tmp_path, "[compute]\ncmp[01:06:2]\nrack-[a:c]\n")
    assert list(inv.hosts) == ["cmp01", "cmp03", "cmp05", "rack-a", "rack-b", "rack-c"]


def test_host_port(tmp_path: Path, without_ansible: None) -> None:
    inv = hand(tmp_path, "[compute]\nhost:2222\nother:2200 ansible_port=22\n")
    assert (inv.hosts["host"].address, inv.hosts["host"].port) == ("host", 2222)
    assert inv.hosts["other"].port == 22
    yaml_inv = hand(tmp_path, "all:\n  hosts:\n    y1:2022:\n", "inv.yml")
    assert yaml_inv.hosts["y1"].port == 2022


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[compute]\ncmp[1:100000000]\n",
            f":2: host pattern 'cmp[1:100000000]' expands to more than {RANGE_LIMIT} hosts",
        ),
        ("[compute]\nc[1:200][1:200]\n", ":2: host pattern 'c[1:200][1:200]' expands to more than"),
        ("[compute]\n\ncmp[9:1]\n", ":3: host range '[9:1]' in 'cmp[9:1]': end comes before begin"),
        ("[compute]\ncmp[01:6]\n", ":2: host range '[01:6]' in 'cmp[01:6]': zero-padded"),
        ("[control\nctl01\n", ":1: malformed INI section header '[control'"),
        (
            "[compute]\nc1 ansible_host=\"{{ lookup('env', 'X') }}\"\n",
            ":2: host c1: ansible_host is a template",
        ),
    ],
)
def test_errors_are_one_line_with_file_and_line(
    tmp_path: Path, without_ansible: None, text: str, message: str
) -> None:
    with pytest.raises(InputError) as exc:
        hand(tmp_path, text)
    assert str(exc.value).startswith(str(tmp_path / "inv.ini") + message), str(exc.value)
    assert "\n" not in str(exc.value)


def test_broken_header_is_an_ini_error_with_ansible_too(tmp_path: Path, with_ansible: str) -> None:
    with pytest.raises(InputError, match=r"inv.ini:1: malformed INI section header"):
        hand(tmp_path, "[control\nctl01\n")


def test_simple_templates_resolve_from_host_vars(tmp_path: Path, without_ansible: None) -> None:
    inv = hand(
        tmp_path, '[compute]\nc1 ansible_host="{{ mgmt }}" mgmt="{{ inventory_hostname }}.mgmt"\n'
    )
    assert inv.hosts["c1"].address == "c1.mgmt"


def test_group_vars_value_is_the_rest_of_the_line(tmp_path: Path, without_ansible: None) -> None:
    inv = hand(
        tmp_path,
        "[c]\nh1\n[c:vars]\nansible_ssh_common_args=-o ProxyJump=ops@b -o X=1\n"
        'ansible_user = "kolla"\n',
    )
    assert inv.hosts["h1"].ssh_args == ("-o", "X=1")
    assert (inv.hosts["h1"].jump, inv.hosts["h1"].user) == ("ops@b", "kolla")


def test_directory_inventory_listed_with_its_vars_files(
    suite: pytest.Pytester, with_ansible: str
) -> None:
    result = suite.runpytest(f"--inventory={SAMPLES / 'ansible-dir'}", "--list-hosts")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        [
            "ctl01 * 10.0.0.11 * 2200 * kolla * ssh * controller *"
            "address: host_vars/ctl01.yml (ansible_host); port: group_vars/all.yml (ansible_port)*",
        ]
    )


def test_a_dynamic_inventory_that_hangs_is_killed_whole_at_its_deadline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its child holding the output open (a helper it started) does not keep the run
    waiting past the deadline, nor running after it."""
    marker = tmp_path / "child.pid"
    script = tmp_path / "inventory.py"
    script.write_text(
        "#!/bin/sh\n"
        f"sleep 60 & echo $! > {marker}\n"  # a child that inherits the output pipe
        "sleep 60\n"
    )
    script.chmod(0o755)
    monkeypatch.setattr(ansible, "INVENTORY_TIMEOUT", 1.0)
    started = time.monotonic()
    with pytest.raises(InputError, match="did not finish within 1s"):
        ansible._json_output([str(script), "--list"], str(script), "the dynamic inventory")
    assert time.monotonic() - started < 10
    pid = int(marker.read_text())
    time.sleep(0.2)
    assert (
        not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
    )
