"""How an Ansible inventory source reaches afterboot: ansible-inventory found beside the
interpreter whatever PATH says, never a partial read without it, host ranges bounded
before Ansible sees them, inline vault values, and one jump host for ssh."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from afterboot.errors import InputError
from afterboot.inventory import ansible, commands, ranges
from afterboot.inventory.load import load_inventory
from afterboot.inventory.model import HostSpec, merge_jumps
from afterboot.transport.connections import Remote

from .conftest import SAMPLES


def one_line(exc: pytest.ExceptionInfo[InputError]) -> str:
    message = str(exc.value)
    assert "\n" not in message
    return message


@pytest.fixture
def ansible_core() -> str:
    found = commands.tool("ansible-inventory")
    if found is None:
        pytest.skip("ansible-core is not installed (pip install 'afterboot[ansible]')")
    return found


# -- ansible-inventory beside the interpreter --------------------------------------------


def test_ansible_inventory_is_found_beside_the_interpreter_whatever_path(
    ansible_core: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    assert commands.tool("ansible-inventory") == str(
        Path(sys.executable).parent / "ansible-inventory"
    )
    inv = load_inventory(SAMPLES / "ansible-dir")  # a directory: only Ansible reads it
    assert inv.hosts["ctl01"].address == "10.0.0.11"


def test_the_one_beside_the_interpreter_comes_before_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    venv, elsewhere = tmp_path / "venv" / "bin", tmp_path / "elsewhere"
    for folder in (venv, elsewhere):
        folder.mkdir(parents=True)
        tool = folder / "ansible-inventory"
        tool.write_text("#!/bin/sh\nexit 0\n")
        tool.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(venv / "python"))
    monkeypatch.setenv("PATH", str(elsewhere))
    assert commands.tool("ansible-inventory") == str(venv / "ansible-inventory")
    (venv / "ansible-inventory").unlink()
    assert commands.tool("ansible-inventory") == str(elsewhere / "ansible-inventory")
    monkeypatch.setenv("PATH", "/nonexistent")
    assert commands.tool("ansible-inventory") is None


@pytest.mark.parametrize(
    ("name", "text", "beside"),
    [
        ("hosts.ini", "[compute]\ncmp01\n", "group_vars"),
        ("hosts.yml", "all:\n  hosts:\n    cmp01:\n", "host_vars"),
        ("inventory.py", "#!/bin/sh\necho '{}'\n", "group_vars"),
    ],
)
def test_a_source_beside_vars_directories_is_never_read_without_them(
    tmp_path: Path, without_ansible: None, name: str, text: str, beside: str
) -> None:
    (tmp_path / beside).mkdir()
    (tmp_path / beside / "all.yml").write_text("ansible_user: kolla\n")
    path = tmp_path / name
    path.write_text(text)
    path.chmod(0o755 if name.endswith(".py") else 0o644)
    with pytest.raises(InputError) as exc:
        load_inventory(path)
    assert one_line(exc) == (
        f"{path}: {beside}/ beside this inventory is read through ansible-inventory, which "
        "is not installed (pip install 'afterboot[ansible]')"
    )


def test_a_source_beside_vars_directories_is_read_with_them(
    tmp_path: Path, ansible_core: str
) -> None:
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars" / "all.yml").write_text("ansible_user: kolla\n")
    path = tmp_path / "hosts.ini"
    path.write_text("[compute]\ncmp01\n")
    assert load_inventory(path).hosts["cmp01"].user == "kolla"


# -- host ranges bounded before Ansible --------------------------------------------------


@pytest.fixture
def ansible_must_not_run(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: object) -> None:
        raise AssertionError("ansible-inventory was run")

    monkeypatch.setattr(ansible, "through_ansible", refuse)
    monkeypatch.setattr(commands, "tool", lambda name: f"/opt/{name}")


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            "hosts.ini",
            "[compute]\ncmp[0:99999999]\n",
            ":2: host pattern 'cmp[0:99999999]' expands to more than 10000 hosts",
        ),
        (
            "hosts.ini",
            "[compute]\nc[a:z][0:9999]:2222 ansible_user=x\n",
            ":2: host pattern 'c[a:z][0:9999]:2222' expands to more than 10000 hosts",
        ),
        (
            "hosts.ini",
            "".join(f"[g{i}]\ncmp{i}-[00001:10000]\n" for i in range(11)),
            ":22: the inventory names more than 100000 hosts (at pattern 'cmp10-[00001:10000]')",
        ),
        (
            "hosts.yml",
            "all:\n  children:\n    compute:\n      hosts:\n        cmp[0:99999999999999999999]:\n",
            ":5: host pattern 'cmp[0:99999999999999999999]' expands to more than 10000 hosts",
        ),
        (
            "hosts.yml",
            'all:\n  hosts:\n    "cmp[1:20000]": {ansible_user: x}\n',
            ":3: host pattern 'cmp[1:20000]' expands to more than 10000 hosts",
        ),
    ],
)
def test_a_huge_range_is_refused_before_ansible_sees_it(
    tmp_path: Path, ansible_must_not_run: None, name: str, text: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    started = time.monotonic()
    with pytest.raises(InputError) as exc:
        load_inventory(path)
    assert time.monotonic() - started < 2
    assert one_line(exc) == f"{path}{message}"


def test_a_huge_range_in_a_directory_is_refused_before_ansible(
    tmp_path: Path, ansible_must_not_run: None
) -> None:
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars" / "all.yml").write_text("note: '[0:99999999]'\n")
    (tmp_path / "01-hosts").write_text("[compute]\ncmp01\n")
    (tmp_path / "site" / "more").mkdir(parents=True)
    (tmp_path / "site" / "more" / "hosts.ini").write_text("[compute]\n\nx[1:200000]\n")
    with pytest.raises(InputError) as exc:
        load_inventory(tmp_path)
    assert one_line(exc) == (
        f"{tmp_path}/site/more/hosts.ini:3: host pattern 'x[1:200000]' expands to more than "
        "10000 hosts"
    )


def test_counting_a_range_builds_nothing() -> None:
    started = time.monotonic()
    assert ranges.count("c[1:999999999999999999]x[a:z]") > ranges.HOSTS_LIMIT
    assert ranges.count("cmp[01:06:2]:2222") == 3
    assert ranges.count("rack-[a:c]-[1:4]") == 12
    assert ranges.count("plain") == 1
    assert time.monotonic() - started < 0.1


def test_ranges_within_bounds_still_go_to_ansible(tmp_path: Path, ansible_core: str) -> None:
    path = tmp_path / "hosts.ini"
    path.write_text("[compute]\ncmp[0001:2000]\n")
    assert len(load_inventory(path).hosts) == 2000


# -- inline vault values -----------------------------------------------------------------


def encrypt(value: str, name: str, password: Path) -> str:
    vault = commands.tool("ansible-vault")
    if vault is None:
        pytest.skip("ansible-core is not installed")
    done = subprocess.run(
        [vault, "encrypt_string", "--vault-password-file", str(password), value, "--name", name],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def indented(text: str, spaces: int) -> str:
    return "".join(" " * spaces + line + "\n" for line in text.splitlines())


@pytest.fixture
def password(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "vault-pass"
    path.write_text("s3cret\n")
    monkeypatch.delenv("ANSIBLE_VAULT_PASSWORD_FILE", raising=False)
    monkeypatch.chdir(tmp_path)  # no ansible.cfg of the checkout's
    return path


def vaulted_site(tmp_path: Path, password: Path) -> Path:
    """A YAML inventory whose cmp01 address is vaulted, and a group_vars password of a
    service (vaulted, never needed)."""
    site = tmp_path / "site"
    (site / "group_vars").mkdir(parents=True)
    (site / "group_vars" / "all.yml").write_text(
        "ansible_user: kolla\n" + encrypt("hunter2", "database_password", password)
    )
    (site / "hosts.yml").write_text(
        "all:\n  children:\n    compute:\n      hosts:\n        cmp01:\n"
        + indented(encrypt("10.0.0.5", "ansible_host", password), 10)
        + "        cmp02:\n          ansible_host: 10.0.0.6\n"
    )
    return site / "hosts.yml"


def test_a_vaulted_value_afterboot_does_not_need_is_left_alone(
    tmp_path: Path, password: Path, ansible_core: str
) -> None:
    site = vaulted_site(tmp_path, password)
    site.write_text(site.read_text().replace("ansible_host: !vault", "db_password: !vault"))
    inv = load_inventory(site)
    assert (inv.hosts["cmp01"].address, inv.hosts["cmp01"].user) == ("cmp01", "kolla")


def test_a_vaulted_address_without_the_password_is_one_line(
    tmp_path: Path, password: Path, ansible_core: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = vaulted_site(tmp_path, password)
    started = time.monotonic()
    with pytest.raises(InputError) as exc:
        load_inventory(site)
    message = one_line(exc)
    assert message == (
        f"{site}:5: host cmp01: ansible_host is vault-encrypted (!vault) and ansible-vault "
        "could not decrypt it (no vault password given); give afterboot the vault password "
        "as Ansible takes it: ANSIBLE_VAULT_PASSWORD_FILE, or vault_password_file in ansible.cfg"
    )
    assert time.monotonic() - started < 30
    wrong = tmp_path / "wrong-pass"
    wrong.write_text("nope\n")
    monkeypatch.setenv("ANSIBLE_VAULT_PASSWORD_FILE", str(wrong))
    with pytest.raises(InputError) as exc:
        load_inventory(site)
    assert "could not decrypt it (Decryption failed (no vault secrets were found that could " in (
        one_line(exc)
    )


def test_a_vaulted_address_is_decrypted_with_the_password(
    tmp_path: Path, password: Path, ansible_core: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = vaulted_site(tmp_path, password)
    monkeypatch.setenv("ANSIBLE_VAULT_PASSWORD_FILE", str(password))
    inv = load_inventory(site)
    assert inv.hosts["cmp01"].address == "10.0.0.5"
    assert inv.hosts["cmp02"].address == "10.0.0.6"
    assert inv.hosts["cmp01"].user == "kolla"


def test_vaulted_group_vars_afterboot_needs_are_decrypted_once(
    tmp_path: Path, password: Path, ansible_core: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    (site / "group_vars").mkdir(parents=True)
    (site / "group_vars" / "all.yml").write_text(encrypt("kolla", "ansible_user", password))
    (site / "hosts.ini").write_text("[compute]\ncmp[01:20]\n")
    monkeypatch.setenv("ANSIBLE_VAULT_PASSWORD_FILE", str(password))
    runs: list[list[str]] = []
    run = commands.run_bounded

    def counted(argv: list[str], env: dict[str, str], timeout: float) -> object:
        runs.append(argv)
        return run(argv, env, timeout)

    monkeypatch.setattr("afterboot.inventory.vault.run_bounded", counted)
    inv = load_inventory(site / "hosts.ini")
    assert {h.user for h in inv.hosts.values()} == {"kolla"}
    assert len(runs) == 1  # twenty hosts, one ciphertext, one ansible-vault


def test_a_vaulted_value_read_by_hand_without_ansible_is_one_line(
    tmp_path: Path, without_ansible: None
) -> None:
    path = tmp_path / "hosts.yml"
    path.write_text(
        "all:\n  hosts:\n    cmp01:\n      db_password: !vault |\n"
        "        $ANSIBLE_VAULT;1.1;AES256\n        3132\n"
        "    cmp02:\n      ansible_user: !vault |\n"
        "        $ANSIBLE_VAULT;1.1;AES256\n        3334\n"
    )
    with pytest.raises(InputError) as exc:
        load_inventory(path)
    assert one_line(exc) == (
        f"{path}:7: host cmp02: ansible_user is vault-encrypted (!vault); afterboot decrypts it "
        "with ansible-vault, which is not installed (pip install 'afterboot[ansible]'), and the "
        "vault password (ANSIBLE_VAULT_PASSWORD_FILE)"
    )
    path.write_text(path.read_text().replace("ansible_user: !vault", "other: !vault"))
    assert load_inventory(path).hosts["cmp02"].user is None  # not needed: never decrypted


# -- one jump host -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("jump", "args", "expected"),
    [
        (None, ["-o", "ProxyJump=ops@bastion"], ("ops@bastion", ())),
        (None, ["-J", "ops@bastion", "-o", "X=1"], ("ops@bastion", ("-o", "X=1"))),
        (None, ["-oProxyJump=a", "-Jb"], ("a,b", ())),
        ("inv@gate", ["-J", "a,b", "-o", "proxyjump c"], ("inv@gate,a,b,c", ())),
        ("a", ["-o", "ProxyJump=a"], ("a", ())),  # one hop named twice is one hop
        (None, ["-o", "ProxyJump=none", "-p", "22"], (None, ("-p", "22"))),
        (
            None,
            ["-o", "ProxyCommand=ssh -W %h:%p b"],
            (None, ("-o", "ProxyCommand=ssh -W %h:%p b")),
        ),
    ],
)
def test_jumps_merge_into_one(
    jump: str | None, args: list[str], expected: tuple[str | None, tuple[str, ...]]
) -> None:
    assert merge_jumps(jump, args) == expected


def test_common_and_extra_args_jumps_and_the_inventory_jump_are_one_j(
    tmp_path: Path, without_ansible: None
) -> None:
    path = tmp_path / "hosts.ini"
    path.write_text(
        "[compute]\n"
        "cmp01 ansible_ssh_extra_args='-o ProxyJump=inner@hop2 -o ServerAliveInterval=5'\n"
        "cmp02 afterboot_jump=admin@gate\n"
        "[all:vars]\n"
        "ansible_ssh_common_args='-J ops@bastion'\n"
    )
    inv = load_inventory(path)
    cmp01, cmp02 = inv.hosts["cmp01"], inv.hosts["cmp02"]
    assert (cmp01.jump, cmp01.ssh_args) == (
        "ops@bastion,inner@hop2",
        ("-o", "ServerAliveInterval=5"),
    )
    assert (cmp02.jump, cmp02.ssh_args) == ("admin@gate,ops@bastion", ())


def test_ssh_is_given_one_j(control_dir: str) -> None:
    spec = HostSpec("cmp01", jump="inv@gate", ssh_args=("-o", "ProxyJump=ops@bastion", "-J", "x"))
    remote = Remote(spec, timeout=5, control_dir=control_dir)
    argv = remote.backend.ssh_argv("true")  # type: ignore[attr-defined]
    assert argv.count("-J") == 1
    assert argv[argv.index("-J") + 1] == "inv@gate,ops@bastion,x"
    assert not any("ProxyJump" in word for word in argv)


def test_a_hostile_jump_in_ssh_arguments_is_refused(tmp_path: Path, without_ansible: None) -> None:
    path = tmp_path / "hosts.ini"
    path.write_text("[compute]\nc1 ansible_ssh_common_args='-J -oProxyCommand=x'\n")
    with pytest.raises(InputError) as exc:
        load_inventory(path)
    assert one_line(exc).startswith(f"{path}:2: host c1: jump '-oProxyCommand=x' is not a ")


def test_a_dynamic_script_is_still_run_without_ansible(
    tmp_path: Path, without_ansible: None
) -> None:
    """The hand path still runs a dynamic inventory (python3 from PATH, as Ansible would)."""
    script = tmp_path / "inv.py"
    script.write_text(
        "#!/usr/bin/env python3\nimport json\n"
        'print(json.dumps({"compute": {"hosts": ["c1"]}, "_meta": {"hostvars": {}}}))\n'
    )
    script.chmod(0o755)
    assert list(load_inventory(script).hosts) == ["c1"]
    assert os.access(script, os.X_OK)
