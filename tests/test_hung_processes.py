"""Processes in uninterruptible sleep (D) for long: the ``blocked`` read (run for real on
this machine), its parser, the proofs of how long (scheduler, hung-task report, an earlier
sample), the service judgement (one D sample is running: no false alarm), and the
remediation a hung service gets (find the I/O, never restart or kill first)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from typing import Any, cast

import pytest

from afterboot.checks.findings import Finding
from afterboot.collection import compose, read_host
from afterboot.domains.blocked import (
    HUNG_AFTER_S,
    cause_of,
    hung_processes,
    parse,
    script,
)
from afterboot.domains.servicemap import Service
from afterboot.domains.services import _by_process, process_table
from afterboot.inventory.model import HostSpec
from afterboot.procedures.runbook import load, render
from afterboot.reads.hostreads import PART, READS, resolve
from afterboot.snapshot import HostSnapshot, ReadResult, Snapshot
from afterboot.transport.connections import Remote
from afterboot.verdict.settle import recollect

from .conftest import ROOT

OBJECT_SERVER = Service("swift-object-server", r"swift-object-server")
STACK = "percpu_rwsem_wait,mnt_want_write,path_openat,do_filp_open,do_sys_openat2"


def _line(
    pid: int,
    state: str = "D",
    ran: str = "5000000.000000",
    now: str = "5075000.000000",
    switches: tuple[object, object] = (41, 3),
    wchan: str = "percpu_rwsem_wait",
    frozen: str = "-",
    stack: str = STACK,
    comm: str = "swift-object-se",
) -> str:
    """A line of the blocked read as its awk prints it."""
    fields = (pid, state, 1, *switches, ran, now, wchan, frozen, stack, comm)
    return "\t".join(str(f) for f in fields)


def _read(*lines: str, uptime: float = 5200.0, hung: tuple[str, ...] = (), t: int = 120) -> str:
    body = [f"now {uptime}", *lines]
    if lines:
        body += [f"{PART} hung", *hung, f"{PART} timeout", str(t)]
    return "\n".join(body) + "\n"


# a process table: the object server (pid 412) and a replicator, as ps prints them
PS = """top 0
  412     1   900 Ds   /usr/bin/python3 /usr/bin/swift-object-server /etc/swift/object-server.conf
  413     1   900 Ss   /usr/bin/python3 /usr/bin/swift-object-replicator /etc/swift/o.conf
"""


def _states(ps: str = PS) -> dict[int, tuple[str, int]]:
    return {p.pid: (p.state, p.age) for p in process_table(ps)}


# -- the parser ---------------------------------------------------------------------------


def test_the_read_parses_samples_reports_and_the_timeout() -> None:
    report = "[ 5100.123456] INFO: task swift-object-se:412 blocked for more than 120 seconds."
    read = parse(_read(_line(412), _line(77, comm="a: b c"), hung=(report, "junk"), t=240))
    assert read.uptime == 5200.0
    assert read.timeout == 240
    s = read.samples[412]
    assert (s.state, s.comm, s.wchan, s.switches) == (
        "D",
        "swift-object-se",
        "percpu_rwsem_wait",
        44,
    )
    assert s.stack[:2] == ("percpu_rwsem_wait", "mnt_want_write")
    assert s.stalled == pytest.approx(75.0)
    assert not s.frozen
    assert read.samples[77].comm == "a: b c"  # a name with blanks and colons is kept whole
    (r,) = read.reports
    assert (r.at, r.comm, r.pid, r.seconds) == (5100.123456, "swift-object-se", 412, 120)


def test_unknown_fields_give_no_duration() -> None:
    read = parse(_read(_line(412, ran="-", now="-", switches=("-", "-"), wchan="-", stack="-")))
    s = read.samples[412]
    assert (s.stalled, s.switches, s.wchan, s.stack) == (None, None, "", ())
    # a clock that went backwards (another CPU's, whatever the cause) proves nothing
    assert parse(_read(_line(412, ran="5000.0", now="4000.0"))).samples[412].stalled is None


def test_a_host_without_any_D_process_prints_no_kernel_log() -> None:
    read = parse("now 12.5\n")
    assert (read.uptime, dict(read.samples), read.reports) == (12.5, {}, ())


# -- how long: the proofs, and no false alarm --------------------------------------------


def test_blocked_past_the_threshold_by_the_scheduler_is_hung() -> None:
    hung = hung_processes(_states(), parse(_read(_line(412))))
    assert set(hung) == {412}
    h = hung[412]
    assert (h.proof, h.cause, h.wchan) == ("scheduler", "frozen-filesystem", "percpu_rwsem_wait")
    assert h.seconds == pytest.approx(75.0)


def test_a_short_D_is_no_alarm() -> None:
    # any disk I/O: 0.2 s in D, or 30 s (a slow disk), is below the threshold
    for stalled_ms in (200, 30000, HUNG_AFTER_S * 1000 - 1):
        line = _line(412, ran="5000000.0", now=str(5000000.0 + stalled_ms))
        assert hung_processes(_states(), parse(_read(line))) == {}


def test_one_D_sample_is_never_hung() -> None:
    # D in the second sample only (the process table saw it sleeping): no proof
    ps = PS.replace("Ds ", "Ss ")
    assert hung_processes(_states(ps), parse(_read(_line(412)))) == {}
    # D in the process table only: it ran again before the second sample
    assert hung_processes(_states(), parse(_read(_line(412, state="S")))) == {}
    assert hung_processes(_states(), parse(_read())) == {}


def test_a_recent_hung_task_report_of_this_process_proves_it() -> None:
    report = "[ 5100.500000] INFO: task swift-object-se:412 blocked for more than 120 seconds."
    line = _line(412, ran="-", now="-")  # no scheduler clock (no taskset, or no /proc/PID/sched)
    hung = hung_processes(_states(), parse(_read(line, hung=(report,))))
    assert hung[412].proof == "hung-task report"
    assert hung[412].seconds == 120


@pytest.mark.parametrize(
    ("report", "why"),
    [
        ("[ 4800.0] INFO: task swift-object-se:412 blocked for more than 120 seconds.", "old"),
        ("[ 5100.0] INFO: task swift-object-se:999 blocked for more than 120 seconds.", "pid"),
        ("[ 5100.0] INFO: task swift-account-s:412 blocked for more than 120 seconds.", "name"),
        ("[ 4250.0] INFO: task swift-object-se:412 blocked for more than 120 seconds.", "start"),
        ("[ 9100.0] INFO: task swift-object-se:412 blocked for more than 120 seconds.", "clock"),
    ],
)
def test_a_report_of_another_process_or_time_proves_nothing(report: str, why: str) -> None:
    # old: 400 s ago (> 2 timeouts: it may have recovered); pid, name: another task;
    # start: made before this process started (900 s ago: at 4300), the pid was reused;
    # clock: from the future (a time namespace's uptime)
    line = _line(412, ran="-", now="-")
    assert hung_processes(_states(), parse(_read(line, hung=(report,)))) == {}, why


def test_an_earlier_sample_with_the_same_switches_proves_the_time_between() -> None:
    now = _line(412, ran="-", now="-")
    earlier = parse(_read(_line(412, ran="-", now="-"), uptime=5130.0))
    hung = hung_processes(_states(), parse(_read(now)), earlier)
    assert (hung[412].proof, hung[412].seconds) == ("earlier sample", 70.0)
    # it ran in between (a context switch): a new D since, proves nothing
    moved = parse(_read(_line(412, ran="-", now="-", switches=(42, 3)), uptime=5130.0))
    assert hung_processes(_states(), parse(_read(now)), moved) == {}


def test_the_longest_proof_counts() -> None:
    report = "[ 5150.0] INFO: task swift-object-se:412 blocked for more than 122 seconds."
    hung = hung_processes(_states(), parse(_read(_line(412), hung=(report,))))
    assert (hung[412].proof, hung[412].seconds) == ("hung-task report", 122)


@pytest.mark.parametrize(
    ("wchan", "stack", "frozen", "cause"),
    [
        ("percpu_rwsem_wait", "", False, "frozen-filesystem"),
        ("do_sys_openat2", "mnt_want_write,path_openat", False, "frozen-filesystem"),
        ("rpc_wait_bit_killable", "__rpc_execute,nfs4_proc_getattr", False, "nfs"),
        ("folio_wait_bit_common", "folio_wait_writeback,nfs_wb_folio", False, "nfs"),
        ("io_schedule", "", False, "device-io"),
        ("blk_mq_get_tag", "", False, "device-io"),
        ("hrtimer_nanosleep", "hrtimer_nanosleep,common_nsleep", True, "cgroup-freezer"),
        ("__refrigerator", "", False, "cgroup-freezer"),
        ("some_driver_wait", "", False, ""),
        ("", "", False, ""),
    ],
)
def test_what_it_waits_on(wchan: str, stack: str, frozen: bool, cause: str) -> None:
    key, line = cause_of(wchan, [f for f in stack.split(",") if f], frozen)
    assert key == cause
    assert bool(line) == bool(cause)


# -- the service judgement ------------------------------------------------------------------


def test_a_service_whose_every_process_is_hung_is_not_running() -> None:
    table = process_table(PS)
    hung = hung_processes(_states(), parse(_read(_line(412))))
    state = _by_process(table, OBJECT_SERVER, hung)
    assert not state.running
    assert state.state == "hung"
    assert (state.pids, state.wchan, state.cause) == (
        "412",
        "percpu_rwsem_wait",
        "frozen-filesystem",
    )
    assert state.detail.startswith("hung in uninterruptible sleep, state D, for >= 75 s: pid 412")
    assert "frozen filesystem" in state.detail
    assert ")" not in state.detail  # the procedures' from_message reads "name (detail)"


def test_one_D_sample_of_a_service_is_running() -> None:
    table = process_table(PS)
    short = _line(412, ran="5000000.0", now="5000400.0")
    state = _by_process(table, OBJECT_SERVER, hung_processes(_states(), parse(_read(short))))
    assert state.running
    assert _by_process(table, OBJECT_SERVER).running  # without the read at all


def test_a_service_with_one_working_process_is_running() -> None:
    ps = PS + "  414     1   10 Sl   /opt/swift/bin/swift-object-server /etc/swift/x.conf\n"
    hung = hung_processes(_states(ps), parse(_read(_line(412))))
    assert _by_process(process_table(ps), OBJECT_SERVER, hung).running


def test_hung_and_stopped_processes_name_the_hang() -> None:
    ps = PS + "  414     1   10 T    /opt/swift/bin/swift-object-server /etc/swift/x.conf\n"
    hung = hung_processes(_states(ps), parse(_read(_line(412))))
    state = _by_process(process_table(ps), OBJECT_SERVER, hung)
    assert (state.running, state.state) == (False, "hung")


# -- the read on this machine ------------------------------------------------------------


def test_the_read_is_valid_shell_and_parses() -> None:
    out = subprocess.run(["sh", "-c", script()], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    read = parse(out.stdout)
    assert read.uptime is not None
    assert read.uptime > 0
    for sample in read.samples.values():  # whatever is in D on this machine right now
        assert sample.pid > 0


@pytest.mark.skipif(not os.path.exists("/proc/self/sched"), reason="no CONFIG_SCHED_DEBUG")
def test_the_scheduler_clock_measures_how_long_a_process_has_not_run() -> None:
    # a sleeping process (S, not D: the same clock) sampled by the read's own awk, pinned to
    # the CPU it last ran on: the time since it ran is at most the real time it slept
    proc = subprocess.Popen(["sleep", "30"])
    try:
        started = time.monotonic()
        time.sleep(1.5)
        select = f"echo /proc/{proc.pid}/status"
        out = subprocess.run(["sh", "-c", script(select)], capture_output=True, text=True)
        elapsed = time.monotonic() - started
    finally:
        proc.kill()
        proc.wait()
    sample = parse(out.stdout).samples[proc.pid]
    assert sample.state == "S"
    if shutil.which("taskset") is None:
        assert sample.stalled is None  # not pinned: no duration, never a guessed one
        return
    assert sample.stalled is not None
    assert 1.0 < sample.stalled <= elapsed + 0.01, (sample.stalled, elapsed)
    assert sample.switches is not None
    assert sample.switches >= 1
    assert sample.comm == "sleep"


# -- where the read runs -----------------------------------------------------------------


def test_a_process_host_reads_its_processes_and_then_the_second_sample() -> None:
    spec = HostSpec("st1", service_manager="process")
    assert resolve("services", spec) == ("processes", "blocked")
    assert resolve("services", HostSpec("st2", service_manager="systemd")) == ("units",)
    script_text = compose([READS["blocked"], READS["processes"], READS["mounts"]], spec, "@@n", 5)
    lines = script_text.splitlines()
    order = [
        next(i for i, line in enumerate(lines) if line.startswith(f"_ab {n} "))
        for n in ("processes", "mounts", "blocked")
    ]
    assert order == sorted(order)  # the second sample last, whatever the order asked


@pytest.fixture
def local() -> Iterator[Remote]:
    control = tempfile.mkdtemp(prefix="ab-h-")
    yield Remote(HostSpec("here", connection="local", service_manager="process"), 5.0, control)
    shutil.rmtree(control, ignore_errors=True)


def test_settle_keeps_the_first_sample_to_compare_with(local: Remote) -> None:
    first = ReadResult("blocked", 0, _read(_line(412), uptime=10.0))
    snap = Snapshot(hosts={"here": HostSnapshot("here", reads={"blocked": first})})
    conns = cast(Any, {"here": local})
    for _ in range(2):
        recollect(snap, conns, {"here": {"blocked"}}, set(), lambda: cast(Any, None), 5.0)
        assert snap.hosts["here"].reads["blocked@first"] is first
        assert local.reads["blocked@first"] is first
        assert snap.hosts["here"].reads["blocked"] is not first  # the latest is new
    assert read_host(local, ["blocked"], 5.0).reads["blocked"].ok


# -- the remediation -----------------------------------------------------------------------


def _finding(**extra: str) -> Finding:
    values = {"service": "swift-object-server", "manager": "process", **extra}
    return Finding("swift-object-server", "storage1", "running", "x", values)


HUNG = {
    "process_state": "hung",
    "pid": "412",
    "wchan": "percpu_rwsem_wait",
    "blocked_on": "writes wait for a frozen filesystem",
    "blocked_cause": "frozen-filesystem",
}


@pytest.mark.parametrize("check", [f"SVC-{n:03d}" for n in range(1, 11)])
def test_a_hung_service_gets_find_the_io_first_and_no_restart(check: str) -> None:
    proc = load()[check]
    steps = render(proc, [_finding(**HUNG)])
    text = "\n".join(" ".join(s.text) for s in steps)
    commands = "\n".join(c for s in steps for c in s.commands)
    assert steps[0].text[0].startswith("swift-object-server on storage1 is hung")
    assert "Do not restart or kill it" in text
    assert "/proc/412/stack" in commands or "for p in 412;" in commands
    assert "fsfreeze -u" in commands
    assert "systemctl restart" not in commands
    assert "swift-init" not in commands
    assert "systemctl start" not in commands
    assert "kill -9" not in commands
    reboot = [s for s in steps if any("reboot" in c for c in s.commands)]
    assert reboot
    assert all(s.guard for s in reboot)
    # another cause gets its own step, not the thaw
    nfs = render(proc, [_finding(**{**HUNG, "blocked_cause": "nfs"})])
    assert not any("fsfreeze" in c for s in nfs for c in s.commands)
    # a service that is simply not running gets none of it
    plain = render(proc, [_finding(actual="no process")])
    assert not any("uninterruptible" in " ".join(s.text) for s in plain)
    assert not any("fsfreeze" in c for s in plain for c in s.commands)


# -- SVC-007 end to end: the real check, a process host whose object server is hung ------

_SWIFT = [
    f"swift-{kind}-{daemon}"
    for kind, daemons in {
        "account": ("server", "replicator", "auditor"),
        "container": ("server", "replicator", "updater", "auditor"),
        "object": ("server", "replicator", "updater", "auditor"),
    }.items()
    for daemon in daemons
]
TABLE = (
    "top 0\n"
    + "".join(
        f"  {500 + n}     1   900 {'Ds' if name == 'swift-object-server' else 'Ss'}   "
        f"/usr/bin/python3 /usr/bin/{name} /etc/swift/x.conf\n"
        for n, name in enumerate(_SWIFT)
    )
    + "  600     1   900 S    /usr/bin/rsync --daemon --no-detach\n"
)
OBJECT_PID = 500 + _SWIFT.index("swift-object-server")

CANNED = """
from afterboot.reads.hostreads import READS, HostRead

# this host's process table and second sample, as a frozen swift device leaves them
for _name in ("processes", "blocked"):
    READS[_name] = HostRead(
        _name, "", lambda s, n=_name: f"cat {n}.txt", last=_name == "blocked"
    )
"""


@pytest.mark.parametrize("stalled_s", [75, 5])
def test_svc_007_names_the_hung_object_server_and_the_thaw(
    suite: pytest.Pytester, stalled_s: int
) -> None:
    suite.makefile(
        ".yaml",
        inventory="hosts:\n  st-01: {connection: local, roles: [object-storage], "
        "service_manager: process}\n",
    )
    suite.makeini(
        "[pytest]\naddopts = -p no:testinfra -p no:cacheprovider\n"
        "afterboot_check_paths = tests_cloud\nafterboot_inventory = inventory.yaml\n"
    )
    (suite.path / "tests_cloud" / "test_services.py").write_text(
        (ROOT / "tests_cloud" / "test_services.py").read_text()
    )
    (suite.path / "tests_cloud" / "conftest.py").write_text(CANNED)
    (suite.path / "processes.txt").write_text(TABLE)
    ms = 9_000_000.0
    line = _line(OBJECT_PID, ran=str(ms), now=str(ms + stalled_s * 1000), comm="python3")
    (suite.path / "blocked.txt").write_text(_read(line))
    result = suite.runpytest_subprocess("-k", "object_storage")
    out = result.stdout.str()
    outcomes = result.parseoutcomes()
    if stalled_s < HUNG_AFTER_S:  # one long-ish D: no alarm
        assert (outcomes.get("passed"), outcomes.get("failed")) == (1, None), out
        assert "uninterruptible" not in out
        return
    assert (outcomes.get("passed"), outcomes.get("failed")) == (None, 1), out
    assert f"hung in uninterruptible sleep, state D, for >= 75 s: pid {OBJECT_PID}" in out
    assert "SVC-007" in out
    plan = (suite.path / "reports" / "remediation.sh").read_text()
    assert "fsfreeze -u" in plan
    assert f"for p in {OBJECT_PID};" in plan
    assert "swift-init all start" not in plan
