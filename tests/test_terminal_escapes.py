"""Terminal escape sequences planted in a site's own files never reach an output raw.

A waiver's justification and owner, and a site procedure's texts (title, why, a step's
text, guard and command, contact, runbook), carry ESC sequences (colour, a window title
ended by BEL, a bare carriage return that would overwrite the line): pytest's terminal
output, JUnit, summary.json, remediation.sh and the Allure result files show them escaped
(``\\xNN``) or not at all; serial and under ``-n 2``.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from afterboot.redact import redact, redact_tree

UUID = "6f0c1d2e-1111-2222-3333-444455556666"
RAW = ("\x1b", "\x07", "\x9b")  # ESC, BEL, CSI: never in any output
PLANTED = "\x1b[31mRED\x1b]0;TITLE\x07\rBACK"  # what a hostile site file holds

INVENTORY = """\
defaults:
  connection: local
hosts:
  cmp-01: {roles: [compute]}
"""

CHECKS = f'''
import pytest

@pytest.mark.check("NOVA-005", tier=5, roles=("compute",))
def test_instances_running(host, findings):
    """Active instances run."""
    findings.add("{UUID}", host=host.name, expected="running", actual="shut off")
    findings.assert_none()

@pytest.mark.check("MAINT-002", tier=4, roles=("compute",))
def test_cpu_models(host, findings):
    """CPU models agree."""
    findings.add("cpu", host=host.name, expected="same", actual="differs")
    findings.assert_none()
'''


def _yaml_string(text: str) -> str:
    """``text`` as a double-quoted YAML scalar (control characters as YAML escapes)."""
    return json.dumps(text)  # JSON's \\u001b escapes are YAML's too


@pytest.fixture
def site(suite: pytest.Pytester) -> pytest.Pytester:
    suite.makefile(".yaml", inventory=INVENTORY)
    suite.makeini(
        "[pytest]\naddopts = -p no:testinfra -p no:cacheprovider\n"
        "afterboot_check_paths = tests_cloud\nafterboot_inventory = inventory.yaml\n"
        "afterboot_procedures = procedures\n"
    )
    suite.makepyfile(**{"tests_cloud/test_x.py": CHECKS})
    (suite.path / "waivers.yaml").write_text(
        "NOVA-005:\n"
        f"  - offender: {UUID}\n"
        f"    justification: {_yaml_string('kept for review ' + PLANTED)}\n"
        f"    owner: {_yaml_string('ops ' + PLANTED)}\n"
        "    expires: 2999-01-31\n"
    )
    (suite.path / "procedures").mkdir()
    (suite.path / "procedures" / "site.yaml").write_text(
        "MAINT-002:\n"
        f"  title: {_yaml_string('CPU models differ ' + PLANTED)}\n"
        f"  why: {_yaml_string('Live migration fails ' + PLANTED)}\n"
        f"  contact: {_yaml_string('#oncall ' + PLANTED)}\n"
        f"  runbook: {_yaml_string('https://wiki.example.org/cpu ' + PLANTED)}\n"
        "  steps:\n"
        f"    - text: {_yaml_string('Compare the CPU of {host} ' + PLANTED)}\n"
        f"      host: {_yaml_string('grep model /proc/cpuinfo # ' + PLANTED)}\n"
        f"      guard: {_yaml_string('only when idle ' + PLANTED)}\n"
        f"    - text: {_yaml_string('Then ' + PLANTED)}\n"
        f"      run: {_yaml_string('openstack hypervisor show {host} # ' + PLANTED)}\n"
    )
    return suite


def _strings(data: Any) -> list[str]:
    if isinstance(data, str):
        return [data]
    if isinstance(data, dict):
        return [s for k, v in data.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(data, list):
        return [s for v in data for s in _strings(v)]
    return []


def _outputs(p: pytest.Pytester, result: pytest.RunResult) -> dict[str, str]:
    """Every output of the run: the terminal, then each file written, by name; a JSON file
    as its decoded strings too (a JSON ``\\u001b`` is an ESC once read)."""
    outputs = {"terminal": result.stdout.str() + result.stderr.str()}
    files = [f for d in ("reports", "allure") for f in (p.path / d).rglob("*") if f.is_file()]
    files.append(p.path / "junit.xml")
    for f in files:
        text = f.read_text(errors="replace")
        outputs[str(f.relative_to(p.path))] = text
        if f.suffix == ".json":
            outputs[f"{f.relative_to(p.path)} (decoded)"] = "\n".join(_strings(json.loads(text)))
    root = ET.parse(p.path / "junit.xml").getroot()
    outputs["junit.xml (decoded)"] = "\n".join(
        [*(e.text or "" for e in root.iter()), *(v for e in root.iter() for v in e.attrib.values())]
    )
    return outputs


@pytest.mark.parametrize("xdist", [False, True], ids=["serial", "n2"])
def test_planted_escapes_reach_no_output_raw(site: pytest.Pytester, xdist: bool) -> None:
    args = ["--waivers=waivers.yaml", "--junitxml=junit.xml", "--alluredir=allure", "-rA"]
    result = site.runpytest_subprocess(*args, "-p", "xdist", *(["-n", "2"] if xdist else []))
    outcomes = result.parseoutcomes()  # MAINT-002 fails, NOVA-005 is waived
    assert (outcomes.get("failed"), outcomes.get("waived")) == (1, 1), outcomes
    outputs = _outputs(site, result)
    assert {"reports/summary.json", "reports/remediation.sh"} <= set(outputs)
    assert any(name.endswith("-result.json") for name in outputs)
    # what was planted is shown, escaped: the waiver's ledger line, the procedure's step
    assert "kept for review \\x1b[31mRED\\x1b]0;TITLE\\x07 BACK" in outputs["terminal"]
    assert "Compare the CPU of cmp-01 \\x1b[31mRED" in outputs["reports/remediation.sh"]
    leaks = [
        (name, text[max(0, text.find(char) - 60) : text.find(char) + 20])
        for name, text in outputs.items()
        for char in (*RAW, "\rBACK")
        if char in text
    ]
    assert leaks == []


def test_a_bare_carriage_return_is_escaped_a_line_end_kept() -> None:
    assert redact("a\rb\r\nc") == "a\\x0db\r\nc"


def test_a_json_file_is_redacted_as_it_reads(tmp_path: Path) -> None:
    """JSON writes ESC as ``\\u001b``: no pass over the file's text sees one, its strings
    read back do (an Allure result's message, a link)."""
    path = tmp_path / "x-result.json"
    path.write_text(json.dumps({"name": "t", "links": [{"url": "https://x/\x1b]0;t\x07"}]}))
    assert redact_tree([tmp_path]) == 1
    assert json.loads(path.read_text())["links"][0]["url"] == "https://x/\\x1b]0;t\\x07"
    assert redact_tree([tmp_path]) == 0  # redacted once is redacted
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)  # past Python's reach
    (tmp_path / "odd.json").write_text("{not json \x1b")
    assert redact_tree([tmp_path]) == 1
    assert (tmp_path / "odd.json").read_text() == "{not json \\x1b"
