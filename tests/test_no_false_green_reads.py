"""Property: a check never passes, and never skips, when one of the reads it declared
failed, timed out, or answered garbage; each read on its own, the others healthy.

The base is the lab's snapshot, recorded healthy (``tests/data/snapshots``). For each
read a copy is made where that read alone is broken, in one of three ways, on every host
that holds it (or the cloud read): an error exit, a timeout (124), or an exit 0 with text
that is not what the read prints (for a read kept as its devices or options, contents that
are not a ring or an INI file). The real checks judge each copy (``--from-snapshot``); every
check whose declared reads include the broken one (the reads the collection pass makes for
it: ``afterboot.collection.needs``) must end failed, could-not-run or broken.

Reads no check shares are broken in the same copy (a greedy colouring of the reads), so
a handful of runs cover them all.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from .conftest import ROOT, lab

PHASES = ("post-upgrade", "periodic", "post-restore")
MODES = ("error", "timeout", "garbage")
GARBAGE = "garbage: not what this read prints\n\x1b[31m{[(<!-- \x00 -->\n0 0 0 ? ?\n"

# Reads a check makes only to describe a failure it found (the remediation's evidence),
# never to decide one: when there is nothing to describe, they are not needed.
EVIDENCE_ONLY = {
    # whether a stranded instance's host still runs its domain (fenced or not), read for
    # the instances on a down host only
    ("NOVA-009", "domains"),
    # the device directories of a storage host absent from a ring, for its ring command
    ("INV-002", "swift_devices"),
    # which Galera node answered (the server nova's DSN reaches), to name it: the status
    # judged is the galera read's
    ("DB-003", "database_server"),
}

# Skips that come before any read: the check is not for this run.
STRUCTURAL_SKIPS = ("the inventory declares no", "only in --phase=config-gate", "deselected")

# Installed in the judge runs' conftest: what each check declared, as the pass resolves it.
RECORDER = """
import json, os
from afterboot.collection import needs
from afterboot.inventory.load import scoped_inventory


def pytest_collection_finish(session):
    inv = scoped_inventory(session.config)
    items = {}
    for item in session.items:
        per_host, cloud = needs([item], inv)
        marker = item.get_closest_marker("check")
        items[item.nodeid] = {
            "check": marker.args[0] if marker else "",
            "reads": sorted(r for reads in per_host.values() for r in reads) + sorted(cloud),
        }
    ITEMS.update(items)


def pytest_runtest_logreport(report):
    if report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        SKIPS[report.nodeid] = reason


SKIPS = {}
ITEMS = {}


def pytest_sessionfinish(session):
    with open(os.environ["AB_ITEMS"], "w") as f:
        json.dump({"items": ITEMS, "skips": SKIPS}, f)
"""

Doc = dict[str, Any]


def _broken(read: dict[str, Any], name: str, mode: str) -> dict[str, Any]:
    if mode == "error":
        return {"rc": 1, "data": "", "stderr": f"{name}: injected failure"}
    if mode == "timeout":
        return {"rc": 124, "data": ""}
    data = read.get("data")
    if isinstance(data, dict) and name == "configs":
        text = "".join(f"@@afterboot-part {path}\n{GARBAGE}" for path in data)
        return {"rc": 0, "data": {p: {"(unparsable)": "garbage"} for p in data}, "text": text}
    if isinstance(data, dict):  # swift_rings: each ring as its devices, or why not
        return {"rc": 0, "data": dict.fromkeys(data, "garbage")}
    return {"rc": 0, "data": GARBAGE}


def _break(doc: Doc, names: set[str], mode: str) -> Doc:
    out = copy.deepcopy(doc)
    for host in out["hosts"].values():
        for name in names & set(host["reads"]):
            host["reads"][name] = _broken(host["reads"][name], name, mode)
    for name in names & set(out["cloud"]):
        read_at = out["cloud"][name]["read_at"]
        if mode == "garbage":
            out["cloud"][name] = {"read_at": read_at, "data": GARBAGE}
        else:
            out["cloud"][name] = {"read_at": read_at, "error": f"RuntimeError: {name} ({mode})"}
    return out


def _colours(reads_of: dict[str, list[str]], names: list[str]) -> list[set[str]]:
    """Groups of read names no check reads two of (greedy, most shared first)."""
    together: dict[str, set[str]] = {n: set() for n in names}
    for reads in reads_of.values():
        for a in reads:
            together.setdefault(a, set()).update(r for r in reads if r != a)
    groups: list[set[str]] = []
    for name in sorted(names, key=lambda n: (-len(together[n]), n)):
        for group in groups:
            if not group & together[name]:
                group.add(name)
                break
        else:
            groups.append({name})
    return groups


class Judge:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("AFTERBOOT_", "OS_"))}
        self.env.update(PYTHONPATH=str(ROOT), AFTERBOOT_NO_BLOCKING="1")

    def __call__(self, label: str, doc: Doc, phase: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """Judge ``doc``: what each check declared, and each result (outcome, message)."""
        where = self.root / label
        where.mkdir()
        (where / "snapshot.json").write_text(json.dumps(doc))
        env = {**self.env, "AB_ITEMS": str(where / "items.json")}
        subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
             f"--rootdir={self.root}", f"-c={self.root / 'tox.ini'}",
             f"--from-snapshot={where / 'snapshot.json'}", f"--phase={phase}",
             f"--reports-dir={where / 'reports'}", str(self.root / "tests_cloud")],
            cwd=self.root, env=env, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        summary = json.loads((where / "reports" / "summary.json").read_text())
        results = {}
        for check in summary["checks"]:
            for r in check["results"]:
                results[r["nodeid"]] = (r["outcome"], r.get("message", ""))
        for r in summary["judged"]["results"]:
            results.setdefault(r["nodeid"], (r["outcome"], ""))
        recorded = json.loads((where / "items.json").read_text())
        for nodeid, reason in recorded["skips"].items():
            results[nodeid] = ("skipped", reason)
        return recorded["items"], results


@pytest.fixture(scope="module")
def judge(tmp_path_factory: pytest.TempPathFactory) -> Judge:
    root = tmp_path_factory.mktemp("judge")
    shutil.copytree(
        ROOT / "tests_cloud", root / "tests_cloud", ignore=shutil.ignore_patterns("__pycache__")
    )
    plugins: dict[str, object] = {}
    exec((ROOT / "conftest.py").read_text(), plugins)
    (root / "conftest.py").write_text(
        f"pytest_plugins = {plugins['pytest_plugins']!r}\n" + RECORDER
    )
    (root / "tox.ini").write_text(
        "[pytest]\naddopts = -p no:testinfra -p no:randomly\nafterboot_check_paths = tests_cloud\n"
    )
    return Judge(root)


@pytest.mark.parametrize("phase", PHASES)
def test_no_check_passes_or_skips_when_one_of_its_reads_is_broken(judge: Judge, phase: str) -> None:
    doc: Doc = lab()  # with the reads the recording predates (tests/conftest.py)
    items, base = judge(f"{phase}-base", doc, phase)
    judged = {
        n: i
        for n, i in items.items()
        if i["reads"]
        and not (base[n][0] == "skipped" and any(s in base[n][1] for s in STRUCTURAL_SKIPS))
    }
    assert {base[n][0] for n in judged} <= {"passed", "skipped"}, "the recorded lab is healthy"
    names = sorted({r for i in judged.values() for r in i["reads"]})
    reads_of = {
        n: [r for r in i["reads"] if (i["check"], r) not in EVIDENCE_ONLY]
        for n, i in judged.items()
    }
    groups = _colours(reads_of, names)
    runs = [(mode, k, group) for mode in MODES for k, group in enumerate(groups)]

    def one(run: tuple[str, int, set[str]]) -> list[str]:
        mode, k, group = run
        _, got = judge(f"{phase}-{mode}-{k}", _break(doc, group, mode), phase)
        wrong = []
        for nodeid, declared in reads_of.items():
            hit = group & set(declared)
            if not hit:
                continue
            outcome, said = got.get(nodeid, ("missing", ""))
            if outcome in ("passed", "skipped", "missing"):
                wrong.append(f"{mode} {sorted(hit)}: {nodeid} {outcome} {said[:160]}")
        return wrong

    with ThreadPoolExecutor(max_workers=2) as pool:
        offenders = [w for found in pool.map(one, runs) for w in found]
    assert not offenders, "\n".join(offenders)
    # the property was asserted on the checks, and on many reads, not on nothing
    assert len(judged) >= 60, len(judged)
    assert len(names) >= 30, names
