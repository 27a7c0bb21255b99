"""Hostile and broken inventories: no value becomes an ssh option or a local command, and
bad input ends in one line (exit status 4), never a traceback, never a hang."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from afterboot.errors import InputError
from afterboot.inventory.load import load_inventory

CHECK = '''
import pytest

@pytest.mark.check("HOST-009", tier=1)
def test_answers(host):
    """The host runs a command."""
'''


def _marker(tmp_path: Path) -> Path:
    return tmp_path / "pwned"


@pytest.mark.parametrize(
    ("hosts", "where"),
    [
        ("  '-oProxyCommand=touch {m}': {{}}\n", ":3: host name '-oProxyCommand=touch"),
        ("  ctl: {{address: '-oProxyCommand=touch {m}'}}\n", ":3: host ctl: address '-oProxy"),
        ("  ctl: {{address: '10.0.0.1 -oProxyCommand=x'}}\n", ":3: host ctl: address '10.0.0.1 "),
        ("  ctl: {{jump: '-oProxyCommand=touch {m}'}}\n", ":3: host ctl: jump '-oProxyCommand"),
        ("  ctl: {{jump: 'a@b;touch {m}'}}\n", ":3: host ctl: jump 'a@b;touch"),
        ("  ctl: {{user: '-oProxyCommand=x'}}\n", ":3: host ctl: user '-oProxyCommand=x' is not"),
        ("  ctl: {{connection: docker, container: '-v/:/x'}}\n", ":3: host ctl: container '-v"),
        ("  ctl: {{address: {{a: 1}}}}\n", ":3: host ctl: address must be a string, not Line"),
        ("  ctl: {{address: [a, b]}}\n", ":3: host ctl: address must be a string, not list"),
        ("  ctl: {{port: 0}}\n", ":3: host ctl: port 0 is not a TCP port"),
        ("  ctl: {{port: [22]}}\n", ":3: host ctl: port [22] is not a TCP port"),
        ("  null: {{}}\n", ":3: invalid YAML: key null must be a string"),
        ("  1: {{}}\n", ":3: invalid YAML: key 1 must be a string"),
        ("  a/b: {{}}\n", ":3: host name 'a/b' is not a host name"),
        ("  ctl: {{}}\n  ctl: {{roles: [compute]}}\n", ":4: invalid YAML: duplicate key 'ctl'"),
    ],
)
def test_afterboot_yaml_refuses_hostile_values(tmp_path: Path, hosts: str, where: str) -> None:
    path = tmp_path / "inv.yaml"
    path.write_text("defaults: {connection: ssh}\nhosts:\n" + hosts.format(m=_marker(tmp_path)))
    with pytest.raises(InputError) as exc:
        load_inventory(path)
    assert str(exc.value).startswith(str(path) + where), str(exc.value)
    assert "\n" not in str(exc.value)


@pytest.mark.parametrize(
    "line",
    [
        "c1 ansible_host=-oProxyCommand=touch",
        "-oProxyCommand=touch ansible_host=10.0.0.1",
        "c1 ansible_user=-oProxyCommand=x",
        "c1 ansible_ssh_common_args='-J -oProxyCommand=x'",
    ],
)
def test_ansible_inventory_refuses_hostile_values(tmp_path: Path, line: str) -> None:
    path = tmp_path / "hosts.ini"
    path.write_text(f"[compute]\n{line}\n")
    with pytest.raises(InputError) as exc:
        load_inventory(path)
    assert str(exc.value).startswith(f"{path}:2: host "), str(exc.value)


def test_alias_bomb_is_refused_within_a_second(tmp_path: Path) -> None:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    path = tmp_path / "inv.yaml"
    path.write_text("\n".join(lines) + "\nhosts: {ctl: {roles: *a9}}\n")
    started = time.monotonic()
    with pytest.raises(InputError, match="expands to more than 100000 nodes"):
        load_inventory(path)
    assert time.monotonic() - started < 1


def test_recursive_alias_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "inv.yaml"
    path.write_text("hosts: &h {ctl: {roles: [compute]}, again: *h}\n")
    with pytest.raises(InputError, match="expands to more than"):
        load_inventory(path)


@pytest.mark.parametrize(
    "hosts",
    [
        "  '-oProxyCommand=touch {m}': {{}}\n",
        "  ctl: {{address: '-oProxyCommand=touch {m}'}}\n",
        "  ctl: {{jump: '-oProxyCommand=touch {m}'}}\n",
        "  ctl: {{address: {{a: 1}}}}\n",
        "  null: {{}}\n",
        "  x/y: {{}}\n",
        "  ctl: {{}}\n  ctl: {{}}\n",
    ],
)
def test_hostile_inventory_is_one_line_and_exit_4(
    suite: pytest.Pytester, tmp_path: Path, hosts: str
) -> None:
    suite.makepyfile(**{"tests_cloud/test_x.py": CHECK})
    marker = _marker(tmp_path)
    (suite.path / "inv.yaml").write_text("hosts:\n" + hosts.format(m=marker))
    result = suite.runpytest("--inventory=inv.yaml", "--timeout=2")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.errlines if line.strip()]
    assert len(errors) == 1, errors
    assert errors[0].startswith("ERROR: inventory: "), errors
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    assert not marker.exists()


@pytest.mark.parametrize(("value", "ok"), [("0.0001", False), ("0.4", False), ("0.5", True)])
def test_timeout_has_a_minimum(suite: pytest.Pytester, value: str, ok: bool) -> None:
    suite.makepyfile(**{"tests_cloud/test_x.py": CHECK.replace("(host)", "()")})
    result = suite.runpytest(f"--timeout={value}")
    if ok:
        assert result.ret == pytest.ExitCode.OK
        return
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: timeout (from --timeout): {value} is out of range*"])


def test_alias_bomb_run_ends_in_one_line(suite: pytest.Pytester) -> None:
    suite.makepyfile(**{"tests_cloud/test_x.py": CHECK})
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    (suite.path / "inv.yaml").write_text("\n".join(lines) + "\nhosts: {ctl: {roles: *a9}}\n")
    started = time.monotonic()
    result = suite.runpytest_subprocess("--inventory=inv.yaml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.errlines if line.strip()]
    assert errors == [
        f"ERROR: inventory: {suite.path / 'inv.yaml'}:1: YAML expands to more than 100000 "
        "nodes (aliases?); refused"
    ]
    assert time.monotonic() - started < 10  # a whole pytest start-up, not 50 s and 3 GB


@pytest.mark.parametrize(
    "services",
    ['["\\e]0;owned\\a"]', '["nova-compute\\e[31m"]', "['a b']", "['-oProxyCommand=x']"],
)
def test_a_service_name_with_control_characters_or_spaces_is_one_line(
    tmp_path: Path, services: str
) -> None:
    """A service or role name reaches the terminal, remediation.sh and Allure: only name
    characters are accepted, and the refused one is shown escaped."""
    path = tmp_path / "inv.yaml"
    path.write_text(f"hosts:\n  cmp-01: {{roles: [compute], services: {services}}}\n")
    with pytest.raises(InputError, match="is no name") as exc:
        load_inventory(path)
    assert "\x1b" not in str(exc.value)
    assert "\x07" not in str(exc.value)
    assert len(str(exc.value).splitlines()) == 1


def test_service_names_and_globs_of_real_sites_are_names(tmp_path: Path) -> None:
    path = tmp_path / "inv.yaml"
    path.write_text(
        "hosts:\n  stor-01: {roles: [object-storage], services: "
        "[ceph-osd@0, 'ceph-osd@[0-9]', openstack-swift-object.service, 'nova-*']}\n"
    )
    spec = load_inventory(path).hosts["stor-01"]
    assert spec.services == (
        "ceph-osd@0",
        "ceph-osd@[0-9]",
        "openstack-swift-object.service",
        "nova-*",
    )
