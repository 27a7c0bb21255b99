"""Time to verdict on the lab, side by side with an Ansible playbook reading the same state.

    python bench/verdict.py [--runs 5] [--ansible DIR] [--xdist 2] [--kex curve25519-sha256]

The lab must be up (``python -m lab up``). Each round runs, one after the other (so the
machine's noise hits both alike): the suite (post-reboot profile, whole process, as an
operator runs it: ``python -m lab run -- -q``), the Ansible baseline (``DIR/run.sh``, the
playbook that reads what the checks read; facts off, pipelining on), and with ``--xdist``
the suite under ``-n N``, and with ``--kex`` the suite with that key exchange in its
ssh_config (OpenSSH 9's post-quantum default costs ~80 ms of CPU per handshake). Prints
min/median/max of each, the ratio of medians, and from the suite's ``snapshot.json``:
round trips per host, reads made after the collection pass, and ssh masters opened.
Machines here are noisy: read the ratios and medians.

Each run's CPU is counted too: its own processes' (the command and what it started) and the
whole machine's (``/proc/stat``: the lab's hosts and services answering it as well). On the
lab, where the cloud answers on the cores the run uses, the machine's CPU seconds divided by
its cores is the shortest the run could take: the floor printed beside the medians. The
project's bytecode is compiled first, as ``make venv`` leaves it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scale import compile_bytecode, machine_busy  # noqa: E402
from tests.matrix.harness import suite_argv  # noqa: E402

# CPU seconds of each timed run, by name: its own processes' and the whole machine's
CPU: dict[str, dict[str, list[float]]] = {}


def children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def timed(argv: list[str], name: str = "") -> tuple[float, int, str]:
    own, machine = children_cpu(), machine_busy()
    started = time.monotonic()
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - started
    if name:
        cpu = CPU.setdefault(name, {"own": [], "machine": []})
        cpu["own"].append(children_cpu() - own)
        cpu["machine"].append(machine_busy() - machine)
    return seconds, proc.returncode, proc.stdout[-2000:] + proc.stderr[-2000:]


def cpu_figures(name: str) -> str:
    """Medians of a command's CPU seconds, and the floor they set on this machine."""
    cpu = CPU[name]
    machine = statistics.median(cpu["machine"])
    cores = os.cpu_count() or 1
    return (
        f"{name:<24} CPU median: own processes {statistics.median(cpu['own']):5.2f}s, "
        f"whole machine {machine:5.2f}s (floor on {cores} cores: {machine / cores:.2f}s)"
    )


def figures(name: str, values: list[float]) -> str:
    return (
        f"{name:<24} median {statistics.median(values):6.2f}s  "
        f"min {min(values):6.2f}s  max {max(values):6.2f}s  (n={len(values)})"
    )


def kex_inventory(tmp: Path, kex: str) -> Path:
    """The lab's inventory, its ssh_config led by ``KexAlgorithms kex``."""
    state = ROOT / "lab" / ".state"
    config = tmp / "ssh_config-kex"
    config.write_text(f"Host *\n    KexAlgorithms {kex}\n\n" + (state / "ssh_config").read_text())
    inventory = tmp / "inventory-kex.yaml"
    text = (state / "inventory.yaml").read_text()
    inventory.write_text(text.replace(str(state / "ssh_config"), str(config)))
    return inventory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--ansible", default=str(ROOT.parent / "shared/bench/ansible-baseline"))
    parser.add_argument("--xdist", type=int, default=0, help="also time the suite under -n N")
    parser.add_argument(
        "--kex",
        default="",
        help="also time the suite with KexAlgorithms KEX in its ssh_config (curve25519-sha256 "
        "against OpenSSH's post-quantum default)",
    )
    args = parser.parse_args()
    compile_bytecode()
    run_sh = Path(args.ansible) / "run.sh"
    times: dict[str, list[float]] = {
        "afterboot": [],
        "ansible": [],
        f"afterboot -n {args.xdist}": [],
        f"afterboot kex {args.kex}": [],
    }
    with tempfile.TemporaryDirectory(prefix="ab-verdict-") as tmp:
        reports = Path(tmp) / "reports"
        if run_sh.exists():  # the first Ansible run installs ansible-core: not timed
            subprocess.run(["bash", str(run_sh), str(ROOT)], cwd=ROOT, capture_output=True)
        for n in range(args.runs):
            seconds, rc, out = timed(suite_argv(reports), "afterboot")
            times["afterboot"].append(seconds)
            print(f"round {n + 1}: afterboot {seconds:.2f}s (exit {rc})", flush=True)
            if rc != 0:
                print(out)
            if run_sh.exists():
                seconds, rc, out = timed(["bash", str(run_sh), str(ROOT)], "ansible")
                times["ansible"].append(seconds)
                print(f"round {n + 1}: ansible   {seconds:.2f}s (exit {rc})", flush=True)
            if args.kex:
                inventory = kex_inventory(Path(tmp), args.kex)
                seconds, rc, _ = timed(
                    suite_argv(Path(tmp) / "kex", f"--inventory={inventory}"),
                    f"afterboot kex {args.kex}",
                )
                times[f"afterboot kex {args.kex}"].append(seconds)
                print(f"round {n + 1}: kex       {seconds:.2f}s (exit {rc})", flush=True)
            if args.xdist:
                seconds, rc, _ = timed(suite_argv(Path(tmp) / "xd", "-n", str(args.xdist)))
                times[f"afterboot -n {args.xdist}"].append(seconds)
                print(f"round {n + 1}: -n {args.xdist}     {seconds:.2f}s (exit {rc})", flush=True)
        snap = json.loads((reports / "snapshot.json").read_text())
    print()
    for name, values in times.items():
        if values:
            print(figures(name, values))
    for name in CPU:
        print(cpu_figures(name))
    if times["ansible"]:
        for name in ("afterboot", f"afterboot kex {args.kex}"):
            if times[name]:
                ratio = statistics.median(times["ansible"]) / statistics.median(times[name])
                print(f"ansible / {name} (medians): {ratio:.1f}x")
    hosts = snap["hosts"]
    print(
        f"collection pass: {snap['seconds']:.2f}s; ssh masters: {snap['ssh_masters']} for "
        f"{len(hosts)} hosts; round trips per host: "
        + ", ".join(f"{h}={v['commands']}" for h, v in sorted(hosts.items()))
    )
    late = {h: v["late_reads"] for h, v in hosts.items() if v["late_reads"]}
    print(f"reads after the pass: {late or 'none'}")
    slowest = max(hosts.items(), key=lambda kv: kv[1]["seconds"])
    print(f"slowest host read: {slowest[0]} {slowest[1]['seconds']:.2f}s")
    print(
        "cloud reads: "
        + ", ".join(f"{k} {v['seconds']:.2f}s" for k, v in sorted(snap["cloud"].items()))
    )


if __name__ == "__main__":
    main()
