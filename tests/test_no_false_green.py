"""Property: every check of ``tests_cloud`` that declares reads, run with each of its
declared reads failed, is never passed and never skipped.

The real checks run by pytester, offline: the collection pass is replaced by one that
answers every host read as failed (an error exit, or a timeout) and every cloud read with
its error, which is exactly what the snapshot holds when the cloud's reads fail. Each
check's declared reads (``@pytest.mark.reads``) and outcome are written by a small plugin;
the property is asserted over all of them, in every phase."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Installed in the pytester run's conftest: every read the pass would make fails.
FAILING_READS = """
import json, os, time
import pytest
import afterboot.collection as collection
from afterboot.errors import CouldNotRun
from afterboot.snapshot import CloudSnapshot, HostSnapshot, ReadResult

RC = int(os.environ["AB_FAILED_RC"])


def _failed_host(remote, names, timeout):
    names = [*collection.ALWAYS, *names]
    wanted = {r for n in names for r in collection.resolve(n, remote.spec)}
    snap = HostSnapshot(remote.name, started=time.time(), ended=time.time())
    snap.reads = {
        n: ReadResult(n, RC, "", f"{n}: injected failure") for n in wanted | {"configs"}
    }
    return snap


def _failed_cloud(name, ctx):
    return CloudSnapshot(name, time.time(), 0.0, None, CouldNotRun(f"{name}: injected", "x"))


collection.read_host = _failed_host
collection._cloud_read = _failed_cloud
OUT = []


def pytest_runtest_logreport(report):
    if report.when == "call" or report.outcome != "passed":
        OUT.append([report.nodeid, report.when, report.outcome, str(report.longrepr)[:300]])


def pytest_collection_modifyitems(items):
    for item in items:
        marker = item.get_closest_marker("reads")
        check = item.get_closest_marker("check")
        OUT.append(["@item", item.nodeid, check.args[0] if check else "",
                    list(marker.args) if marker else []])


def pytest_sessionfinish(session):
    with open(os.environ["AB_OUT"], "w") as f:
        json.dump(OUT, f)
"""

INVENTORY = """hosts:
  ctl-01: {connection: local, service_manager: systemd,
           roles: [controller, database, messaging, object-storage-proxy, network, dashboard]}
  ctl-02: {connection: local, service_manager: process, roles: [controller]}
  cmp-01: {connection: local, service_manager: process, roles: [compute]}
  cmp-02: {connection: local, service_manager: container, container_engine: podman,
           roles: [compute]}
  cmp-03: {connection: local, service_manager: systemd, roles: [compute]}
  stor-01: {connection: local, service_manager: process,
            roles: [object-storage, block-storage, ceph]}
  stor-02: {connection: local, service_manager: systemd, roles: [object-storage]}
"""

PHASES = {
    "post-reboot": (),
    "periodic": (),
    "post-restore": (),
    "post-upgrade": (),
    "pre-maintenance": ("--host=cmp-01",),
}

# Skips that come before any read: the check is not for this run (no host of its kind, a
# phase it does not judge in). They are not verdicts on the cloud.
STRUCTURAL_SKIPS = (
    "the inventory declares no",
    "only in --phase=config-gate",
    "deselected",
)


@pytest.fixture
def all_checks(suite: pytest.Pytester) -> pytest.Pytester:
    for path in (ROOT / "tests_cloud").glob("test_*.py"):
        shutil.copy(path, suite.path / "tests_cloud" / path.name)
    conftest = (suite.path / "conftest.py").read_text()
    (suite.path / "conftest.py").write_text(conftest + FAILING_READS)
    (suite.path / "inventory.yaml").write_text(INVENTORY)
    return suite


def _run(suite: pytest.Pytester, phase: str, rc: int, monkeypatch: pytest.MonkeyPatch) -> list:
    out = suite.path / f"outcomes-{phase}-{rc}.json"
    monkeypatch.setenv("AB_FAILED_RC", str(rc))
    monkeypatch.setenv("AB_OUT", str(out))
    monkeypatch.setenv("AFTERBOOT_NO_BLOCKING", "1")  # each check judges, none is "blocked"
    result = suite.runpytest_subprocess(
        "--inventory=inventory.yaml", f"--phase={phase}", "--timeout=2", *PHASES[phase]
    )
    assert out.exists(), result.stdout.str()[-3000:]
    recorded: list = json.loads(out.read_text())
    return recorded


@pytest.mark.parametrize("rc", [1, 124], ids=["error-exit", "timeout"])
def test_no_check_passes_or_skips_when_its_reads_fail(
    all_checks: pytest.Pytester, rc: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    judged: dict[str, set[str]] = {}  # check ID -> outcomes seen
    offenders = []
    for phase in PHASES:
        recorded = _run(all_checks, phase, rc, monkeypatch)
        reads = {r[1]: (r[2], r[3]) for r in recorded if r[0] == "@item"}
        for nodeid, _when, outcome, said in (r for r in recorded if r[0] != "@item"):
            check, declared = reads.get(nodeid, ("", []))
            if not declared:
                continue
            if outcome == "skipped" and any(s in said for s in STRUCTURAL_SKIPS):
                continue
            judged.setdefault(check, set()).add(outcome)
            if outcome == "passed" or outcome == "skipped":
                offenders.append(f"{phase} {nodeid} reads {declared}: {outcome} {said}")
    assert not offenders, "\n".join(offenders)
    # the property was asserted on the checks, not on nothing
    assert len(judged) >= 40, sorted(judged)
