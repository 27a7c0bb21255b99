"""A waiver's every field is bounded: a justification, owner, host or offender of more than
4,096 characters (its runs of blanks counted once), or one that is a list or a mapping, is
one line naming file, line and field, within a second, however large the file (up to the
64 MiB any input file may have); a waivers file is at most 4 MiB."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from afterboot.verdict.waiverfile import MAX_FIELD, WaiverError, load

HEAD = "# site waivers\nNOVA-005:\n  - offender: 6f0c1d2e\n"


def _refused(path: Path, match: str) -> str:
    started = time.process_time()  # this process's CPU: the same on a busy machine
    with pytest.raises(WaiverError, match=match) as exc:
        load(path)
    assert time.process_time() - started < 1
    message = str(exc.value)
    assert "\n" not in message, message[:300]
    assert len(message) < 300, message[:300]
    assert message.startswith(f"{path}:")
    return message


def _write(tmp_path: Path, justification: str, owner: str = "ops") -> Path:
    path = tmp_path / "waivers.yaml"
    with path.open("w") as f:
        f.write(HEAD)
        f.write(f"    justification: {justification}\n")
        f.write(f"    owner: {owner}\n    expires: 2999-01-31\n")
    return path


def test_a_field_of_the_limit_is_accepted_one_more_character_refused(tmp_path: Path) -> None:
    assert load(_write(tmp_path, "j" * MAX_FIELD))[0].justification == "j" * MAX_FIELD
    spaced = " ".join(["j"] * (MAX_FIELD // 2))  # 4095 characters once its blanks are one
    assert len(load(_write(tmp_path, spaced.replace(" ", "     ")))[0].justification) == 4095
    _refused(
        _write(tmp_path, "j" * (MAX_FIELD + 1)),
        r"waivers.yaml:4: NOVA-005 #1: justification has 4097 characters; "
        r"a waiver's field has at most 4096$",
    )


@pytest.mark.parametrize("field", ["owner", "host", "offender"])
def test_every_text_field_is_bounded(tmp_path: Path, field: str) -> None:
    path = tmp_path / "waivers.yaml"
    fields = {"justification": "j", "owner": "o", "expires": "2999-01-31", field: "x" * 10_000}
    path.write_text("NOVA-005:\n" + "".join(f"  {k}: {v}\n" for k, v in fields.items()))
    line = list(fields).index(field) + 2
    _refused(path, rf"waivers.yaml:{line}: NOVA-005: {field} has 10000 characters")


@pytest.mark.parametrize(
    ("value", "kind"), [("[a, b]", "a list"), ("{a: b}", "a mapping")], ids=["list", "mapping"]
)
def test_a_field_that_is_no_text_is_refused(tmp_path: Path, value: str, kind: str) -> None:
    _refused(_write(tmp_path, "x", owner=value), f"waivers.yaml:5: NOVA-005 #1: owner is {kind}")


def test_a_megabytes_long_justification_is_one_line_within_a_second(tmp_path: Path) -> None:
    _refused(_write(tmp_path, "j" * 3_000_000), r":4: NOVA-005 #1: justification has 3000000 ")


def test_a_justification_of_many_short_lines_names_its_first(tmp_path: Path) -> None:
    lines = "".join(f"      line {n} of a justification that never ends\n" for n in range(60_000))
    _refused(_write(tmp_path, ">\n" + lines), r":4: NOVA-005 #1: justification has 2\d{6} ")


def test_a_60_mb_justification_is_one_line_within_a_second(tmp_path: Path) -> None:
    _refused(_write(tmp_path, "j" * 60_000_000), r":4: justification has 60000000 characters")


def test_a_file_past_4_mib_is_refused_unparsed(tmp_path: Path) -> None:
    path = tmp_path / "waivers.yaml"
    path.write_text(
        "NOVA-005:\n" + "  - {justification: j, owner: o, expires: 2999-01-31}\n" * 90_000
    )
    _refused(path, r"waivers.yaml: is larger than 4 MiB \(the limit of a waivers file\); refused")


def test_a_100_mb_file_is_refused_unread(tmp_path: Path) -> None:
    _refused(_write(tmp_path, "j" * 100_000_000), r"is larger than 64 MiB \(the limit\)")


def test_a_60_mb_justification_run_ends_in_one_line(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        **{"tests_cloud/test_x.py": 'import pytest\n\n@pytest.mark.check("NOVA-005", tier=5)\n'
           'def test_fine():\n    """Fine."""\n'}
    )  # fmt: skip
    _write(suite.path, "j" * 60_000_000)
    started = time.monotonic()
    result = suite.runpytest_subprocess("--waivers=waivers.yaml", timeout=60)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.errlines if line.strip()]
    assert errors == [
        f"ERROR: waivers (from --waivers): {suite.path / 'waivers.yaml'}:4: justification has "
        "60000000 characters; a waiver's field has at most 4096"
    ]
    assert time.monotonic() - started < 15  # a pytest start-up; the file judged in a second


def test_a_check_id_given_twice_is_refused(tmp_path: Path) -> None:
    """The second NOVA-005 would silently replace the first one's waivers."""
    path = tmp_path / "waivers.yaml"
    waiver = "{justification: j, owner: o, expires: 2999-01-31}"
    path.write_text(f"NOVA-005: {waiver}\nSVC-003: {waiver}\nNOVA-005: {waiver}\n")
    _refused(path, r"waivers.yaml:3: invalid YAML: duplicate key 'NOVA-005' \(first on line 1\)")
