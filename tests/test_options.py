"""Options: precedence CLI > environment > ini > default, the header, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

CHECK = '''
import pytest

@pytest.mark.check("DB-001", tier=10)
def test_a():
    """The database answers."""
'''

INVENTORY = "hosts:\n  ctl:\n    address: 127.0.0.1\n    roles: [controller]\n"


def header(result: pytest.RunResult) -> str:
    lines = [line for line in result.outlines if line.startswith("afterboot: ")]
    assert len(lines) == 1, result.outlines
    return lines[0]


def test_defaults_are_shown_with_their_source(suite: pytest.Pytester) -> None:
    suite.makepyfile(**{"tests_cloud/test_x.py": CHECK})
    line = header(suite.runpytest())
    assert "phase=post-reboot (from default)" in line
    assert "timeout=10 (from default)" in line
    assert "inventory=(none) (from default)" in line
    assert "role=(all) (from default)" in line


def test_cli_beats_env_beats_ini(suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    suite.makepyfile(**{"tests_cloud/test_x.py": CHECK})
    suite.makeini(
        "[pytest]\naddopts = -p no:testinfra\nafterboot_check_paths = tests_cloud\n"
        "afterboot_phase = periodic\nafterboot_timeout = 3\nafterboot_os_cloud = from-ini\n"
    )
    line = header(suite.runpytest())
    assert "phase=periodic (from ini afterboot_phase)" in line
    assert "os-cloud=from-ini (from ini afterboot_os_cloud)" in line
    monkeypatch.setenv("AFTERBOOT_PHASE", "post-restore")
    monkeypatch.setenv("OS_CLOUD", "from-env")
    line = header(suite.runpytest())
    assert "phase=post-restore (from $AFTERBOOT_PHASE)" in line
    assert "os-cloud=from-env (from $OS_CLOUD)" in line
    line = header(
        suite.runpytest("--phase", "post-upgrade", "--os-cloud", "from-cli", "--timeout", "2.5")
    )
    assert "phase=post-upgrade (from --phase)" in line
    assert "os-cloud=from-cli (from --os-cloud)" in line
    assert "timeout=2.5 (from --timeout)" in line


def test_roles_and_hosts_accept_commas_and_repeats(suite: pytest.Pytester) -> None:
    suite.makepyfile(**{"tests_cloud/test_x.py": CHECK})
    (suite.path / "inv.yaml").write_text(
        INVENTORY.replace(
            "ctl:",
            "ctl:\n    user: root\n    roles: [controller]\n  cmp:\n    roles: [compute]\n  ctl2:",
        )
    )
    line = header(
        suite.runpytest(
            "--inventory=inv.yaml",
            "--role",
            "compute,controller",
            "--role",
            "compute",
            "--host",
            "ctl",
        )
    )
    assert "role=compute,controller (from --role)" in line
    assert "host=ctl (from --host)" in line


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--phase", "after-lunch"],
            "ERROR: phase (from --phase): unknown phase 'after-lunch'; choose from post-reboot,*",
        ),
        (["--timeout", "soon"], "ERROR: timeout (from --timeout): 'soon' is not a number*"),
        (["--timeout", "0"], "ERROR: timeout (from --timeout): 0 is out of range*"),
        (["--role", "kitchen"], "ERROR: role (from --role): unknown role 'kitchen'*"),
        (
            ["--inventory=nowhere.yaml"],
            "ERROR: inventory (from --inventory): */nowhere.yaml: no such file or directory",
        ),
    ],
)
def test_bad_values_give_one_line(suite: pytest.Pytester, args: list[str], message: str) -> None:
    suite.makepyfile(**{"tests_cloud/test_x.py": CHECK})
    result = suite.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.errlines if line.strip()]
    assert len(errors) == 1, errors
    result.stderr.fnmatch_lines([message])


def test_env_value_is_validated_and_named(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    suite.makepyfile(**{"tests_cloud/test_x.py": CHECK})
    monkeypatch.setenv("AFTERBOOT_PHASE", "whenever")
    result = suite.runpytest()
    result.stderr.fnmatch_lines(["ERROR: phase (from $AFTERBOOT_PHASE): unknown phase 'whenever'*"])


def test_unknown_host_limit_is_refused(suite: pytest.Pytester) -> None:
    suite.makepyfile(**{"tests_cloud/test_x.py": CHECK})
    (suite.path / "inv.yaml").write_text(INVENTORY)
    result = suite.runpytest("--inventory=inv.yaml", "--host", "nope")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: --host nope (from --host): not in inventory */inv.yaml (hosts: ctl)"]
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("hosts:\n  ctl: [\n", "ERROR: inventory: */inv.yaml:3: invalid YAML*"),
        (
            "hosts:\n  ctl:\n    roles: [compute]\n    colour: red\n",
            "ERROR: inventory: */inv.yaml:4: host ctl: unknown key 'colour'",
        ),
        (
            "hosts:\n  ctl:\n    connection: telnet\n",
            "ERROR: inventory: */inv.yaml:3: host ctl: unknown connection 'telnet'*",
        ),
        (
            "defaults:\n  port: 99999\nhosts:\n  ctl: {}\n",
            "ERROR: inventory: */inv.yaml:2: host ctl: port 99999 is not a TCP port",
        ),
        (
            "[compute]\nc1 ansible_host=10.0.0.1 oops\n",
            "ERROR: inventory: */inv.yaml:2: host c1: expected key=value, got 'oops'",
        ),
    ],
)
def test_malformed_inventory_gives_file_line_and_problem(
    suite: pytest.Pytester, text: str, message: str
) -> None:
    suite.makepyfile(**{"tests_cloud/test_x.py": CHECK})
    Path(suite.path / "inv.yaml").write_text(text)
    result = suite.runpytest("--inventory=inv.yaml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    assert "Traceback" not in result.stderr.str()
