"""Numbers that are not what they claim to be end in one line, never a traceback: a
5,000-digit number (Python refuses to convert it), a superscript digit, a group priority
that is no number, a date that does not exist, JSON hosts that are no names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from afterboot.errors import InputError
from afterboot.inventory.load import load_inventory
from afterboot.verdict.waiverfile import WaiverError, load

HUGE = "9" * 5000


@pytest.mark.parametrize(
    ("name", "text", "said"),
    [
        ("inv.yaml", f"hosts:\n  ctl: {{port: {HUGE}}}\n", "inv.yaml:2: "),
        ("inv.yaml", f"hosts:\n  ctl: {{roles: [compute], x: {HUGE}}}\n", "inv.yaml:2: "),
        ("inv.yaml", 'hosts:\n  ctl: {port: "²"}\n', "inv.yaml:2: host ctl: port '²' is not"),
        ("inv.yaml", f"hosts:\n  ctl: {{jump: 'a@b:{HUGE}'}}\n", "inv.yaml:2: host ctl: jump"),
        ("hosts.ini", f"[compute]\nc1 ansible_port={HUGE}\n", "hosts.ini:2: host c1: port"),
        ("hosts.ini", f"[compute]\nc1:{HUGE}\n", "hosts.ini:2: "),
        ("hosts.ini", f"[compute]\nc[1:{HUGE}]\n", "hosts.ini:2: "),
        ("hosts.ini", f"[compute]\nc[1:3:{HUGE}]\n", "hosts.ini:2: "),
        ("hosts.ini", "[compute]\nc1 ansible_port=²\n", "hosts.ini:2: host c1: port '²'"),
        (
            "hosts.ini",
            "[compute]\nc1\n[compute:vars]\nansible_group_priority=abc\n",
            "group compute: ansible_group_priority 'abc' is not a number",
        ),
        ("inv.json", json.dumps({"compute": {"hosts": [1]}}), "group compute: host 1 is not"),
        ("inv.json", json.dumps({"compute": {"hosts": [None]}}), "group compute: host None is"),
        ("inv.json", json.dumps({"compute": {"hosts": [{}]}}), "group compute: host {} is not"),
        ("inv.json", json.dumps({"compute": [None]}), "group compute: host None is not"),
    ],
)
def test_bad_numbers_and_hosts_are_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, text: str, said: str
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")  # parsed here, not by ansible-inventory
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(InputError) as exc:
        load_inventory(path)
    message = str(exc.value)
    assert "\n" not in message
    assert said in message, message
    assert message.startswith(str(tmp_path)), message


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ("expires: 2027-02-30", "expires '2027-02-30' is not a date"),
        (f"expires: {HUGE}", "is not a date"),
    ],
)
def test_bad_waiver_dates_are_one_line(tmp_path: Path, body: str, said: str) -> None:
    path = tmp_path / "waivers.yaml"
    path.write_text(f"NOVA-005:\n  justification: x\n  owner: y\n  {body}\n")
    with pytest.raises(WaiverError) as exc:
        load(path)
    assert "\n" not in str(exc.value)
    assert said in str(exc.value), str(exc.value)
    assert str(exc.value).startswith(str(path))
    assert len(str(exc.value)) < 300


def test_a_long_number_where_a_name_goes_is_a_name(tmp_path: Path) -> None:
    path = tmp_path / "waivers.yaml"
    text = "NOVA-005: {{justification: x, owner: y, expires: 2999-12-31, host: {}}}"
    path.write_text(text.format(HUGE[:4096]))
    assert load(path)[0].host == HUGE[:4096]
    path.write_text(text.format(HUGE))  # past int()'s digits, and a waiver's field
    with pytest.raises(WaiverError, match=r":1: NOVA-005: host has 5000 characters; a wai"):
        load(path)


def test_a_bad_date_run_is_exit_4(suite: pytest.Pytester) -> None:
    (suite.path / "waivers.yaml").write_text(
        "NOVA-005: {justification: x, owner: y, expires: 2027-02-30}\n"
    )
    result = suite.runpytest("--waivers=waivers.yaml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.errlines if line.strip()]
    assert len(errors) == 1, errors
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
