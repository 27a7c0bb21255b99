"""Property-based: whatever a waivers file or a configuration baseline holds (any YAML
structure of any scalars, any text that is almost YAML, any bytes), loading it either
succeeds or raises the loader's one error, on one line, within a bound of time per
example; never another exception, never a traceback."""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from afterboot.domains.baseline import Baseline, BaselineError
from afterboot.domains.baseline import load as load_baseline
from afterboot.verdict.waiverfile import Waiver, WaiverError
from afterboot.verdict.waiverfile import load as load_waivers

BOUND_S = 2.0  # CPU seconds per example (a file here is a few kB)
SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**4000, max_value=10**4400),  # past int()'s 4300 digits
    st.floats(),
    TEXT,
    st.sampled_from(["2027-01-31", "2027-02-30", "20270131", "NOVA-005", "SVC-003", "", " "]),
    st.dates(),
    st.datetimes(),
)
KEYS = st.one_of(
    st.sampled_from(
        ["NOVA-005", "SVC-003", "justification", "owner", "expires", "host", "offender",
         "schema", "secrets", "digest", "salt", "iterations", "roles", "hosts", "options",
         "host_specific", "DEFAULT", "debug"]
    ),
    TEXT,
)  # fmt: skip
DATA = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(KEYS, inner, max_size=5),
    max_leaves=30,
)
LONG = st.integers(4090, 4200).map(lambda n: "w " * (n // 2))  # about the bound of a field
WAIVER = st.fixed_dictionaries(
    {},
    optional={
        "justification": DATA | LONG,
        "owner": DATA | LONG,
        "expires": DATA,
        "host": DATA | LONG,
        "offender": DATA | LONG,
    },
) | st.fixed_dictionaries(  # nearly a waiver: one field or two off
    {
        "justification": st.just("kept for review") | LONG | DATA,
        "owner": st.just("ops") | LONG | DATA,
        "expires": st.just("2999-01-31") | st.dates() | DATA,
    },
    optional={"host": st.just("cmp-01") | LONG | DATA, "offender": LONG | DATA},
)
WAIVERS = st.dictionaries(
    st.sampled_from(["NOVA-005", "SVC-003", "nova-05", "X"]) | TEXT,
    WAIVER | st.lists(WAIVER, max_size=3) | DATA,
    max_size=4,
)
BASELINE = st.fixed_dictionaries(
    {},
    optional={
        "schema": st.sampled_from([1, True, 1.0, "1", 2]) | DATA,
        "secrets": st.fixed_dictionaries(
            {},
            optional={
                "digest": st.sampled_from(["pbkdf2-sha256"]) | DATA,
                "salt": st.sampled_from(["00", "abcd", "zz", ""]) | DATA,
                "iterations": st.sampled_from([1, 100_000, 10**12, -1, "1e3"]) | DATA,
            },
        )
        | DATA,
        "roles": st.dictionaries(KEYS, DATA, max_size=3) | DATA,
    },
)
ROLE_FILE = st.fixed_dictionaries(
    {},
    optional={
        "hosts": DATA,
        "options": st.dictionaries(KEYS, st.dictionaries(KEYS, DATA, max_size=3) | DATA) | DATA,
        "host_specific": st.dictionaries(
            KEYS, st.dictionaries(KEYS, st.dictionaries(KEYS, DATA, max_size=3) | DATA)
        )
        | DATA,
    },
)
FRAGMENTS = st.sampled_from(
    ["NOVA-005:", "\n", "  ", "- ", ": ", "[", "]", "{", "}", ",", "&a ", "*a", "*b", "!!str ",
     "!!python/object:os.system ", "? ", "|", ">", "'", '"', "#", "%YAML 1.1\n", "---\n",
     "...\n", "justification", "expires: 2027-01-31", "\t", "\x1b[31m", "\x00", "\ufeff",
     "schema: 1", "roles:", "secrets: {digest: pbkdf2-sha256, salt: '00'}", "<<: *a",
     "9" * 5000, "2027-02-30"]
)  # fmt: skip
ALMOST_YAML = st.lists(FRAGMENTS | TEXT, max_size=30).map("".join)


def _dump(data: Any) -> str:
    """YAML of ``data`` (integers past ``int()``'s digits written whole)."""
    limit = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        return yaml.safe_dump(data, allow_unicode=True)
    finally:
        sys.set_int_max_str_digits(limit)


def _within_bound(what: Callable[[], object], error: type[Exception]) -> object:
    """What ``what`` returns, or its one-line ``error``; anything else fails the test."""
    started = time.process_time()
    try:
        return what()
    except error as exc:
        message = str(exc)
        assert message, "an empty error"
        assert "\n" not in message, message[:300]
        assert "\r" not in message, message[:300]
        assert len(message) <= 600, message[:300]
        return None
    finally:
        assert time.process_time() - started < BOUND_S


def _waivers(path: Path, text: str | bytes) -> None:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
    loaded = _within_bound(lambda: load_waivers(path), WaiverError)
    if loaded is not None:
        assert isinstance(loaded, tuple)
        for w in loaded:
            assert isinstance(w, Waiver)
            assert isinstance(w.expires, dt.date)
            assert all(len(f) <= 4096 for f in (w.justification, w.owner, w.host, w.offender))


@SETTINGS
@given(data=WAIVERS)
def test_any_waivers_structure_loads_or_is_one_line(tmp_path: Path, data: Any) -> None:
    _waivers(tmp_path / "waivers.yaml", _dump(data))


@SETTINGS
@given(text=ALMOST_YAML)
def test_any_almost_yaml_waivers_text_loads_or_is_one_line(tmp_path: Path, text: str) -> None:
    _waivers(tmp_path / "waivers.yaml", text)


@SETTINGS
@given(raw=st.binary(max_size=200))
def test_any_bytes_as_waivers_load_or_are_one_line(tmp_path: Path, raw: bytes) -> None:
    _waivers(tmp_path / "waivers.yaml", raw)


def _baseline(root: Path, meta: str, role_file: str | None) -> None:
    (root / "baseline.yaml").write_text(meta)
    if role_file is not None:
        target = root / "compute" / "etc" / "nova" / "nova.conf.yaml"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(role_file)
    loaded = _within_bound(lambda: load_baseline(root), BaselineError)
    if isinstance(loaded, Baseline):
        assert isinstance(loaded.roles, dict)
        assert all(isinstance(h, str) for hosts in loaded.roles.values() for h in hosts)
        _within_bound(lambda: loaded.role("compute"), BaselineError)


VALID_META = "schema: 1\nsecrets: {digest: pbkdf2-sha256, salt: '00', iterations: 1}\n"


@SETTINGS
@given(meta=BASELINE)
def test_any_baseline_meta_loads_or_is_one_line(tmp_path: Path, meta: Any) -> None:
    _baseline(tmp_path, _dump(meta), None)


@SETTINGS
@given(role_file=ROLE_FILE | DATA)
def test_any_baseline_role_file_loads_or_is_one_line(tmp_path: Path, role_file: Any) -> None:
    _baseline(tmp_path, VALID_META + "roles: {compute: [cmp-01]}\n", _dump(role_file))


@SETTINGS
@given(meta=ALMOST_YAML, role_file=ALMOST_YAML)
def test_any_almost_yaml_baseline_loads_or_is_one_line(
    tmp_path: Path, meta: str, role_file: str
) -> None:
    _baseline(tmp_path, VALID_META + meta, role_file)


@pytest.mark.parametrize(
    ("meta", "said"),
    [
        ("schema: true\n", "schema True, expected 1"),
        ("schema: 1\nsecrets: [a]\n", "secrets: needs digest pbkdf2-sha256 and a salt"),
        (VALID_META.replace("iterations: 1", "iterations: 1000000000"), "iterations"),
        (
            VALID_META + "roles: {compute: cmp-01}\n",
            "roles: .compute.: hosts must be a list of names",
        ),
    ],
    ids=["schema true", "secrets a list", "a billion iterations", "hosts a string"],
)
def test_a_baseline_meta_found_wrong_by_hypothesis(tmp_path: Path, meta: str, said: str) -> None:
    (tmp_path / "baseline.yaml").write_text(meta)
    with pytest.raises(BaselineError, match=said):
        load_baseline(tmp_path)
