"""``--prometheus=FILE``: a node_exporter textfile, checked against the text format's rules
(serial and ``-n 2``), written atomically, keeping a failing check's last success."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from afterboot.reports.textfile import Result, escape, parse_labels, render, unescape

CHECKS = '''
import os
import pytest

@pytest.mark.check("NOVA-005", tier=5, roles=("compute",))
def test_instances_running(host):
    """Active instances run."""
    assert os.environ.get("FAIL") != host.name, "instance shut off"

@pytest.mark.check("PERIODIC-003", tier=99)
def test_quota():
    """Quota fits."""
'''

INVENTORY = """\
defaults:
  connection: local
hosts:
  cmp-01: {roles: [compute]}
  cmp-02: {roles: [compute]}
"""

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(
    rf"^(?P<name>{NAME})(?:\{{(?P<labels>(?:{LABEL})(?:,{LABEL})*,?)?\}})?"
    r" (?P<value>[-+]?(?:\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|Inf|NaN))(?: -?\d+)?$"
)
OUTCOME = "afterboot_check_outcome"
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")


def parse(text: str) -> dict[str, dict[frozenset[tuple[str, str]], float]]:
    """The exposition format's rules: lines end in \\n; ``# HELP``/``# TYPE`` at most once
    per metric and TYPE before its samples; a metric's samples are contiguous; label names
    and values well-formed; no series twice."""
    assert text.endswith("\n")
    metrics: dict[str, dict[frozenset[tuple[str, str]], float]] = {}
    typed: set[str] = set()
    helped: set[str] = set()
    done: set[str] = set()
    current = ""
    for line in text.splitlines():
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                name = parts[2]
                assert re.fullmatch(NAME, name), line
                seen = helped if parts[1] == "HELP" else typed
                assert name not in seen, f"second {parts[1]} for {name}"
                seen.add(name)
                if parts[1] == "TYPE":
                    assert parts[3] in TYPES, line
                    assert name not in metrics, f"TYPE after samples of {name}"
            continue
        assert line.strip(), "blank line"
        m = SAMPLE.match(line)
        assert m is not None, f"not a sample line: {line!r}"
        name = m.group("name")
        if name != current:
            assert name not in done, f"samples of {name} are not contiguous"
            if current:
                done.add(current)
            current = name
        labels = frozenset(parse_labels(m.group("labels") or "").items())
        series = metrics.setdefault(name, {})
        assert labels not in series, f"duplicate series {line}"
        series[labels] = float(m.group("value"))
    return metrics


def _value(
    metrics: dict[str, dict[frozenset[tuple[str, str]], float]], name: str, **labels: str
) -> float:
    found = [v for ls, v in metrics[name].items() if set(labels.items()) <= ls]
    assert len(found) == 1, (name, labels, found)
    return found[0]


def test_label_values_are_escaped_and_read_back() -> None:
    nasty = 'a "quoted"\\path\nline'
    assert unescape(escape(nasty)) == nasty
    text = render([Result("X-001", nasty, "4", "minor", "failed", 0.5)], "periodic", 1.0, {})
    metrics = parse(text)
    assert _value(metrics, "afterboot_check_outcome", host=nasty, outcome="failed") == 1


@pytest.fixture
def site(suite: pytest.Pytester) -> pytest.Pytester:
    suite.makefile(".yaml", inventory=INVENTORY)
    suite.makeini(
        "[pytest]\naddopts = -p no:testinfra -p no:cacheprovider\n"
        "afterboot_check_paths = tests_cloud\nafterboot_inventory = inventory.yaml\n"
        "afterboot_phase = periodic\n"
    )
    suite.makepyfile(**{"tests_cloud/test_x.py": CHECKS})
    suite.mkdir("textfiles")
    return suite


@pytest.mark.parametrize("xdist", [False, True], ids=["serial", "n2"])
def test_textfile_per_check_and_host_keeps_last_success(
    site: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, xdist: bool
) -> None:
    target = site.path / "textfiles" / "afterboot.prom"
    args = ["--prometheus=textfiles/afterboot.prom", "-p", "xdist", *(["-n", "2"] if xdist else [])]
    assert site.runpytest_subprocess(*args).ret == 0
    first = parse(target.read_text())
    labels = {"tier": "5", "severity": "critical", "phase": "periodic"}
    assert _value(first, OUTCOME, check="NOVA-005", host="cmp-01", outcome="passed", **labels) == 1
    assert (
        _value(first, OUTCOME, check="PERIODIC-003", host="", outcome="passed", severity="minor")
        == 1
    )
    assert _value(first, "afterboot_check_duration_seconds", check="NOVA-005", host="cmp-02") >= 0
    passed_at = _value(
        first, "afterboot_check_last_success_timestamp_seconds", check="NOVA-005", host="cmp-02"
    )

    monkeypatch.setenv("FAIL", "cmp-02")
    assert site.runpytest_subprocess(*args).ret == 2  # NOVA-005 is critical
    second = parse(target.read_text())
    assert _value(second, OUTCOME, check="NOVA-005", host="cmp-02", outcome="failed") == 1
    assert _value(second, OUTCOME, check="NOVA-005", host="cmp-02", outcome="passed") == 0
    kept = _value(
        second, "afterboot_check_last_success_timestamp_seconds", check="NOVA-005", host="cmp-02"
    )
    assert kept == passed_at
    assert (
        _value(
            second,
            "afterboot_check_last_success_timestamp_seconds",
            check="NOVA-005",
            host="cmp-01",
        )
        > passed_at
    )
    assert sorted(p.name for p in Path(site.path / "textfiles").iterdir()) == ["afterboot.prom"]


def test_missing_directory_is_a_usage_error(site: pytest.Pytester) -> None:
    result = site.runpytest("--prometheus=nowhere/afterboot.prom")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "prometheus (from --prometheus): " in result.stderr.str()


@pytest.mark.parametrize("how", ["unwritable", "not-text"])
def test_a_failed_write_is_one_line_and_a_failed_run(site: pytest.Pytester, how: str) -> None:
    """A timer job's textfile that cannot be written must not go stale silently."""
    target = site.path / "textfiles" / "afterboot.prom"
    if how == "unwritable":
        target.mkdir()  # a directory where the file goes: the rename fails
    else:
        target.write_bytes(b"\xff\xfe\x00binary\x00")  # as a link to a binary reads
    result = site.runpytest_subprocess("--prometheus=textfiles/afterboot.prom")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [ln for ln in result.stderr.str().splitlines() if "prometheus textfile" in ln]
    assert len(errors) == 1
    assert "Traceback" not in result.stderr.str()
