"""Input files are read through one bounded loader: a FIFO, a device or a directory given
as the inventory, waivers, baseline or snapshot file is one line and exit status 4 within
a second, never a hang or gigabytes read."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from afterboot.domains.baseline import Baseline, BaselineError, Salt
from afterboot.inputfile import InputFileError, read_text

CHECK = '''
import pytest

@pytest.mark.check("HOST-009", tier=1)
def test_fine():
    """Fine."""
'''


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def test_a_fifo_is_refused_at_once(tmp_path: Path) -> None:
    started = time.monotonic()
    with pytest.raises(InputFileError, match="is a FIFO, not a regular file"):
        read_text(_fifo(tmp_path / "inv.yaml"))
    assert time.monotonic() - started < 1


def test_a_device_is_refused_unread() -> None:
    started = time.monotonic()
    with pytest.raises(InputFileError, match="is a character device, not a regular file"):
        read_text("/dev/zero")
    assert time.monotonic() - started < 1


def test_a_file_past_the_cap_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"x" * 2048)
    assert read_text(path, limit=2048) == "x" * 2048
    with pytest.raises(InputFileError, match=r"is larger than 1 KiB \(the limit\); refused"):
        read_text(path, limit=1024)


def test_a_link_to_a_directory_is_a_directory(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "dir")
    with pytest.raises(IsADirectoryError):
        read_text(tmp_path / "link")


def test_a_missing_file_is_the_usual_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_text(tmp_path / "missing")


def _strange(kind: str, path: Path) -> str:
    """A FIFO, /dev/zero or a directory at ``path``; what the one line says of it."""
    if kind == "fifo":
        _fifo(path)
        return "is a FIFO, not a regular file"
    if kind == "zero":
        path.symlink_to("/dev/zero")
        return "is a character device, not a regular file"
    (path.parent / "somewhere").mkdir()
    path.symlink_to(path.parent / "somewhere")
    return "irectory"


def _one_line(suite: pytest.Pytester, *args: str) -> str:
    suite.makepyfile(**{"tests_cloud/test_x.py": CHECK})
    started = time.monotonic()
    result = suite.runpytest_subprocess(*args, timeout=30)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.errlines if line.strip()]
    assert len(errors) == 1, errors
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    assert time.monotonic() - started < 15  # a pytest start-up, no wait on the file
    return errors[0]


@pytest.mark.parametrize("kind", ["fifo", "zero"])
def test_a_strange_inventory_is_one_line(suite: pytest.Pytester, kind: str) -> None:
    said = _strange(kind, suite.path / "inv.yaml")
    line = _one_line(suite, "--inventory=inv.yaml")
    assert line.startswith(f"ERROR: inventory: {suite.path / 'inv.yaml'}: "), line
    assert said in line


@pytest.mark.parametrize("kind", ["fifo", "zero", "dir"])
def test_a_strange_waivers_file_is_one_line(suite: pytest.Pytester, kind: str) -> None:
    said = _strange(kind, suite.path / "waivers.yaml")
    line = _one_line(suite, "--waivers=waivers.yaml")
    assert line.startswith(f"ERROR: waivers (from --waivers): {suite.path / 'waivers.yaml'}: ")
    assert said in line


@pytest.mark.parametrize("kind", ["fifo", "zero", "dir"])
def test_a_strange_snapshot_is_one_line(suite: pytest.Pytester, kind: str) -> None:
    said = _strange(kind, suite.path / "before.json")
    line = _one_line(suite, "--compare=before.json")
    assert line.startswith(f"ERROR: compare (from --compare): {suite.path / 'before.json'}: ")
    assert said in line


@pytest.mark.parametrize("kind", ["fifo", "zero"])
def test_a_strange_baseline_file_is_one_line(tmp_path: Path, kind: str) -> None:

    (tmp_path / "compute" / "etc" / "nova").mkdir(parents=True)
    said = _strange(kind, tmp_path / "compute" / "etc" / "nova" / "nova.conf.yaml")
    baseline = Baseline(tmp_path, Salt("00", 1), {"compute": ["cmp-01"]})
    started = time.monotonic()
    with pytest.raises(BaselineError) as exc:
        baseline.role("compute")
    assert time.monotonic() - started < 1
    assert said in str(exc.value)
    assert "\n" not in str(exc.value)


@pytest.mark.parametrize("kind", ["fifo", "zero", "dir"])
def test_a_strange_baseline_meta_is_one_line(suite: pytest.Pytester, kind: str) -> None:
    (suite.path / "base").mkdir()
    said = _strange(kind, suite.path / "base" / "baseline.yaml")
    line = _one_line(suite, "--phase=config-gate", "--baseline=base")
    assert line.startswith("ERROR: baseline (from --baseline): "), line
    assert said in line


@pytest.mark.parametrize(
    ("kind", "said"),
    [
        ("fifo", "fifo.yaml: is a FIFO, not a regular file"),
        ("latin-1", "site.yaml: not UTF-8 text"),
        ("deep", "site.yaml:1: invalid YAML: exceeded maximum nesting depth"),
        ("broken", "site.yaml:3: invalid YAML: did not find expected node content"),
    ],
)
def test_a_strange_site_procedures_file_is_one_line(
    suite: pytest.Pytester, kind: str, said: str
) -> None:
    """A site's procedures are read as any input file: a FIFO hung the run, a file that
    is not UTF-8 ended it in an internal error."""
    site = suite.path / "site"
    site.mkdir()
    if kind == "fifo":
        _fifo(site / "fifo.yaml")
    else:
        body = {
            "latin-1": b"SVC-003:\n  why: \xe9t\xe9\n",
            "deep": b"SVC-003: " + b"[" * 5000 + b"]" * 5000 + b"\n",
            "broken": b"SVC-003:\n  why: [\n",
        }[kind]
        (site / "site.yaml").write_bytes(body)
    line = _one_line(suite, "--procedures=site")
    assert line.startswith(f"ERROR: procedures: {site}/"), line
    assert said in line, line
