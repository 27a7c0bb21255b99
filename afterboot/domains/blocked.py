"""Processes in uninterruptible sleep (``D``) for long: how long, proven, and what they wait on.

A process in ``D`` waits inside the kernel for I/O and cannot be killed (SIGKILL waits until
the I/O returns): "restart it" does not work, and a reboot may hang on it. A short ``D`` is
any disk I/O, so one sample proves nothing. The ``blocked`` read (:mod:`afterboot.reads.hostreads`,
run last in the host's script, after ``processes``) reads again only the processes in ``D``
at that moment, and these lower bounds of how long each has been blocked are used:

- **the scheduler**: ``/proc/PID/sched``'s ``se.exec_start`` is the run-queue clock when the
  process last ran. The read runs pinned (``taskset``) to the CPU the process last ran on,
  so its own ``se.exec_start`` is "now" on that same clock: the difference can only be
  *less* than the real time since the process ran (that clock leaves out IRQ and steal
  time). A process enters ``D`` by running, so it has been in this one sleep since.
- **the kernel's hung-task report** (``INFO: task NAME:PID blocked for more than N
  seconds.``, ``kernel.hung_task_timeout_secs``, 120 by default): same pid, same name (cut
  to 15 characters), made while this process existed and recently (within two detector
  periods: a task still blocked is reported again every period). Reports name pids of the
  kernel's own namespace: inside a PID namespace (containers, the lab) they match nothing.
- **an earlier sample** (``--settle``'s first round, kept as ``blocked@first``): in ``D``
  in both with the same number of context switches: it has not run in between.

A process counts as hung only when it is in ``D`` in the ``processes`` read *and* in the
``blocked`` read and one of those proves at least :data:`HUNG_AFTER_S` seconds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from afterboot.inventory.model import HostSpec
from afterboot.reads.hostreads import PART, HostRead, register, unexpected

# A process proven in D this long is hung. Longer than a disk's command timeout (SCSI:
# 30 s, then it errors or retries) and NFS's first timeout (timeo=600: 60 s); half the
# kernel's own hung-task threshold (120 s by default). A healthy I/O wakes its process
# long before: each wake-up is a context switch, and the proof starts again.
HUNG_AFTER_S = 60.0
# The kernel reports a task still blocked again every detector period (the timeout).
DEFAULT_HUNG_TASK_TIMEOUT_S = 120

_HUNG_TASK = re.compile(
    r"^\[\s*(?P<at>\d+\.\d+)\]\s+INFO: task (?P<comm>.+):(?P<pid>\d+) "
    r"blocked for more than (?P<seconds>\d+) seconds"
)


@dataclass(frozen=True)
class Sample:
    """One process in ``D`` as the ``blocked`` read saw it."""

    pid: int
    state: str
    comm: str
    wchan: str
    stack: tuple[str, ...]  # kernel stack function names (root only), innermost first
    switches: int | None  # voluntary + involuntary context switches
    stalled: float | None  # seconds since it last ran (the scheduler's clock), if known
    frozen: bool = False  # its cgroup is frozen (cgroup freezer: docker/podman pause)


@dataclass(frozen=True)
class HungReport:
    """A kernel hung-task report: ``at`` seconds after boot, blocked > ``seconds``."""

    at: float
    comm: str
    pid: int
    seconds: int


@dataclass(frozen=True)
class BlockedRead:
    uptime: float | None
    samples: Mapping[int, Sample]
    reports: tuple[HungReport, ...] = ()
    timeout: int = DEFAULT_HUNG_TASK_TIMEOUT_S


@dataclass(frozen=True)
class Hung:
    """A process proven blocked in ``D`` for at least ``seconds``."""

    pid: int
    seconds: float
    proof: str  # "scheduler", "hung-task report", "earlier sample"
    wchan: str
    cause: str  # key of CAUSES ("" when the wait names none)
    because: str  # one line: what it most likely waits on


# What a blocked process waits on, from its wchan and kernel stack (first rule that
# matches any of its frames, by prefix).
CAUSES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    (
        "frozen-filesystem",
        (
            "percpu_rwsem_wait",
            "sb_start_write",
            "__sb_start_write",
            "sb_start_pagefault",
            "sb_start_intwrite",
            "mnt_want_write",
            "freeze_",
        ),
        "writes wait for a frozen filesystem: fsfreeze -f left by a snapshot or backup tool",
    ),
    (
        "nfs",
        ("rpc_wait_bit_killable", "__rpc_", "rpc_", "nfs", "nlmclnt_"),
        "waits on an NFS server that does not answer: a hard mount",
    ),
    (
        "cgroup-freezer",
        ("__refrigerator", "do_freezer_trap", "freezer_"),
        "frozen by the cgroup freezer: docker pause, a frozen cgroup",
    ),
    (
        "device-io",
        (
            "io_schedule",
            "blk_mq_get_tag",
            "bit_wait_io",
            "folio_wait_bit",
            "wait_on_page_bit",
            "submit_bio_wait",
            "__wait_on_buffer",
            "blkdev_",
            "rbd_",
            "iscsi_",
            "scsi_",
            "xlog_",
            "jbd2_",
        ),
        "waits for a block device's I/O: a dead disk, a lost iSCSI, RBD or multipath path",
    ),
)


def cause_of(wchan: str, stack: Iterable[str] = (), frozen: bool = False) -> tuple[str, str]:
    """``(key, line)`` of what a process blocked in ``wchan`` with ``stack`` waits on; a
    process of a frozen cgroup shows ``D`` with the wchan of the sleep it was frozen in."""
    frames = [f for f in (*stack, wchan) if f and f not in ("-", "0")]
    if frozen:
        frames.insert(0, "__refrigerator")
    for key, prefixes, line in CAUSES:
        if any(f.startswith(prefixes) for f in frames):
            return key, line
    return "", ""


def _float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _sample(line: str) -> Sample | None:
    fields = line.split("\t", 10)
    if len(fields) != 11 or not fields[0].isdigit():
        return None
    pid, state, _cpu, vol, nonvol, ran, now, wchan, frozen, stack, comm = fields
    switches = int(vol) + int(nonvol) if vol.isdigit() and nonvol.isdigit() else None
    ran_ms, now_ms = _float(ran), _float(now)
    stalled = None
    if ran_ms is not None and now_ms is not None and now_ms >= ran_ms:
        stalled = (now_ms - ran_ms) / 1000.0
    frames = tuple(f for f in stack.split(",") if f and f != "-")
    return Sample(
        int(pid),
        state,
        comm,
        wchan if wchan != "-" else "",
        frames,
        switches,
        stalled,
        frozen == "frozen",
    )


def parse(text: str, host: str = "") -> BlockedRead:
    """The ``blocked`` read: ``now UPTIME``, a tab-separated line per process in ``D``
    (pid, state, cpu, switches, when it ran and now in ms, wchan, frozen, stack, comm), then the
    kernel's hung-task reports and ``hung_task_timeout_secs`` as parts. Any other line
    before the parts, a timeout that is no number, or a part of another name is
    could-not-run naming it: garbage is not "no process blocked"."""
    uptime: float | None = None
    samples: dict[int, Sample] = {}
    reports: list[HungReport] = []
    timeout = DEFAULT_HUNG_TASK_TIMEOUT_S
    part = ""
    for line in text.splitlines():
        if not line.strip():
            continue
        if line.startswith(PART + " "):
            part = line[len(PART) + 1 :].strip()
            if part not in ("hung", "timeout"):
                raise unexpected(host, "blocked", line)
        elif part == "hung":  # the kernel's log, as grep let it through: one not a
            # report this parses (another timestamp format) proves nothing, and is left
            m = _HUNG_TASK.match(line.strip())
            if m:
                reports.append(
                    HungReport(float(m["at"]), m["comm"], int(m["pid"]), int(m["seconds"]))
                )
        elif part == "timeout":
            if not line.strip().isdigit():
                raise unexpected(host, "blocked", line)
            timeout = int(line.strip())
        elif line.startswith("now "):
            uptime = _float(line[4:].strip())
            if uptime is None:
                raise unexpected(host, "blocked", line)
        else:
            got = _sample(line)
            if got is None:
                raise unexpected(host, "blocked", line)
            samples[got.pid] = got
    return BlockedRead(uptime, samples, tuple(reports), timeout)


def _reported(sample: Sample, read: BlockedRead, age: int | None) -> float:
    """Seconds a recent hung-task report of this very process proves (0: none)."""
    if read.uptime is None or read.timeout <= 0:
        return 0.0
    best = 0.0
    for r in read.reports:
        if r.pid != sample.pid or r.comm != sample.comm[:15]:
            continue
        since = read.uptime - r.at
        if not 0 <= since <= 2 * read.timeout:
            continue  # old (it may have recovered since), or another clock (a time namespace)
        if age is not None and read.uptime - age > r.at:
            continue  # reported before this process started: the pid was another's
        best = max(best, float(r.seconds))
    return best


def hung_processes(
    states: Mapping[int, tuple[str, int]],
    read: BlockedRead,
    earlier: BlockedRead | None = None,
    threshold: float = HUNG_AFTER_S,
) -> dict[int, Hung]:
    """The processes proven in ``D`` for at least ``threshold`` seconds.

    ``states`` is the ``processes`` read's first sample: pid -> (ps STAT, age in s); a
    process must be in ``D`` there and in the ``blocked`` read (two samples, never one)."""
    out: dict[int, Hung] = {}
    for pid, sample in read.samples.items():
        first = states.get(pid)
        if first is None or not first[0].startswith("D") or not sample.state.startswith("D"):
            continue
        proofs: list[tuple[float, str]] = []
        if sample.stalled is not None:
            proofs.append((sample.stalled, "scheduler"))
        reported = _reported(sample, read, first[1])
        if reported:
            proofs.append((reported, "hung-task report"))
        before = earlier.samples.get(pid) if earlier is not None else None
        if (
            earlier is not None
            and before is not None
            and earlier.uptime is not None
            and read.uptime is not None
            and before.state.startswith("D")
            and before.comm == sample.comm
            and before.switches is not None
            and before.switches == sample.switches
        ):
            proofs.append((read.uptime - earlier.uptime, "earlier sample"))
        if not proofs:
            continue
        seconds, proof = max(proofs)
        if seconds >= threshold:
            key, because = cause_of(sample.wchan, sample.stack, sample.frozen)
            out[pid] = Hung(pid, seconds, proof, sample.wchan, key, because)
    return out


# The ``blocked`` read's per-process part: run pinned to the CPU the process last ran on
# (``pinned`` set), so that its own se.exec_start is "now" on that CPU's clock.
_AWK = r"""
function val(f, key,   l, a, v) {
  v = "-"
  while ((getline l < f) > 0)
    if (index(l, key) == 1) { split(l, a, ":"); v = a[2]; gsub(/[ \t]/, "", v) }
  close(f); return v
}
function line1(f,   l) { l = "-"; if ((getline l < f) <= 0) l = "-"; close(f); return l }
BEGIN {
  d = "/proc/" p "/"
  st = line1(d "stat"); sub(/.*\) /, "", st); split(st, s, " ")
  ran = val(d "sched", "se.exec_start")
  now = (pinned && ran != "-") ? val("/proc/self/sched", "se.exec_start") : "-"
  vol = val(d "status", "voluntary_ctxt_switches")
  nonvol = val(d "status", "nonvoluntary_ctxt_switches")
  w = line1(d "wchan"); if (w == "" || w == "0") w = "-"
  frozen = "-"
  while ((getline l < (d "cgroup")) > 0) {
    split(l, g, ":")
    if (g[2] == "freezer" && line1("/sys/fs/cgroup/freezer" g[3] "/freezer.state") == "FROZEN")
      frozen = "frozen"
    if (g[1] == "0" && g[2] == "") {
      e = "/sys/fs/cgroup" g[3] "/cgroup.events"
      while ((getline x < e) > 0) if (x == "frozen 1") frozen = "frozen"
      close(e)
    }
  }
  close(d "cgroup")
  stack = ""; n = 0
  while (n < 12 && (getline l < (d "stack")) > 0) {
    sub(/^\[<[^>]*>\] /, "", l); sub(/\+.*/, "", l); stack = stack (n++ ? "," : "") l
  }
  close(d "stack"); if (stack == "") stack = "-"
  printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t", p, s[1], c, vol, nonvol, ran, now
  printf "%s\t%s\t%s\t%s\n", w, frozen, stack, line1(d "comm")
}
"""


IN_D = "grep -s -l '^State:[[:space:]]*D' /proc/[0-9]*/status"


def script(select: str = IN_D) -> str:
    """The ``blocked`` read: only the processes in ``D`` now (one ``grep`` when none is);
    the kernel's hung-task reports only when there is one. ``select`` prints the
    ``/proc/PID/status`` paths of the processes to sample."""
    awk = _AWK.strip().replace("'", "")
    return (
        "echo \"now $(cut -d' ' -f1 /proc/uptime)\"; n=0; "
        f"for f in $({select}); do "
        "p=${f#/proc/}; p=${p%/status}; "
        "c=$(sed 's/.*) //' \"/proc/$p/stat\" 2>/dev/null | cut -d' ' -f37); "
        '[ -n "$c" ] || continue; n=$((n + 1)); '
        'if command -v taskset >/dev/null 2>&1 && taskset -c "$c" true 2>/dev/null; '
        'then pin="taskset -c $c"; else pin=; fi; '
        f'$pin awk -v p="$p" -v c="$c" -v pinned="${{pin:+1}}" \'{awk}\'; done; '
        f'if [ "$n" -gt 0 ]; then echo "{PART} hung"; '
        "dmesg 2>/dev/null | grep -E 'INFO: task .*:[0-9]+ blocked for more than' | tail -n 20; "
        f'echo "{PART} timeout"; cat /proc/sys/kernel/hung_task_timeout_secs 2>/dev/null; fi; '
        "true"
    )


# -- the reads this module judges (afterboot.reads.hostreads' registry) --------------


def _blocked(spec: HostSpec) -> str:
    return script()


register(
    HostRead(
        "blocked",
        "the processes in uninterruptible sleep (D) at the end of the script: state, "
        "context switches, how long since they ran, wchan, kernel stack; the kernel's "
        "hung-task reports when there are any (afterboot/domains/blocked.py)",
        _blocked,
        last=True,
    ),
)
