"""Shared helpers for afterboot's own tests (pytester runs of the real plugins)."""

from __future__ import annotations

import gzip
import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from afterboot.domains.upgradecheck import EXIT_MARK
from afterboot.inventory import commands

from . import sshd as sshd_mod

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = Path(__file__).resolve().parent / "samples"


def _root_plugins() -> list[str]:
    namespace: dict[str, object] = {}
    exec((ROOT / "conftest.py").read_text(), namespace)
    plugins = namespace["pytest_plugins"]
    assert isinstance(plugins, list)
    return [str(p) for p in plugins]


@pytest.fixture
def suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A pytester dir set up like the project: our plugins, checks under ``tests_cloud``."""
    for var in (
        "OS_CLOUD",
        "AFTERBOOT_INVENTORY",
        "AFTERBOOT_PHASE",
        "AFTERBOOT_ROLE",
        "AFTERBOOT_HOST",
        "AFTERBOOT_TIMEOUT",
        "AFTERBOOT_REPORTS_DIR",
        "AFTERBOOT_PROCEDURES",
        "AFTERBOOT_NO_BLOCKING",
        "AFTERBOOT_WAIVERS",
        "AFTERBOOT_PROMETHEUS",
        "AFTERBOOT_COMPARE",
        "AFTERBOOT_BASELINE",
        "AFTERBOOT_SETTLE",
        "AFTERBOOT_FROM_SNAPSHOT",
        "AFTERBOOT_SHARD",
        "AFTERBOOT_KOLLA_GLOBALS",
        "ANSIBLE_INVENTORY",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    pytester.makeconftest(f"pytest_plugins = {_root_plugins()!r}\n")
    pytester.makeini(
        "[pytest]\naddopts = -p no:testinfra -p no:cacheprovider\n"
        "afterboot_check_paths = tests_cloud\n"
    )
    pytester.mkdir("tests_cloud")
    return pytester


@pytest.fixture
def without_ansible(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ansible-core: neither beside the interpreter nor on PATH (python3 stays
    reachable for dynamic inventory scripts)."""
    found = commands.tool
    monkeypatch.setattr(
        commands, "tool", lambda name: None if name.startswith("ansible") else found(name)
    )


# The lab's snapshot, recorded healthy (the reads of four phases' runs, put together):
# judged with --from-snapshot, changed as a fault would change it.
LAB_SNAPSHOT = Path(__file__).resolve().parent / "data" / "snapshots" / "lab-healthy.json.gz"


# Reads the recording predates, in their tools' healthy format (tests/data/placementaudit:
# nova-manage's lines for the lab's cell1 and four instances), on the controller; a
# recording that holds them keeps its own.
PLACEMENT_DATA = Path(__file__).resolve().parent / "data" / "placementaudit"
PREDATED = {
    "placement_heal_dry_run": ("heal-healthy.stdout", 4),
    "placement_audit": ("audit-healthy.stdout", 0),
}


# The controller's broker's own health checks (MQ-006), as the lab's management API answers
# them (tests/data/rabbitmq), and its addresses (hostname -I), which the recording predates.
RABBITMQ_DATA = Path(__file__).resolve().parent / "data" / "rabbitmq"


def _predated(doc: dict[str, Any]) -> None:
    """Reads the recording predates, added as the healthy lab answers them (until it is
    recorded again; a recording that holds one keeps its own): nova-manage's placement
    oracle on the controller (:data:`PREDATED`), and ``swift_device_counts`` of each
    storage host, its clock then its one device with nothing quarantined and no async
    pending (afterboot.domains.recon); the broker's own health checks and the controller's
    addresses (MQ-006, :data:`RABBITMQ_DATA`)."""
    reads = doc["hosts"]["controller"]["reads"]
    via = "via the management API at http://10.77.0.10:15672"
    health = (RABBITMQ_DATA / "api_health.txt").read_text()
    reads.setdefault("rabbitmq_health", {"rc": 0, "data": health, "stderr": via})
    reads.setdefault("addresses", {"rc": 0, "data": "10.77.0.10 \n"})
    stderr = (PLACEMENT_DATA / "nova-manage.stderr").read_text()
    for name, (stdout, rc) in PREDATED.items():
        text = (PLACEMENT_DATA / stdout).read_text() + f"{EXIT_MARK}{rc}\n"
        reads.setdefault(name, {"rc": 0, "data": text, "stderr": stderr})
    for host in doc["hosts"].values():
        reads = host["reads"]
        if "swift_devices" not in reads or "swift_device_counts" in reads:
            continue
        now = int(float(reads["clock"]["data"].split()[0]))
        rows = "".join(f"device\t{d}\tok\n" for d in reads["swift_devices"]["data"].split())
        reads["swift_device_counts"] = {"rc": 0, "data": f"now\t{now}\n{rows}"}


def lab() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(gzip.decompress(LAB_SNAPSHOT.read_bytes()))
    _predated(doc)
    return doc


@pytest.fixture(scope="module")
def recorded() -> dict[str, Any]:
    """The recorded lab snapshot (a module's tests change copies of it)."""
    return lab()


@pytest.fixture
def checks(suite: pytest.Pytester) -> pytest.Pytester:
    """``suite`` with every check of ``tests_cloud/``."""
    for path in (ROOT / "tests_cloud").glob("test_*.py"):
        shutil.copy(path, suite.path / "tests_cloud" / path.name)
    return suite


@pytest.fixture
def control_dir() -> Iterator[str]:
    """ssh control sockets need a short path (108 bytes at most)."""
    path = tempfile.mkdtemp(prefix="ab-t-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sshd_mod.Sshd]:
    """A real sshd on loopback, one per test module."""
    with sshd_mod.sshd(tmp_path_factory.mktemp("sshd")) as s:
        yield s


@pytest.fixture
def fakebin(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A directory first on PATH before the shell's own tools (no real OpenStack tool is
    found): tools that answer, or fail, the way real ones do."""
    path = Path(tempfile.mkdtemp(prefix="ab-bin-"))
    monkeypatch.setenv("PATH", f"{path}:/usr/bin:/bin")
    yield path
    shutil.rmtree(path, ignore_errors=True)
