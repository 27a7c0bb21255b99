"""SWIFT-007/008/009: the quarantined entries and async pendings counted on each device (the
``swift_device_counts`` read, run here on real directory trees), and drive.recon."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pytest

# the check modules as modules: pytest collects none of their checks in this file
import tests_cloud.test_swift as swift_checks
from afterboot.checks.findings import Finding, Findings, item_findings
from afterboot.domains.recon import READ, _counts, drive_audit, parse_counts
from afterboot.errors import CouldNotRun
from afterboot.inventory.model import HostSpec
from afterboot.reads.hostreads import PART
from afterboot.snapshot import ReadResult
from afterboot.transport.connections import Remote

NOW = 1796486080
# as the read prints it on a storage host of two devices: d1 with a quarantined object and
# three async pendings, d2 with a quarantined container
REAL = (
    f"now\t{NOW}\n"
    "device\td1\tok\n"
    f"quarantined\td1\tobjects\t1\t{NOW - 480}\n"
    f"async\td1\tasync_pending\t3\t{NOW - 2400}\n"
    "device\td2\tok\n"
    f"quarantined\td2\tcontainers\t2\t{NOW - 7200}\n"
)


@dataclass
class Host:
    reads: dict[str, str]
    name: str = "storage1"
    rc: dict[str, int] = field(default_factory=dict)

    def read(self, name: str, *, again: bool = False) -> ReadResult:
        return ReadResult(name, self.rc.get(name, 0), self.reads[name], "")

    def path(self, canonical: str) -> str:
        return canonical


def _judge(check: str, host: Host) -> list[Finding]:
    item = cast(pytest.Item, SimpleNamespace(stash=pytest.Stash()))
    remote = cast(Remote, host)
    findings = Findings(item)
    try:
        if check == "drive":
            swift_checks.test_no_drive_audit_errors(remote, findings, lambda k, v: None)
        else:
            getattr(swift_checks, check)(remote, findings)
    except AssertionError:  # it failed: its findings say on what
        assert item_findings(item)
    return item_findings(item)


# -- the parser ---------------------------------------------------------------------------


def test_the_counts_parse_per_device() -> None:
    counts = parse_counts(REAL, "storage1")
    assert counts.now == NOW
    assert counts.devices == ("d1", "d2")
    assert not counts.unreadable
    assert [(q.device, q.kind, q.count) for q in counts.quarantined] == [
        ("d1", "objects", 1),
        ("d2", "containers", 2),
    ]
    ((p),) = counts.pending
    assert (p.device, p.directory, p.count, NOW - p.oldest) == ("d1", "async_pending", 3, 2400)


def test_a_root_without_a_device_counts_nothing() -> None:
    counts = parse_counts(f"now\t{NOW}\n", "storage1")
    assert counts.devices == ()
    assert counts.quarantined == ()
    assert counts.pending == ()


@pytest.mark.parametrize(
    "text",
    [
        "",  # not even the clock
        f"device\td1\tok\nnow\t{NOW}\n",
        f"now\t{NOW}\nquarantined\td1\tobjects\t1\t{NOW}\n",  # a row of no device announced
        f"now\t{NOW}\ndevice\td1\tok\nquarantined\td1\tobjects\tmany\t{NOW}\n",
        f"now\t{NOW}\ndevice\td1\tok\nquarantined\td1\tpictures\t1\t{NOW}\n",
        f"now\t{NOW}\ndevice\td1\tok\nawk: line 3: syntax error\n",
    ],
)
def test_what_the_read_does_not_print_is_could_not_run(text: str) -> None:
    with pytest.raises(CouldNotRun, match=f"host storage1: read '{READ}': unexpected line"):
        parse_counts(text, "storage1")


# -- the read, run here on directory trees ---------------------------------------------


def _tree(root: Path) -> None:
    d1 = root / "d1"
    for sub in ("quarantined/objects/0a1b", "quarantined/objects-1/0c2d", "objects/12/a1f/0e3f"):
        (d1 / sub).mkdir(parents=True)
    (d1 / "objects/12/a1f/0e3f/1796486000.00000.data").touch()  # data: never counted
    for name, age in (("a1f/0e3f-1796480000.00000", 3600), ("b20/11aa-1796486000.00000", 60)):
        (d1 / "async_pending" / name).parent.mkdir(parents=True, exist_ok=True)
        (d1 / "async_pending" / name).touch()
        t = time.time() - age
        os.utime(d1 / "async_pending" / name, (t, t))
    (root / "d2").mkdir()
    (root / "lost+found.txt").touch()  # a file in the root is no device


def _run(root: Path, *prefix: str) -> subprocess.CompletedProcess[str]:
    script = _counts(HostSpec("here", paths={"/srv/node": str(root)}))
    return subprocess.run([*prefix, "sh", "-c", script], capture_output=True, text=True, timeout=30)


def test_the_read_counts_a_real_tree(tmp_path: Path) -> None:
    _tree(tmp_path)
    got = _run(tmp_path)
    assert got.returncode == 0, got.stderr
    counts = parse_counts(got.stdout, "here")
    assert counts.devices == ("d1", "d2")
    assert sorted((q.kind, q.count) for q in counts.quarantined) == [
        ("objects", 1),
        ("objects-1", 1),
    ]
    ((p),) = counts.pending
    assert p.count == 2
    assert 3500 < counts.now - p.oldest < 3700


def test_no_devices_root_is_no_device(tmp_path: Path) -> None:
    got = _run(tmp_path / "absent")
    assert got.returncode == 0
    assert parse_counts(got.stdout, "here").devices == ()


@pytest.fixture
def unshared() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="ab-recon-"))
    path.chmod(0o755)
    yield path
    path.chmod(0o755)
    shutil.rmtree(path)


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root")
def test_a_directory_the_reader_may_not_open_is_could_not_run(unshared: Path) -> None:
    tmp_path = unshared  # a directory another user may reach (pytest's are root's alone)
    _tree(tmp_path)
    (tmp_path / "d1/quarantined").chmod(0o700)
    nobody = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups")
    got = _run(tmp_path, *nobody)
    counts = parse_counts(got.stdout, "here")
    assert "Permission denied" in counts.unreadable["d1"]
    host = Host({READ: got.stdout})
    with pytest.raises(CouldNotRun, match=r"storage1: swift devices not counted.*d1: find"):
        _judge("test_nothing_quarantined", host)
    (tmp_path / "d1").chmod(0o700)  # the root listed, a device not entered
    counts = parse_counts(_run(tmp_path, *nobody).stdout, "here")
    assert list(counts.unreadable) == ["d1"]
    tmp_path.chmod(0o700)  # the root itself: the read fails
    assert _run(tmp_path, *nobody).returncode != 0


def test_ten_thousand_pendings_are_counted_quickly(tmp_path: Path) -> None:
    pending = tmp_path / "d1" / "async_pending"
    for n in range(10_000):
        suffix = pending / f"{n % 4096:03x}"
        suffix.mkdir(parents=True, exist_ok=True)
        (suffix / f"{n:032x}-1796486000.00000").touch()
    started = time.monotonic()
    got = _run(tmp_path)
    took = time.monotonic() - started
    assert parse_counts(got.stdout, "here").pending[0].count == 10_000
    assert took < 5, took  # ~0.2 s here; the read's output is four lines whatever the count


# -- the checks ---------------------------------------------------------------------------


def test_quarantined_entries_fail_naming_device_kind_and_count() -> None:
    found = _judge("test_nothing_quarantined", Host({READ: REAL}))
    assert [(f.subject, f.extra["count"], f.extra["kind"]) for f in found] == [
        ("/srv/node/d1/quarantined/objects", "1", "objects"),
        ("/srv/node/d2/quarantined/containers", "2", "containers"),
    ]
    assert found[0].extra["type"] == "object"
    assert found[0].extra["newest"] == "8 min"


def test_only_pendings_older_than_the_bound_fail() -> None:
    (found,) = _judge("test_async_pendings_drain", Host({READ: REAL}))
    assert (found.subject, found.host, found.extra["count"]) == (
        "/srv/node/d1/async_pending",
        "storage1",
        "3",
    )
    assert found.extra["oldest"] == "40 min"
    recent = REAL.replace(str(NOW - 2400), str(NOW - 600))
    assert _judge("test_async_pendings_drain", Host({READ: recent})) == []


def test_a_healthy_host_passes_and_an_unreadable_device_is_could_not_run() -> None:
    healthy = f"now\t{NOW}\ndevice\td1\tok\n"
    assert _judge("test_nothing_quarantined", Host({READ: healthy})) == []
    assert _judge("test_async_pendings_drain", Host({READ: healthy})) == []
    eio = healthy + "device\td2\terror\tfind: './async_pending': Input/output error\n"
    with pytest.raises(CouldNotRun, match="Input/output error"):
        _judge("test_async_pendings_drain", Host({READ: eio}))


def _recon(drive: dict[str, int] | str | None) -> str:
    text = f"{PART} /var/cache/swift/object.recon\n{{}}\n\n"
    if drive is not None:
        body = drive if isinstance(drive, str) else json.dumps(drive, sort_keys=True)
        text += f"{PART} /var/cache/swift/drive.recon\n{body}\n\n"
    return text


def test_drive_audit_errors_fail_naming_the_mount() -> None:
    host = Host({"swift_recon": _recon({"/srv/node/d1": 3, "drive_audit_errors": 3})})
    (found,) = _judge("drive", host)
    assert (found.subject, found.extra["device"], found.extra["count"]) == (
        "/srv/node/d1",
        "d1",
        "3",
    )


def test_no_drive_recon_is_drive_audit_not_scheduled_and_passes() -> None:
    properties: dict[str, object] = {}
    item = cast(pytest.Item, SimpleNamespace(stash=pytest.Stash()))
    host = cast(Remote, Host({"swift_recon": _recon(None)}))
    swift_checks.test_no_drive_audit_errors(host, Findings(item), properties.__setitem__)
    assert item_findings(item) == []
    assert "not scheduled" in str(properties["drive_audit"])
    clean = Host({"swift_recon": _recon({"/srv/node/d1": 0, "drive_audit_errors": 0})})
    assert _judge("drive", clean) == []


def test_a_recon_read_that_is_no_files_is_could_not_run() -> None:
    """Not the cache's files (a wrapper's error): never "drive-audit not scheduled"."""
    host = Host({"swift_recon": "sh: 1: cat: Permission denied\n" + _recon(None)})
    with pytest.raises(CouldNotRun, match="read 'swift_recon': unexpected line 'sh: 1: cat"):
        _judge("drive", host)
    assert _judge("drive", Host({"swift_recon": ""})) == []  # no recon file at all yet


@pytest.mark.parametrize("body", ["{not json", "[3]", '{"drive_audit_errors": "3"}', "{}"])
def test_a_drive_recon_not_understood_is_could_not_run(body: str) -> None:
    with pytest.raises(CouldNotRun, match=r"host storage1: .*drive"):
        _judge("drive", Host({"swift_recon": _recon(body)}))
    if body != "{}":
        with pytest.raises(CouldNotRun):
            drive_audit(cast(Remote, Host({"swift_recon": _recon(body)})))
