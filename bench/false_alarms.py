"""False alarms on a healthy lab: run the whole suite N times, count what failed.

``python bench/false_alarms.py [runs]`` (the lab must be up: ``python -m lab up``).
Prints each run's failures and duration, then the total: the figure the fault matrix
note reports. Zero is the target.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.matrix.harness import run_suite


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    total = 0
    seconds = []
    with tempfile.TemporaryDirectory(prefix="ab-fa-") as tmp:
        for n in range(runs):
            outcome = run_suite(Path(tmp) / f"run{n}")
            broken = sorted(outcome.failed | outcome.could_not_run)
            total += len(broken)
            seconds.append(outcome.seconds)
            print(
                f"run {n + 1}/{runs}: {len(broken)} false alarm(s) in {outcome.seconds:.1f}s"
                + (f": {', '.join(broken)}" if broken else ""),
                flush=True,
            )
    print(
        f"false alarms: {total} over {runs} healthy runs; "
        f"suite run {min(seconds):.1f}-{max(seconds):.1f}s"
    )


if __name__ == "__main__":
    main()
