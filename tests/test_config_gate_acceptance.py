"""The configuration gate, acceptance layer: real pytester runs against hosts whose
configuration lives in a temporary directory (``connection: local`` with ``paths:``).

Each phase says what it needs in one line (exit status 4); ``--write-baseline`` writes the
same baseline twice on an unchanged cloud; the gate (CONF-002) names host, file, section
and option, tells a drifted host from a role changed as a whole, and never shows a secret.
"""

from __future__ import annotations

import filecmp
import shutil
from pathlib import Path

import pytest

from .conftest import ROOT
from .test_baseline import PASSWORD, nova

NEW_PASSWORD = "Ch4ngedSecret-0815"


def _site(suite: pytest.Pytester, hosts: tuple[str, ...] = ("cmp1", "cmp2")) -> Path:
    lines = ["defaults:", "  connection: local", "hosts:"]
    for i, name in enumerate(hosts, start=21):
        etc = suite.path / "site" / name / "etc" / "nova"
        etc.mkdir(parents=True, exist_ok=True)
        (etc / "nova.conf").write_text(nova(name, f"10.0.0.{i}"))
        lines.append(f"  {name}: {{roles: [compute], paths: {{/etc/nova: {etc}}}}}")
    inventory = suite.path / "inventory.yaml"
    inventory.write_text("\n".join(lines) + "\n")
    return inventory


def _set(suite: pytest.Pytester, host: str, **changes: str) -> None:
    ip = {"cmp1": "10.0.0.21", "cmp2": "10.0.0.22"}[host]
    (suite.path / "site" / host / "etc/nova/nova.conf").write_text(nova(host, ip, **changes))


def _with_gate(suite: pytest.Pytester) -> None:
    shutil.copy(ROOT / "tests_cloud" / "test_config.py", suite.path / "tests_cloud")


def _everything(suite: pytest.Pytester, result: pytest.RunResult) -> str:
    texts = [result.stdout.str(), result.stderr.str()]
    for f in suite.path.rglob("*"):
        if f.is_file() and "site" not in f.relative_to(suite.path).parts:
            texts.append(f.read_text(errors="replace"))
    return "\n".join(texts)


def test_config_gate_without_baseline_is_one_usage_line(suite: pytest.Pytester) -> None:
    result = suite.runpytest("--phase=config-gate")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.stderr.lines if line.strip()]
    assert len(errors) == 1, errors
    assert "pytest --write-baseline=DIR" in errors[0]
    assert "--baseline=DIR" in errors[0]


def test_config_gate_with_a_missing_or_foreign_baseline(suite: pytest.Pytester) -> None:
    result = suite.runpytest("--phase=config-gate", "--baseline=nowhere")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*baseline (from --baseline)*nowhere: no such directory*"])
    (suite.path / "handmade").mkdir()
    result = suite.runpytest("--phase=config-gate", "--baseline=handmade")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*no baseline.yaml; write a baseline with*--write-baseline*"])


def test_pre_maintenance_needs_the_host_going_down(suite: pytest.Pytester) -> None:
    inventory = _site(suite)
    result = suite.runpytest(f"--inventory={inventory}", "--phase=pre-maintenance")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.stderr.lines if line.strip()]
    assert len(errors) == 1, errors
    assert "needs --host" in errors[0]
    result = suite.runpytest(f"--inventory={inventory}", "--phase=pre-maintenance", "--host=cmp1")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED  # no check here; no usage error


def test_baseline_written_twice_is_identical_and_holds_no_secret(suite: pytest.Pytester) -> None:
    inventory = _site(suite)
    result = suite.runpytest(f"--inventory={inventory}", "--write-baseline=base")
    assert result.ret == 0, result.stdout.str()
    result.stdout.fnmatch_lines(
        ["*baseline compute: 1 file(s) from cmp1, cmp2*", "*baseline written to*base*"]
    )
    written = (suite.path / "base/compute/etc/nova/nova.conf.yaml").read_text()
    assert "my_ip:" in written
    assert "cmp2: 10.0.0.22" in written
    assert "virt_type: qemu" in written
    shutil.copytree(suite.path / "base", suite.path / "first")
    again = suite.runpytest(f"--inventory={inventory}", "--write-baseline=base")
    assert again.ret == 0
    cmp = filecmp.dircmp(suite.path / "first", suite.path / "base")
    assert not cmp.diff_files
    assert not cmp.left_only
    assert not cmp.right_only
    for sub in cmp.subdirs.values():
        assert not sub.diff_files
    assert filecmp.cmp(
        suite.path / "first/compute/etc/nova/nova.conf.yaml",
        suite.path / "base/compute/etc/nova/nova.conf.yaml",
        shallow=False,
    )
    assert PASSWORD not in _everything(suite, result) + _everything(suite, again)


def test_baseline_not_written_when_a_host_does_not_answer(suite: pytest.Pytester) -> None:
    inventory = _site(suite)
    with inventory.open("a") as f:
        f.write(
            "  cmp9: {roles: [compute], connection: ssh, address: 127.0.0.1, port: 9, user: x}\n"
        )
    result = suite.runpytest(f"--inventory={inventory}", "--timeout=2", "--write-baseline=base")
    assert result.ret == 3
    result.stdout.fnmatch_lines(["*baseline not written: host cmp9: configuration not read*"])
    assert not (suite.path / "base").exists()


def _gate(suite: pytest.Pytester, inventory: Path) -> pytest.RunResult:
    return suite.runpytest(
        f"--inventory={inventory}", "--phase=config-gate", "--baseline=base", "-rA"
    )


def test_gate_green_then_host_drifted_then_role_changed(suite: pytest.Pytester) -> None:
    inventory = _site(suite)
    _with_gate(suite)
    assert suite.runpytest(f"--inventory={inventory}", "--write-baseline=base").ret == 0

    green = _gate(suite, inventory)
    assert green.ret == 0, green.stdout.str()
    green.stdout.fnmatch_lines(["PASSED*test_config_matches_baseline[[]compute[]]*"])

    _set(suite, "cmp2", DEFAULT__reserved_host_memory_mb="1024")
    drifted = _gate(suite, inventory)
    assert drifted.ret == 1  # CONF-002's severity is normal
    drifted.stdout.fnmatch_lines(
        [
            "*cmp2 /etc/nova/nova.conf [[]DEFAULT[]] reserved_host_memory_mb changed: "
            "baseline 512, live 1024 (host drifted: re-deploy its config)*"
        ]
    )
    assert "cmp1 /etc/nova/nova.conf" not in drifted.stdout.str()

    _set(suite, "cmp1", DEFAULT__reserved_host_memory_mb="1024")
    changed = _gate(suite, inventory)
    assert changed.ret == 1
    changed.stdout.fnmatch_lines(
        [
            "*cmp1 /etc/nova/nova.conf [[]DEFAULT[]] reserved_host_memory_mb*role changed, not in "
            "baseline: update the baseline in the same merge request*"
        ]
    )
    assert "(host drifted: re-deploy" not in changed.stdout.str()

    # the change reviewed: the baseline written again in the same merge request -> green
    assert suite.runpytest(f"--inventory={inventory}", "--write-baseline=base").ret == 0
    assert _gate(suite, inventory).ret == 0


def test_changed_secret_is_reported_without_its_value(suite: pytest.Pytester) -> None:
    inventory = _site(suite)
    _with_gate(suite)
    assert suite.runpytest(f"--inventory={inventory}", "--write-baseline=base").ret == 0
    _set(suite, "cmp1", keystone_authtoken__password=NEW_PASSWORD)
    result = _gate(suite, inventory)
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "*cmp1 /etc/nova/nova.conf [[]keystone_authtoken[]] password changed: baseline "
            "(secret), live changed (host drifted*"
        ]
    )
    everything = _everything(suite, result)
    assert NEW_PASSWORD not in everything
    assert PASSWORD not in everything
    assert "reports" in {p.name for p in suite.path.iterdir()}  # the reports were searched too


def test_gate_remediation_follows_the_verdict(suite: pytest.Pytester) -> None:
    inventory = _site(suite)
    _with_gate(suite)
    assert suite.runpytest(f"--inventory={inventory}", "--write-baseline=base").ret == 0
    _set(suite, "cmp2", libvirt__virt_type="kvm")
    result = _gate(suite, inventory)
    out = result.stdout.str()
    assert "cmp2 drifted: /etc/nova/nova.conf [libvirt] virt_type is kvm" in out
    assert "ansible-playbook site.yml --limit cmp2 --check --diff" in out
    assert "--write-baseline=<baseline dir>" not in out


def test_gate_says_the_same_under_xdist(suite: pytest.Pytester) -> None:
    inventory = _site(suite)
    _with_gate(suite)
    assert suite.runpytest(f"--inventory={inventory}", "--write-baseline=base", "-n", "2").ret == 0
    _set(suite, "cmp1", libvirt__virt_type="kvm")
    result = suite.runpytest(
        f"--inventory={inventory}", "--phase=config-gate", "--baseline=base", "-n", "2"
    )
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        ["*cmp1 /etc/nova/nova.conf [[]libvirt[]] virt_type changed: baseline qemu, live kvm*"]
    )
