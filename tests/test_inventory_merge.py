"""Several inventory sources: --inventory more than once, AFTERBOOT_INVENTORY and
ANSIBLE_INVENTORY comma-separated (as openstack-ansible's rc file sets it), merged in
order as Ansible merges them."""

from __future__ import annotations

from pathlib import Path

import pytest

from afterboot.errors import InputError
from afterboot.inventory import commands
from afterboot.inventory.load import load_inventories

from .conftest import SAMPLES

FIRST = """[compute]
cmp01 ansible_host=10.0.0.1 ansible_user=first
[all:vars]
ansible_port=2200
"""
SECOND = """[compute]
cmp01 ansible_user=second
cmp02 ansible_host=10.0.0.2
[control]
ctl01 ansible_host=10.0.0.11
[all:vars]
ansible_port=2222
"""


@pytest.fixture
def two(tmp_path: Path) -> tuple[Path, Path]:
    first, second = tmp_path / "first.ini", tmp_path / "second.ini"
    first.write_text(FIRST)
    second.write_text(SECOND)
    return first, second


def check_merged(first: Path, second: Path) -> None:
    inv = load_inventories([first, second])
    cmp01 = inv.hosts["cmp01"]
    # the host's own address from the first source, its user from the later one
    assert (cmp01.address, cmp01.user, cmp01.port, cmp01.roles) == (
        "10.0.0.1",
        "second",
        2222,  # the later source's group variable
        ("compute",),
    )
    assert sorted(inv.hosts) == ["cmp01", "cmp02", "ctl01"]
    assert inv.hosts["ctl01"].roles == ("controller",)
    assert inv.source == f"{first},{second}"
    flipped = load_inventories([second, first])
    assert (flipped.hosts["cmp01"].user, flipped.hosts["cmp01"].port) == ("first", 2200)


def test_sources_merge_as_ansible_merges_them(two: tuple[Path, Path]) -> None:
    if commands.tool("ansible-inventory") is None:
        pytest.skip("ansible-core is not installed")
    check_merged(*two)


def test_sources_merge_the_same_without_ansible(
    two: tuple[Path, Path], without_ansible: None
) -> None:
    check_merged(*two)


def test_a_host_in_an_afterboot_source_is_the_later_sources_whole(
    two: tuple[Path, Path], tmp_path: Path
) -> None:
    own = tmp_path / "extra.yaml"
    own.write_text("hosts:\n  cmp01: {address: 10.9.9.9, roles: [compute], user: ops}\n")
    inv = load_inventories([*two, own])
    assert (inv.hosts["cmp01"].address, inv.hosts["cmp01"].user) == ("10.9.9.9", "ops")
    assert sorted(inv.hosts) == ["cmp01", "cmp02", "ctl01"]
    before = load_inventories([own, *two])
    assert before.hosts["cmp01"].user == "second"


def test_an_error_names_the_source_it_is_in(tmp_path: Path, without_ansible: None) -> None:
    good, bad = tmp_path / "good.ini", tmp_path / "bad.ini"
    good.write_text("[compute]\ncmp01\n")
    bad.write_text("[compute]\n\ncmp02 ansible_port=port\n")
    with pytest.raises(InputError) as exc:
        load_inventories([good, bad])
    assert str(exc.value) == f"{bad}:3: host cmp02: port 'port' is not a TCP port"


def test_repeated_inventory_options_are_merged_and_listed(
    suite: pytest.Pytester, two: tuple[Path, Path]
) -> None:
    first, second = two
    result = suite.runpytest(f"--inventory={first}", f"--inventory={second}", "--list-hosts")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        [
            f"inventory: {first},{second} (Ansible groups: no deployment tool's layout)",
            "cmp01 * 10.0.0.1 * 2222 * second *",
            "cmp02 * 10.0.0.2 *",
            "ctl01 * 10.0.0.11 *",
        ]
    )


def header(result: pytest.RunResult) -> str:
    return next(line for line in result.outlines if line.startswith("afterboot: "))


def test_ansible_inventory_is_the_last_fallback_and_skips_a_missing_source(
    suite: pytest.Pytester, two: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = two
    missing = suite.path / "etc" / "inventory.ini"  # openstack-ansible's optional one
    monkeypatch.setenv("ANSIBLE_INVENTORY", f"{first},{second},{missing}")
    listed = suite.runpytest("--list-hosts")
    assert listed.ret == pytest.ExitCode.OK
    listed.stdout.fnmatch_lines([f"inventory: {first},{second} *", "cmp01 * second *"])
    line = header(suite.runpytest("--collect-only"))
    assert f"inventory={first},{second} (from $ANSIBLE_INVENTORY (missing, skipped: " in line
    assert str(missing) in line
    monkeypatch.setenv("AFTERBOOT_INVENTORY", str(second))
    line = header(suite.runpytest("--collect-only"))
    assert f"inventory={second} (from $AFTERBOOT_INVENTORY)" in line
    line = header(suite.runpytest("--collect-only", f"--inventory={first}"))
    assert f"inventory={first} (from --inventory)" in line


def test_an_ini_inventory_comes_before_ansible_inventory(
    suite: pytest.Pytester, two: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = two
    monkeypatch.setenv("ANSIBLE_INVENTORY", str(first))
    suite.makeini(
        "[pytest]\naddopts = -p no:testinfra -p no:cacheprovider\n"
        f"afterboot_check_paths = tests_cloud\nafterboot_inventory = {first},{second}\n"
    )
    line = header(suite.runpytest("--collect-only"))
    assert f"inventory={first},{second} (from ini afterboot_inventory)" in line


@pytest.mark.parametrize(
    ("env", "args", "message"),
    [
        ({}, ["--inventory=first.ini", "--inventory=nowhere.ini"], "*/nowhere.ini: no such file*"),
        ({"AFTERBOOT_INVENTORY": "first.ini,nowhere.ini"}, [], "*/nowhere.ini: no such file*"),
        (
            {"ANSIBLE_INVENTORY": "/nowhere/a.ini,/nowhere/b.ini"},
            [],
            "ERROR: inventory (from $ANSIBLE_INVENTORY): /nowhere/a.ini, /nowhere/b.ini: no such "
            "file or directory",
        ),
    ],
)
def test_a_missing_source_is_one_line(
    suite: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    args: list[str],
    message: str,
) -> None:
    (suite.path / "first.ini").write_text(FIRST)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = suite.runpytest("--list-hosts", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.errlines if line.strip()]
    assert len(errors) == 1, errors
    result.stderr.fnmatch_lines([message])


def test_openstack_ansibles_sources_as_its_rc_file_names_them(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dynamic inventory's output, OSA's own inventory.ini (the deployment host) and a
    /etc/openstack_deploy/inventory.ini that does not exist."""
    osa = SAMPLES / "deployers" / "openstack-ansible"
    missing = suite.path / "openstack_deploy" / "inventory.ini"
    monkeypatch.setenv(
        "ANSIBLE_INVENTORY",
        f"{osa / 'openstack_inventory.json'},{osa / 'inventory.ini'},{missing}",
    )
    result = suite.runpytest("--list-hosts", "--host=infra1,localhost")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        [
            "inventory: *openstack_inventory.json,*inventory.ini (openstack-ansible's layout)",
            "infra1 * 172.29.236.11 * process * controller,block-storage,database,messaging,*",
            "localhost * local * - * - * not-checked(*",
        ]
    )
