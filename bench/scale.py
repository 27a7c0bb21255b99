"""Time to verdict as the inventory grows, and what silent hosts cost.

    python bench/scale.py [N ...] [--unreachable 20] [--timeout 2]

The lab must be up. For each N (default 5 25 100) it writes an N-host inventory: the
lab's five hosts, then aliases of them until N (``storage1-a007`` ...), each alias its
own ssh_config block pointing at the real host, so every alias is a host of its own to
the suite (its own connection, its own reads). Aliases carry their host's roles except
those whose checks look a host up by name in the cloud's own records (compute,
block-storage, messaging, database): an alias is not in nova's service list. Prints the
whole run's wall time, the collection pass, round trips per host and ssh masters. The
project's bytecode is compiled first, as ``make venv`` leaves it.

``--kex ALGORITHMS`` puts ``KexAlgorithms ALGORITHMS`` in the aliases' ssh_config, to see
what the key exchange costs (``curve25519-sha256`` against OpenSSH's post-quantum default).

``--unreachable K`` adds K hosts at lab addresses nobody answers (inside the lab's own
network namespace, so no packet leaves it) and runs at ``--timeout``: they must cost
about one timeout in all, not one each.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.matrix.harness import suite_argv  # noqa: E402

STATE = ROOT / "lab" / ".state"
NAMEBOUND = {"compute", "block-storage", "messaging", "database"}
PEAK_MB = 0.0  # the largest process the last run started (afterboot's pytest)
# CPU seconds of the last run: the operator's side (afterboot's pytest and the ssh clients it
# starts) and the whole machine's (the lab's hosts answering, and any other load, besides)
CPU = {"operator": 0.0, "machine": 0.0}


def machine_busy() -> float:
    """CPU seconds this machine has spent busy since boot (``/proc/stat``)."""
    ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # not idle, iowait


def compile_bytecode() -> None:
    """The project's bytecode as ``make venv`` leaves it (and pytest's rewritten checks):
    where PYTHONDONTWRITEBYTECODE is set, a module edited since would be compiled again in
    every timed run (~0.2 s a run at 5 hosts), a cost no installed copy has."""
    paths = ["conftest.py", "afterboot", "fixtures", "plugins", "tests_cloud", "lab"]
    subprocess.run([sys.executable, "-m", "compileall", "-q", *paths], cwd=ROOT, check=False)
    collect = ["--collect-only", "-q", "-p", "no:cacheprovider", "tests_cloud"]
    subprocess.run(
        [sys.executable, "-m", "pytest", *collect],
        cwd=ROOT,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": ""},
        capture_output=True,
        check=False,
    )


def ssh_blocks() -> dict[str, str]:
    text = (STATE / "ssh_config").read_text()
    blocks = {}
    for block in re.split(r"\n(?=Host )", text.strip()):
        name = block.split("\n", 1)[0].split()[1]
        blocks[name] = block
    return blocks


def write(tmp: Path, total: int, unreachable: int, kex: str = "") -> Path:
    lab = yaml.safe_load((STATE / "inventory.yaml").read_text())
    blocks = ssh_blocks()
    real = list(lab["hosts"].items())
    hosts = dict(real)
    config = list(blocks.values())
    i = 0
    while len(hosts) < total:
        name, spec = real[i % len(real)]
        alias = f"{name}-a{i:03d}"
        roles = [r for r in spec.get("roles", []) if r not in NAMEBOUND]
        hosts[alias] = {"address": spec["address"], "roles": roles}
        config.append(re.sub(r"^Host \S+", f"Host {alias}", blocks[name]))
        i += 1
    for k in range(unreachable):
        # names of their own, addresses of the lab's network nobody holds (no packet
        # leaves the lab's namespace), given in the inventory: ssh's HostName is it
        # (a role: a host without one is not read at all, and would cost nothing)
        hosts[f"silent-{k:05d}"] = {"address": f"10.77.0.{200 + k % 55}", "roles": ["dashboard"]}
    if kex:
        config.insert(0, f"Host *\n    KexAlgorithms {kex}")
    (tmp / "ssh_config").write_text("\n\n".join(config) + "\n")
    lab["defaults"]["ssh_config"] = str(tmp / "ssh_config")
    lab["hosts"] = hosts
    path = tmp / f"inventory-{total}-{unreachable}.yaml"
    path.write_text(yaml.safe_dump(lab, sort_keys=False))
    return path


def run(inventory: Path, reports: Path, timeout: float | None) -> tuple[float, str, dict[str, Any]]:
    argv = suite_argv(
        reports, f"--inventory={inventory}", *([f"--timeout={timeout:g}"] if timeout else [])
    )
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy = machine_busy()
    started = time.monotonic()
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - started
    CPU["machine"] = machine_busy() - busy
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU["operator"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    global PEAK_MB
    PEAK_MB = after.ru_maxrss / 1024
    tail = proc.stdout.strip().splitlines()[-1:] or ["(no output)"]
    snap = json.loads((reports / "snapshot.json").read_text())
    return seconds, tail[0], snap


def report(label: str, seconds: float, tail: str, snap: dict[str, Any]) -> None:
    hosts = snap["hosts"]
    commands = sorted({v["commands"] for v in hosts.values()})
    silent = sum(1 for v in hosts.values() if v["unreachable"])
    print(
        f"{label}: {seconds:.1f}s whole run, collection pass {snap['seconds']:.1f}s; "
        f"{len(hosts)} hosts ({silent} unreachable), round trips per host {commands}, "
        f"ssh masters {snap['ssh_masters']}, peak RSS {PEAK_MB:.0f} MB; pytest: {tail}",
        flush=True,
    )
    read = len(hosts) - silent
    print(
        f"  CPU: operator side {CPU['operator']:.2f}s (afterboot and its ssh clients; "
        f"{1000 * CPU['operator'] / max(1, read):.0f} ms per host read), whole machine "
        f"{CPU['machine']:.2f}s (the rest: the lab's hosts answering, and other load; "
        f"the floor it sets on {os.cpu_count() or 1} cores: "
        f"{CPU['machine'] / (os.cpu_count() or 1):.1f}s)",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[5, 25, 100])
    parser.add_argument("--unreachable", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=2.0)
    parser.add_argument("--kex", default="", help="KexAlgorithms for the aliases' ssh_config")
    args = parser.parse_args()
    compile_bytecode()
    with tempfile.TemporaryDirectory(prefix="ab-scale-") as tmp_name:
        tmp = Path(tmp_name)
        for n in args.sizes:
            inv = write(tmp, n, 0, args.kex)
            report(
                f"N={n}" + (f" (kex {args.kex})" if args.kex else ""),
                *run(inv, tmp / f"r{n}", None),
            )
        if args.unreachable:
            inv = write(tmp, 5, args.unreachable)
            seconds, tail, snap = run(inv, tmp / "silent", args.timeout)
            report(
                f"5 hosts + {args.unreachable} silent at --timeout={args.timeout:g}",
                seconds,
                tail,
                snap,
            )


if __name__ == "__main__":
    main()
