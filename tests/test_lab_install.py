"""The lab's package steps wait for the apt/dpkg lock with a bound, and past it fail
with one line naming the process that holds it (a freshly booted VM's
unattended-upgrades). A real POSIX lock is held by a child process, as apt holds it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab import install
from lab.shell import LabError

HOLD = """
import fcntl, sys, time
f = open(sys.argv[1], "w")
fcntl.lockf(f, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""


@pytest.fixture
def held(tmp_path: Path) -> Iterator[tuple[Path, subprocess.Popen[str]]]:
    lock = tmp_path / "lock-frontend"
    # the holder's name within the 120 characters of its command line a message keeps,
    # as /usr/bin/unattended-upgrade is (a worker's tmp_path under pytest -n is long)
    short = Path(tempfile.mkdtemp(prefix="ab-hold-"))
    script = short / "unattended-upgrade"
    script.write_text(HOLD)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(lock), "60"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "held"
    yield lock, proc
    proc.kill()
    proc.wait()
    shutil.rmtree(short, ignore_errors=True)


def test_the_holder_of_a_posix_lock_is_named(held: tuple[Path, subprocess.Popen[str]]) -> None:
    lock, proc = held
    assert install.lock_holder(str(lock)) == proc.pid
    assert "unattended-upgrade" in install.describe_pid(proc.pid)
    assert "\n" not in install.describe_pid(proc.pid)


def test_a_free_or_absent_lock_has_no_holder(tmp_path: Path) -> None:
    free = tmp_path / "lock"
    free.write_text("")
    assert install.lock_holder(str(free)) is None
    assert install.lock_holder(str(tmp_path / "absent")) is None


def test_proc_locks_lines_of_other_files_and_waiters_are_not_the_lock(tmp_path: Path) -> None:
    lock = tmp_path / "lock"
    lock.write_text("")
    st = lock.stat()
    dev = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}"
    locks = tmp_path / "locks"
    locks.write_text(
        f"1: POSIX  ADVISORY  WRITE 11 {dev}:{st.st_ino + 1} 0 EOF\n"
        f"1: -> POSIX  ADVISORY  WRITE 12 {dev}:{st.st_ino} 0 EOF\n"
        "garbage\n"
        f"2: OFDLCK ADVISORY  WRITE -1 {dev}:{st.st_ino} 0 EOF\n"
    )
    assert install.lock_holder(str(lock), str(locks)) == 0  # held, owner unnamed


def test_a_lock_held_past_the_bound_is_one_line_naming_its_holder(
    held: tuple[Path, subprocess.Popen[str]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    lock, proc = held
    monkeypatch.setattr(install, "APT_LOCKS", (str(lock),))
    t0 = time.monotonic()
    with pytest.raises(LabError) as info:
        install.wait_for_package_lock(bound=1.0, interval=0.1)
    assert time.monotonic() - t0 < 5
    message = str(info.value)
    assert "\n" not in message
    assert f"pid {proc.pid}" in message
    assert "unattended-upgrade" in message
    assert str(lock) in message
    # one progress line while waiting
    out = capsys.readouterr().out
    assert out.count("waiting up to 1s for the package lock") == 1


def test_the_wait_ends_when_the_lock_is_released(
    held: tuple[Path, subprocess.Popen[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    lock, proc = held
    monkeypatch.setattr(install, "APT_LOCKS", (str(lock),))
    subprocess.Popen(["sh", "-c", f"sleep 0.5; kill {proc.pid}"])
    left = install.wait_for_package_lock(bound=20.0, interval=0.1)
    assert 10 < left <= 20  # what apt's own DPkg::Lock::Timeout gets
