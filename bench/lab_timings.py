"""Measure the lab: cold/warm `up`, `reboot HOST`, `down`, memory, idle CPU, cycles.

    python bench/lab_timings.py [--cold] [--reboot compute2] [--cycles N] [--idle 30]

--cold removes the hosts' state (not the venv) first, so `up` rebuilds every host
from scratch. Figures are printed; nothing is written.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import contextlib

from lab import Lab
from lab.config import HOSTS

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


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cold", action="store_true", help="remove host state first")
    ap.add_argument("--reboot", default="compute2")
    ap.add_argument("--idle", type=float, default=30)
    ap.add_argument("--cycles", type=int, default=0)
    a = ap.parse_args()
    lab = Lab()
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
    for i in range(a.cycles):
        timed(f"cycle {i + 1}: down", lab.down)
        timed(f"cycle {i + 1}: up", lab.up)
    timed("down", lab.down)
    timed("up after down (warm disks)", lab.up)
    return 0


if __name__ == "__main__":
    sys.exit(main())
