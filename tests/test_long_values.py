"""An error line that quotes an offending value quotes at most 60 characters of it, then
``…``, with control characters escaped: a 5 MB option value, key, date or address is
never echoed whole (afterboot.errors.shown), and an InputError's line is bounded whatever
its message quotes (afterboot.errors.one_line)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from afterboot.domains.baseline import BaselineError
from afterboot.domains.baseline import load as load_baseline
from afterboot.domains.config import ConfigSyntaxError, parse_ini
from afterboot.domains.database import DSN
from afterboot.errors import MAX_MESSAGE, InputError, one_line, shown
from afterboot.inventory import ansible, vault
from afterboot.inventory.load import load_inventory
from afterboot.procedures.runbook import ProcedureError
from afterboot.procedures.runbook import load as load_procedures
from afterboot.settings import parse_shard
from afterboot.verdict.waiverfile import WaiverError
from afterboot.verdict.waiverfile import load as load_waivers
from afterboot.yamlines import load_yaml

HUGE = "Z" * 5_000_000 + "\x1b[31m"  # 5 MB, then an escape sequence


def test_shown_quotes_shortens_and_escapes() -> None:
    assert shown("ctl-01") == "'ctl-01'"
    assert shown("a" * 61) == "'" + "a" * 60 + "…'"
    assert shown("a\x1b[31m\r\nb") == "'a\\x1b[31m\\r\\nb'"
    assert shown("\u202eevil") == "'\\u202eevil'"  # right-to-left override
    assert shown(10**5000) == "(an integer of 16610 bits)"
    assert shown(list(range(10**6))) == "[0, 1, 2, 3, 4, 5, ...]"
    assert (shown(2), shown(None), shown("2")) == ("2", "None", "'2'")  # as repr shows them
    assert len(shown(HUGE)) == 63


def test_an_input_error_is_one_bounded_line() -> None:
    message = str(InputError(f"unknown connection {HUGE!r} (known: ssh, local)", "inv.yaml", 3))
    assert len(message) == MAX_MESSAGE
    assert message.startswith("inv.yaml:3: unknown connection 'ZZZ")
    assert message.endswith("\\x1b[31m' (known: ssh, local)")
    assert one_line("a\nb\x07") == "a\\x0ab\\x07"


def _waivers(tmp_path: Path, body: str) -> Callable[[], object]:
    path = tmp_path / "waivers.yaml"
    path.write_text(body)
    return lambda: load_waivers(path)


def _baseline(tmp_path: Path, body: str) -> Callable[[], object]:
    (tmp_path / "baseline.yaml").write_text(body)
    return lambda: load_baseline(tmp_path)


def _procedures(tmp_path: Path, body: str) -> Callable[[], object]:
    (tmp_path / "site.yaml").write_text(body)
    return lambda: load_procedures([tmp_path])


def _inventory(tmp_path: Path, body: str) -> Callable[[], object]:
    path = tmp_path / "inv.yaml"
    path.write_text(body)
    return lambda: load_inventory(path)


Q = f'"{HUGE[:-5]}\\e[31m"'  # HUGE as a YAML double-quoted scalar
K = '"' + "Z" * 900 + '\\e[31m"'  # a key as long as YAML allows one (1024 characters)
WAIVER = "NOVA-005: {justification: x, owner: y, expires: 2999-01-01"
BASELINE = "schema: 1\nsecrets: {digest: pbkdf2-sha256, salt: '00', iterations: 1}\n"
STEP = "SVC-003:\n  steps: [x]\n"
CASES: dict[str, tuple[type[Exception], Callable[[Path], Callable[[], object]]]] = {
    "waiver field": (WaiverError, lambda t: _waivers(t, f"{WAIVER}, {K}: 1}}\n")),
    "waiver date": (WaiverError, lambda t: _waivers(t, WAIVER.replace("2999-01-01", Q) + "}\n")),
    "waiver key": (WaiverError, lambda t: _waivers(t, f"{WAIVER}}}\n{K}: {{}}\n")),
    "baseline schema": (BaselineError, lambda t: _baseline(t, f"schema: {Q}\n")),
    "baseline roles": (BaselineError, lambda t: _baseline(t, f"{BASELINE}roles: {Q}\n")),
    "procedure severity": (ProcedureError, lambda t: _procedures(t, f"{STEP}  severity: {Q}\n")),
    "procedure key": (ProcedureError, lambda t: _procedures(t, f"{STEP}  {K}: 1\n")),
    "procedure step key": (
        ProcedureError,
        lambda t: _procedures(t, f"X-001:\n  steps: [{{text: t, {K}: 1}}]\n"),
    ),
    "procedure check": (ProcedureError, lambda t: _procedures(t, f"{K}: 1\n")),
    "procedure block": (
        ProcedureError,
        lambda t: _procedures(t, f"SVC-003:\n  steps: [{{include: {Q}}}]\n"),
    ),
    "duplicate key": (InputError, lambda t: lambda: load_yaml(f"{K}: 1\n{K}: 2\n", "f.yaml")),
    "config no '='": (ConfigSyntaxError, lambda t: lambda: parse_ini(f"[a]\n{HUGE}\n", "f.conf")),
    "config header": (ConfigSyntaxError, lambda t: lambda: parse_ini(f"[{HUGE}\n", "f.conf")),
    "config option": (ConfigSyntaxError, lambda t: lambda: parse_ini(f"{HUGE}=1\n", "f.conf")),
    "DSN scheme": (InputError, lambda t: lambda: DSN.parse(f"{'Z' * 5_000_000}://u@h/nova")),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_an_offending_value_is_quoted_short(tmp_path: Path, case: str) -> None:
    error, make = CASES[case]
    run = make(tmp_path)
    started = time.monotonic()
    with pytest.raises(error) as exc:
        run()
    message = str(exc.value)
    assert "\n" not in message, message[:300]
    assert "\x1b" not in message, message[:300]
    assert len(message) < 400, (len(message), message[:300])
    assert message.count("Z") <= 60, message  # the value quoted short, never whole
    assert "ZZZZ" not in message or "Z…" in message, message
    assert time.monotonic() - started < 10  # a pure-Python YAML of 5 MB: seconds, not a hang


@pytest.mark.parametrize(
    "body",
    [f"hosts:\n  cmp-01: {{connection: {Q}}}\n", f"[{HUGE}\nh1\n", f"[all:vars]\n{HUGE}\n"],
    ids=["connection", "INI header", "INI vars"],
)
def test_an_inventory_error_line_is_bounded(tmp_path: Path, body: str) -> None:
    """The inventory's own messages (afterboot/inventory/) are bounded by InputError, and
    come at once: a 5 MB INI line is refused before ansible-inventory spends minutes on it."""
    started = time.monotonic()
    with pytest.raises(InputError) as exc:
        _inventory(tmp_path, body)()
    message = str(exc.value)
    assert "\n" not in message, message[:300]
    assert "\x1b" not in message, message[:300]
    assert len(message) <= MAX_MESSAGE, (len(message), message[:300])
    assert time.monotonic() - started < 30


@pytest.mark.parametrize(
    ("option", "value"),
    [("--phase", HUGE), ("--role", HUGE), ("--timeout", HUGE), ("--settle", HUGE)],
)
def test_an_option_value_is_quoted_short(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, option: str, value: str
) -> None:
    variable = "AFTERBOOT_" + option.removeprefix("--").upper()
    monkeypatch.setitem(os.environ, variable, value[:100_000])  # an environment of 100 kB
    result = suite.runpytest_subprocess(timeout=60)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.errlines if line.strip()]
    assert len(errors) == 1, errors
    assert len(errors[0]) < 300, errors[0][:300]
    assert "Z" * 60 + "…" in errors[0], errors[0][:300]


@pytest.mark.parametrize(
    "option",
    ["--inventory", "--waivers", "--baseline", "--prometheus", "--procedures", "--write-baseline"],
)
def test_a_path_the_system_refuses_is_one_line(suite: pytest.Pytester, option: str) -> None:
    """A path name too long for the system (ENAMETOOLONG) is a usage error, not a crash."""
    result = suite.runpytest_subprocess(f"{option}={'a' * 5000}", timeout=60)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.errlines if line.strip()]
    assert len(errors) == 1, errors[:5]
    assert errors[0].endswith("…': File name too long"), errors[0]
    assert len(errors[0]) < 200


def test_an_unknown_host_is_quoted_short(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    hosts = "".join(f"  cmp-{n:02d}: {{connection: local}}\n" for n in range(30))
    suite.makefile(".yaml", inventory=f"hosts:\n{hosts}")
    monkeypatch.setitem(os.environ, "AFTERBOOT_HOST", "Z" * 100_000)
    result = suite.runpytest_subprocess("--inventory=inventory.yaml", timeout=60)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.errlines if line.strip()]
    assert len(errors) == 1, errors[:5]
    assert errors[0].startswith("ERROR: --host " + "Z" * 60 + "… (from $AFTERBOOT_HOST): ")
    assert errors[0].endswith("cmp-08, cmp-09, and 20 more)"), errors[0]


# -- an inventory's value, cut: with its ellipsis --------------------------------------

V = "\\e" + "Z" * 300  # a YAML double-quoted scalar: ESC, then 300 characters
S = "'\\x1b" + "Z" * 59 + "…'"  # shown: its first 60 characters, escaped, then …
Z = "'" + "Z" * 60 + "…'"
DEPLOYERS = Path(__file__).resolve().parent / "samples" / "deployers" / "kolla-ansible"
INVENTORY_CUTS = [
    ("inv.yaml", f'hosts:\n  "{V}": {{}}\n', f"host name {S} is not a host name"),
    ("inv.yaml", f'hosts:\n  ctl: {{address: "{V}"}}\n', f"host ctl: address {S} is not a host"),
    ("inv.yaml", f'hosts:\n  ctl: {{user: "{V}"}}\n', f"host ctl: user {S} is not a user name"),
    ("inv.yaml", f'hosts:\n  ctl: {{port: "{V}"}}\n', f"host ctl: port {S} is not a TCP port"),
    ("inv.yaml", f'hosts:\n  ctl: {{services: ["{V}"]}}\n', f"host ctl: services: {S} is no"),
    ("inv.yaml", f'hosts:\n  ctl: {{connection: "{V}"}}\n', f"unknown connection {S} (known"),
    ("inv.yaml", f'hosts:\n  ctl: {{"{V}": 1}}\n', f"host ctl: unknown key {S}"),
    (
        "hosts.ini",
        f"[compute]\nc1\n[compute:vars]\nansible_group_priority={'Z' * 300}\n",
        f"ansible_group_priority {Z} is not a number",
    ),
    ("inv.json", '{"compute": {"hosts": [1%s]}}' % ("0" * 300), f"host 1{'0' * 59}… is not"),
    (
        "inv.json",
        '{"_meta": {}, "compute": "%s"}' % ("Z" * 300),
        f"expected hosts/children/vars, got {Z}",
    ),
]


@pytest.mark.usefixtures("without_ansible")
@pytest.mark.parametrize(("name", "body", "said"), INVENTORY_CUTS)
def test_an_inventory_value_cut_ends_in_an_ellipsis(
    tmp_path: Path, name: str, body: str, said: str
) -> None:
    """An inventory's message cut the value it quoted with no sign of the cut (``!r:.60``):
    the value, a closing quote lost, read as if whole."""
    path = tmp_path / name
    path.write_text(body)
    with pytest.raises(InputError) as exc:
        load_inventory(path)
    assert said in str(exc.value), str(exc.value)


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (f'kolla_container_engine: "{V}"\n', f"kolla_container_engine {S} is not docker"),
        (f'enable_cinder: "{V}"\n', f"enable_cinder {S} is not a boolean"),
        (
            f"enable_cinder: \"{{{{ lookup('env', '{'Z' * 300}') }}}}\"\n",
            "enable_cinder is a template (\"{{ lookup('env', '" + "Z" * 42 + '…") afterboot cannot',
        ),
    ],
)
def test_a_kolla_globals_value_cut_ends_in_an_ellipsis(
    tmp_path: Path, body: str, said: str
) -> None:
    globals_ = tmp_path / "globals.yml"
    globals_.write_text(body)
    with pytest.raises(InputError) as exc:
        load_inventory(DEPLOYERS / "multinode", kolla_globals=globals_)
    assert said in str(exc.value), str(exc.value)


def test_a_tools_complaint_and_a_shard_cut_end_in_an_ellipsis() -> None:
    assert ansible._reason("ERROR! " + "Z" * 500).endswith("Z" * 293 + "…")
    assert vault._reason("ERROR! Decryption failed " + "Z" * 500).endswith("Z…")
    with pytest.raises(ValueError, match=f"^'{'Z' * 40}…' is not i/N"):
        parse_shard("Z" * 100)


def test_a_value_holding_a_quote_is_quoted_as_repr_quotes_it() -> None:
    """Shown between single quotes, a value holding one would read as two values."""
    assert shown("it's") == '"it\'s"'
    assert shown("say \"x\" and 'y'") == "'say \"x\" and \\'y\\''"
    assert shown("plain") == "'plain'"
    assert shown("it's" * 100, 10) == "\"it'sit'sit…\""
