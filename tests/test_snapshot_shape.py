"""A snapshot given to ``--compare`` (or ``--snapshot-file``) is checked as one given to
``--from-snapshot`` is, by the same code (:mod:`afterboot.snapshotfile`): a field of the
wrong type, a number out of its range, a file that is no regular file or was cut short
is one line naming the file and the field, exit status 4, before any check judges it:
never a traceback, never a verdict judged from it."""

from __future__ import annotations

import copy
import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from afterboot.offline import load_saved
from afterboot.snapshotfile import SnapshotFileError, load, read_when

from .conftest import ROOT, SAMPLES

SAMPLE = SAMPLES / "snapshot-healthy.json"
Doc = dict[str, Any]


def _sample() -> Doc:
    doc: Doc = json.loads(SAMPLE.read_text())
    return doc


def _set(path: str, value: Any) -> Callable[[Doc], None]:
    """A change: the field at the dotted ``path`` set to ``value``."""

    def change(doc: Doc) -> None:
        *parents, last = path.split(".")
        for key in parents:
            doc = doc[key]
        doc[last] = value

    return change


def _result_offenders(doc: Doc) -> None:
    doc["results"] = [{"check": "NOVA-005", "host": "compute1", "outcome": "failed"}]
    doc["results"][0]["offenders"] = 5


# (change, what the line says after the file's name)
MALFORMED: dict[str, tuple[Callable[[Doc], None], str]] = {
    "hosts-a-list": (_set("hosts", ["compute1"]), "hosts: is list, not an object"),
    "host-a-string": (_set("hosts.compute1", "up"), "hosts.compute1: is str, not an object"),
    "reads-a-string": (
        _set("hosts.compute1.reads", "domains"),
        "hosts.compute1.reads: is str, not an object",
    ),
    "read-a-string": (
        _set("hosts.compute1.reads.domains", "running"),
        "hosts.compute1.reads.domains: is str, not an object",
    ),
    "cloud-read-a-list": (
        _set("cloud.instances", []),
        "cloud.instances: is list, not an object",
    ),
    "unreachable-a-mapping": (
        _set("hosts.compute2.unreachable", {"why": "x"}),
        "hosts.compute2.unreachable: is dict, not text",
    ),
    "read-at-past-9999": (
        _set("read_at", 1e300),
        "read_at: 1e+300 is not a time from 1970 to 9999",
    ),
    "host-read-at-negative": (
        _set("hosts.storage1.read_at", -1),
        "hosts.storage1.read_at: -1 is not a time from 1970 to 9999",
    ),
    "rc-past-32-bits": (
        _set("hosts.compute1.reads.domains.rc", 2**40),
        "hosts.compute1.reads.domains.rc: 1099511627776 is not an exit status",
    ),
    "seconds-nan": (
        _set("cloud.instances.seconds", float("nan")),
        "cloud.instances.seconds: nan is not a duration (0 to 366 days)",
    ),
    "auth-url-no-url": (
        _set("identity", {"auth_url": "http://[::1:5000/v3", "hosts": ["compute1"]}),
        "identity.auth_url: 'http://[::1:5000/v3' is not a URL",
    ),
    "identity-hosts-a-number": (
        _set("identity", {"hosts": 5}),
        "identity.hosts: is not a list of names",
    ),
    "offenders-a-number": (
        _result_offenders,
        "results[0].offenders: is not a list of pairs of names",
    ),
}


@pytest.fixture
def diffsuite(suite: pytest.Pytester) -> pytest.Pytester:
    """The suite with the real before/after checks (and nothing else) under tests_cloud."""
    shutil.copy(ROOT / "tests_cloud" / "test_before_after.py", suite.path / "tests_cloud")
    return suite


def _one_line(suite: pytest.Pytester, *args: str) -> str:
    """The run's one error line (exit status 4, no traceback, in a pytest start-up)."""
    started = time.monotonic()
    result = suite.runpytest_subprocess(*args, timeout=60)
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str()[-2000:]
    errors = [line for line in result.errlines if line.strip()]
    assert len(errors) == 1, errors
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    assert time.monotonic() - started < 15
    return errors[0]


@pytest.mark.parametrize("form", list(MALFORMED))
def test_a_malformed_compared_snapshot_is_one_line_naming_the_field(
    diffsuite: pytest.Pytester, form: str
) -> None:
    change, said = MALFORMED[form]
    doc = _sample()
    change(doc)
    bad = diffsuite.path / "before.json"
    bad.write_text(json.dumps(doc))
    line = _one_line(diffsuite, "--compare=before.json")
    assert line == f"ERROR: compare (from --compare): {bad}: {said}", line


@pytest.mark.parametrize("form", ["host-a-string", "rc-past-32-bits"])
def test_a_malformed_snapshot_judged_as_now_is_one_line(
    diffsuite: pytest.Pytester, form: str
) -> None:
    change, said = MALFORMED[form]
    doc = _sample()
    change(doc)
    bad = diffsuite.path / "now.json"
    bad.write_text(json.dumps(doc))
    line = _one_line(diffsuite, f"--compare={SAMPLE}", "--snapshot-file=now.json")
    assert line == f"ERROR: compare (from --snapshot-file): {bad}: {said}", line


def _fifo(path: Path) -> str:
    os.mkfifo(path)
    return "is a FIFO, not a regular file"


def _cut(path: Path) -> str:
    text = SAMPLE.read_text()
    path.write_text(text[: len(text) // 2])
    return "not JSON ("


def _empty(path: Path) -> str:
    path.write_text("")
    return ":1: not JSON (Expecting value)"


def _deep(path: Path) -> str:
    path.write_text('{"schema": 1, "hosts": {"c": ' + "[" * 100_000)  # cut inside
    return "not JSON (nested too deeply)"


def _long_number(path: Path) -> str:
    doc = json.dumps({**_sample(), "read_at": 1})
    path.write_text(doc.replace('"read_at": 1,', '"read_at": ' + "9" * 5000 + ",", 1))
    return "not JSON (a number of thousands of digits)"


@pytest.mark.parametrize("make", [_fifo, _cut, _empty, _deep, _long_number])
def test_a_strange_or_cut_compared_file_is_one_line(
    diffsuite: pytest.Pytester, make: Callable[[Path], str]
) -> None:
    said = make(diffsuite.path / "before.json")
    line = _one_line(diffsuite, "--compare=before.json")
    assert line.startswith(f"ERROR: compare (from --compare): {diffsuite.path}/before.json")
    assert said in line, line


# -- one validation for both ---------------------------------------------------------------


@pytest.mark.parametrize("form", list(MALFORMED))
def test_compare_and_from_snapshot_say_the_same(tmp_path: Path, recorded: Doc, form: str) -> None:
    """The same field, the same line, whichever option reads the file."""
    change, said = MALFORMED[form]
    doc = copy.deepcopy(recorded)
    change(doc)
    path = tmp_path / "snap.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(SnapshotFileError) as compared:
        load(path)
    with pytest.raises(SnapshotFileError) as judged:
        load_saved([str(path)])
    assert str(compared.value) == str(judged.value) == f"{path}: {said}"


def test_a_host_name_in_a_field_is_shortened_and_escaped(tmp_path: Path) -> None:
    doc = _sample()
    name = "\x1b[2J" + "h" * 500
    doc["hosts"][name] = "up"
    path = tmp_path / "snap.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(SnapshotFileError) as exc:
        load(path)
    assert str(exc.value) == f"{path}: hosts.\\x1b[2J{'h' * 56}…: is str, not an object"


def test_the_headers_say_when_a_snapshot_was_read_alike() -> None:
    taken = time.mktime((2026, 3, 4, 5, 6, 7, 0, 0, -1))
    assert read_when({"read_at": taken}) == "2026-03-04 05:06:07"
    for unknown in ({}, {"read_at": 0}, {"read_at": None}, {"read_at": 1e300}):
        assert read_when(unknown) == "?"
