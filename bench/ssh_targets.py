"""What asking ssh where it connects costs a fleet, per host against once per alike set.

    python bench/ssh_targets.py [--hosts 5000] [--runs 3]

No lab, no network: ``ssh -G`` only reads its configuration. The configuration is a
site's: a bastion and names of its own, a block for one network, one for a single host,
a default for all. Prints, per run, the time of ``ssh -G`` for every host (as before) and
of afterboot's grouped asking (afterboot.transport.reach.targets), their medians and
ratio, and checks that both say the same.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from afterboot.transport import reach  # noqa: E402

CONFIG = """Host bastion cmp-*
  User admin
Host 10.20.*
  Port 2202
Host 10.10.0.7
  Port 2207
Host *
  ServerAliveInterval 5
"""


def fleet(config: Path, n: int) -> dict[str, list[str]]:
    argvs = {}
    for i in range(n):
        net = 10 if i % 2 else 20
        address = f"10.{net}.{i // 250 % 250}.{i % 250 + 1}"
        argvs[f"h{i:05}"] = ["ssh", "-F", str(config), "-l", "ops", "--", address, "true"]
    return argvs


def one_by_one(argvs: dict[str, list[str]]) -> dict[str, tuple[str, int]]:
    with ThreadPoolExecutor(reach.RESOLVE_WORKERS) as pool:
        asked = pool.map(lambda a: reach.target(a, 5.0), argvs.values())
        got = dict(zip(argvs, asked, strict=True))
    return {n: t for n, t in got.items() if t is not None}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "ssh_config"
        config.write_text(CONFIG)
        argvs = fleet(config, args.hosts)
        each, grouped = [], []
        for run in range(args.runs):
            t0 = time.perf_counter()
            old = one_by_one(argvs)
            t1 = time.perf_counter()
            new = reach.targets(argvs, 5.0)
            t2 = time.perf_counter()
            assert old == new, "grouped asking says otherwise than ssh -G for each host"
            each.append(t1 - t0)
            grouped.append(t2 - t1)
            print(f"run {run + 1}: ssh -G per host {t1 - t0:.2f}s, grouped {t2 - t1:.3f}s")
        a, b = statistics.median(each), statistics.median(grouped)
        print(
            f"{args.hosts} hosts, median of {args.runs}: per host {a:.2f}s "
            f"({a / args.hosts * 1000:.2f} ms/host), grouped {b:.3f}s: {a / b:.0f}x faster"
        )


if __name__ == "__main__":
    main()
