"""Measure the lab: cold/warm `up`, `reboot HOST`, `down`, memory, idle CPU, cycles.

    python bench/lab_timings.py [--cold] [--reboot compute2] [--cycles N] [--idle 30]
    python bench/lab_timings.py --only-cycles 10

Each cycle is `down`, `up`, then the suite against the lab: a cycle is green when the
suite reports no failed and no could-not-run check.

--cold removes the hosts' state (not the venv) first, so `up` rebuilds every host
from scratch. Figures are printed; nothing is written.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import contextlib

from lab import Lab
from lab.config import HOSTS
from tests.matrix.harness import run_suite

CLK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def lab_pids(lab: Lab) -> list[int]:
    """Every process of every lab host (descendants of each host's init)."""
    children: dict[int, list[int]] = {}
    for st in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = st.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(st.parent.name))
    out: list[int] = []
    todo = [p for h in HOSTS if (p := lab.hosts.init_pid(h)) is not None]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def rss_bytes(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    return total


def cpu_ticks(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(f[11]) + int(f[12])
        except OSError:
            pass
    return total


def timed(label: str, fn: object) -> float:
    t0 = time.monotonic()
    fn()  # type: ignore[operator]
    dt = time.monotonic() - t0
    print(f"{label:28} {dt:7.1f} s", flush=True)
    return dt


def suite_verdict() -> str:
    """Run the suite against the lab (as the fault matrix does); "green" or what failed."""
    with tempfile.TemporaryDirectory(prefix="afterboot-cycle-") as tmp:
        outcome = run_suite(Path(tmp))
    bad = sorted(outcome.failed | outcome.could_not_run)
    return "green" if not bad else "RED: " + ", ".join(bad)


def cycles(lab: Lab, n: int) -> int:
    green = 0
    for i in range(n):
        timed(f"cycle {i + 1}: down", lab.down)
        timed(f"cycle {i + 1}: up", lab.up)
        t0 = time.monotonic()
        verdict = suite_verdict()
        green += verdict == "green"
        print(f"{f'cycle {i + 1}: suite':28} {time.monotonic() - t0:7.1f} s  {verdict}", flush=True)
    print(f"{'cycles green':28} {green:4d} of {n}")
    return 0 if green == n else 1


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cold", action="store_true", help="remove host state first")
    ap.add_argument("--reboot", default="compute2")
    ap.add_argument("--idle", type=float, default=30)
    ap.add_argument("--cycles", type=int, default=0)
    ap.add_argument("--only-cycles", type=int, default=0, help="just N down/up/suite cycles")
    a = ap.parse_args()
    lab = Lab()
    if a.only_cycles:
        return cycles(lab, a.only_cycles)
    if a.cold:
        timed("down (before cold up)", lab.down)
        shutil.rmtree(lab.state / "hosts", ignore_errors=True)
        timed("cold up", lab.up)
    else:
        timed("up (as found)", lab.up)
    timed("warm up (already up)", lab.up)
    timed(f"reboot {a.reboot}", lambda: lab.reboot(a.reboot))
    timed(f"heal reboot@{a.reboot}", lambda: lab.heal(f"reboot@{a.reboot}"))
    time.sleep(10)
    pids = lab_pids(lab)
    print(f"{'processes':28} {len(pids):7d}")
    print(f"{'memory (sum RSS)':28} {rss_bytes(pids) / 2**30:7.2f} GiB")
    t0, c0 = time.monotonic(), cpu_ticks(pids)
    time.sleep(a.idle)
    pids = lab_pids(lab)
    busy = (cpu_ticks(pids) - c0) / CLK / (time.monotonic() - t0)
    print(f"{f'idle CPU over {a.idle:.0f} s':28} {busy * 100:7.1f} % of one core")
    rc = cycles(lab, a.cycles) if a.cycles else 0
    timed("down", lab.down)
    timed("up after down (warm disks)", lab.up)
    return rc


if __name__ == "__main__":
    sys.exit(main())
