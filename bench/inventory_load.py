"""What loading a large YAML inventory costs, on PyYAML's own parser and on libyaml's.

    python bench/inventory_load.py [--mb 50] [--hosts 2000] [--runs 3]

Writes an Ansible YAML inventory of about ``--mb`` megabytes: ``--hosts`` hosts, each with
its address and a PEM certificate in a block scalar (the kind of host variable that makes
an inventory large while its hosts stay few; afterboot refuses a document of more than
100 000 nodes). Then loads it through afterboot's inventory loader (``load_inventory``,
its hand parser: ansible-inventory hidden, whose own time is Ansible's), once with the
pure-Python loader the inventory was read with before (``yamlines._AnsibleLoader``) and
once as it is read now (``_FastAnsibleLoader``: libyaml's parser, the same mappings with
their line numbers). Prints the YAML parse alone and the whole load, min of ``--runs``,
and each before/after ratio. Needs no lab.
"""

from __future__ import annotations

import argparse
import base64
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from afterboot import yamlines
from afterboot.inventory import commands
from afterboot.inventory.load import load_inventory

FAST = (True, True)  # yamlines._LOADERS' key of an inventory's loader: (ansible, fast)


def inventory(megabytes: float, hosts: int) -> str:
    """An Ansible YAML inventory of about ``megabytes`` MB."""
    line = base64.b64encode(os.urandom(48)).decode()  # 64 characters, as PEM's
    per_host = int(megabytes * 1e6) // hosts
    body = max(1, (per_host - 150) // (len(line) + 13))
    out = ["all:", "  children:", "    compute:", "      hosts:"]
    for i in range(hosts):
        out += [
            f"        cmp-{i:05d}:",
            f"          ansible_host: 10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}",
            "          tls_certificate: |",
            "            -----BEGIN CERTIFICATE-----",
            *(f"            {line}" for _ in range(body)),
            "            -----END CERTIFICATE-----",
        ]
    return "\n".join(out) + "\n"


def best(runs: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=float, default=50.0)
    parser.add_argument("--hosts", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    commands.tool = lambda name: None  # the hand parser
    text = inventory(args.mb, args.hosts)
    fast = yamlines._LOADERS[FAST]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "inventory.yml"
        path.write_text(text)
        print(f"inventory: {len(text) / 1e6:.1f} MB, {args.hosts} hosts; min of {args.runs}")
        figures = {}
        for label, loader in (
            ("before (PyYAML)", yamlines._AnsibleLoader),
            ("after (libyaml)", fast),
        ):
            yamlines._LOADERS[FAST] = loader
            parse = best(args.runs, lambda: yamlines.load_yaml(text, "x", ansible=True, fast=True))
            load = best(args.runs, lambda: load_inventory(path))
            assert len(load_inventory(path).hosts) == args.hosts
            figures[label] = (parse, load)
            print(f"  {label:16} YAML parse {parse:7.2f} s   whole load {load:7.2f} s")
        yamlines._LOADERS[FAST] = fast
        (p0, l0), (p1, l1) = figures.values()
        print(f"  ratio            YAML parse {p0 / p1:6.1f}x    whole load {l0 / l1:6.1f}x")


if __name__ == "__main__":
    main()
