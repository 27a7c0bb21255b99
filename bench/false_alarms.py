"""False alarms on a healthy lab: run every phase N times, count what failed.

    python bench/false_alarms.py [--runs 20] [--phases all] [--load-round 1]

The lab must be up and healthy (``python -m lab up``). Each round runs the suite once per
phase: the config gate against a baseline written from the lab at the start; the
pre-maintenance phase with every host named as about to go down, where MAINT-001 and
PERIODIC-007 fail by design (the lab's two compute hosts run instances that could go
nowhere else) and are counted apart, as the phase's findings, not as false alarms. One
round, ``--load-round`` (1-based, 0 for none), runs with every core kept busy by a
spinning process, as on a controller under load. Prints each run's false alarms (checks
failed, broken or could-not-run) and duration, then per phase and in total. Zero is the
target.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from afterboot.settings import PHASES  # noqa: E402
from lab.config import HOSTS  # noqa: E402
from tests.matrix.harness import run_suite, write_baseline  # noqa: E402

# what the healthy lab truly shows before a maintenance of every host (see the docstring)
EXPECTED = {"pre-maintenance": ("MAINT-001@", "PERIODIC-007@")}


def _spin() -> None:
    while True:
        pass


@contextmanager
def cpu_load(cores: int) -> Iterator[None]:
    """``cores`` processes each spinning one core, stopped on leaving."""
    spinners = [multiprocessing.Process(target=_spin, daemon=True) for _ in range(cores)]
    for p in spinners:
        p.start()
    try:
        yield
    finally:
        for p in spinners:
            p.terminate()
        for p in spinners:
            p.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--phases", default="all", help="comma-separated, or all")
    parser.add_argument("--load-round", type=int, default=1, help="1-based; 0: no loaded round")
    args = parser.parse_args()
    phases = PHASES if args.phases == "all" else tuple(args.phases.split(","))
    alarms: dict[str, list[str]] = {p: [] for p in phases}
    seconds: dict[str, list[float]] = {p: [] for p in phases}
    with tempfile.TemporaryDirectory(prefix="ab-fa-") as tmp:
        base = Path(tmp) / "baseline"
        if "config-gate" in phases:
            write_baseline(base, Path(tmp) / "baseline-reports")
        for n in range(1, args.runs + 1):
            loaded = n == args.load_round
            load = cpu_load(os.cpu_count() or 1) if loaded else _nothing()
            with load:
                for phase in phases:
                    extra = {
                        "config-gate": [f"--baseline={base}"],
                        "pre-maintenance": [f"--host={','.join(HOSTS)}"],
                    }.get(phase, [])
                    started = time.monotonic()
                    outcome = run_suite(Path(tmp) / f"r{n}-{phase}", phase, extra)
                    took = time.monotonic() - started
                    broken = sorted(
                        a for a in outcome.alarms() if not a.startswith(EXPECTED.get(phase, ()))
                    )
                    if not outcome.summary:
                        broken = [f"no summary.json (exit {outcome.exit_code})"]
                    alarms[phase] += [f"run {n}: {b}" for b in broken]
                    seconds[phase].append(took)
                    print(
                        f"run {n:2}/{args.runs} {phase:<16}{' (CPU load)' if loaded else '':11} "
                        f"{len(broken)} false alarm(s) in {took:5.1f}s"
                        + (f": {', '.join(broken)}" if broken else ""),
                        flush=True,
                    )
    total = 0
    for phase in phases:
        total += len(alarms[phase])
        print(
            f"{phase:<16} {len(alarms[phase])} false alarm(s) over {args.runs} runs; "
            f"median {statistics.median(seconds[phase]):.1f}s "
            f"(min {min(seconds[phase]):.1f}s, max {max(seconds[phase]):.1f}s)"
        )
    print(f"false alarms: {total} over {args.runs * len(phases)} healthy runs")


@contextmanager
def _nothing() -> Iterator[None]:
    yield


if __name__ == "__main__":
    main()
