"""``--from-snapshot``: saved snapshots judged again, touching no host and no API.

The snapshot is the lab's, recorded healthy (``tests/data/snapshots/lab-healthy.json.gz``:
the reads of four phases' runs, minutes apart, put together); each test changes what a
real fault would change in it and judges it with the real checks."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from requests.structures import CaseInsensitiveDict

from afterboot.domains.discovery import decode_ring
from afterboot.errors import CouldNotRun
from afterboot.inventory.model import HostSpec
from afterboot.offline import restore_secrets, rings_text, thaw_host
from afterboot.reads.hostreads import PART, parts
from afterboot.snapshot import HostSnapshot, Snapshot, _plain, to_json
from afterboot.snapshotfile import check
from afterboot.transport.connections import Remote

Doc = dict[str, Any]


def write(suite: pytest.Pytester, name: str, doc: Doc) -> str:
    path = suite.path / name
    path.write_text(json.dumps(doc))
    return str(path)


def judge(
    suite: pytest.Pytester, *files: str, phase: str = "post-reboot", args: tuple[str, ...] = ()
) -> tuple[pytest.RunResult, dict[str, str]]:
    """Judge the files; the run and each check's outcome (nodeid -> outcome)."""
    result = suite.runpytest_subprocess(
        f"--from-snapshot={','.join(files)}", f"--phase={phase}", "--no-blocking", *args
    )
    summary = suite.path / "reports" / "summary.json"
    outcomes = {}
    if summary.exists():
        data = json.loads(summary.read_text())
        outcomes = {r["nodeid"]: r["outcome"] for r in data["judged"]["results"]}
    return result, outcomes


@pytest.mark.parametrize("phase", ["post-reboot", "post-restore", "post-upgrade", "periodic"])
def test_the_recorded_healthy_lab_is_green_in_every_phase(
    checks: pytest.Pytester, recorded: Doc, phase: str
) -> None:
    result, outcomes = judge(checks, write(checks, "lab.json", recorded), phase=phase)
    assert result.ret == 0, result.stdout.str()[-3000:]
    assert set(outcomes.values()) <= {"passed", "skipped"}
    assert sum(o == "passed" for o in outcomes.values()) >= 75
    result.stdout.fnmatch_lines(
        ["afterboot: judging 1 saved snapshot(s), read * (no host, no API)"]
    )


def test_a_secret_changed_on_one_host_still_differs(checks: pytest.Pytester, recorded: Doc) -> None:
    """The text keeps no secret (``***``); the digest kept beside it stands in for it."""
    doc = copy.deepcopy(recorded)
    reads = doc["hosts"]["compute1"]["reads"]["configs"]
    assert "password = ***" in reads["text"]
    reads["data"]["/etc/nova/nova.conf"]["[keystone_authtoken] password"] = (
        "sha256:0123456789abcdef"
    )
    result, outcomes = judge(checks, write(checks, "changed.json", doc))
    assert outcomes["tests_cloud/test_config.py::test_role_config_consistent[compute]"] == "failed"
    assert "compute hosts differ: nova.conf [keystone_authtoken] password" in result.stdout.str()
    assert "0123456789abcdef" not in result.stdout.str()


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


@pytest.mark.parametrize(("ago", "outcome"), [(7200, "failed"), (600, "passed")])
def test_ages_are_measured_from_the_read_not_from_now(
    checks: pytest.Pytester, recorded: Doc, ago: int, outcome: str
) -> None:
    """An instance migrating for 10 minutes when it was read is not stuck, however long
    after the snapshot is judged; for 2 hours it is."""
    doc = copy.deepcopy(recorded)
    read_at = doc["cloud"]["servers"]["read_at"]
    server = doc["cloud"]["servers"]["data"][0]
    server.update(task_state="migrating", updated_at=_iso(read_at - ago))
    result, outcomes = judge(checks, write(checks, "aged.json", doc), phase="periodic")
    nodeid = "tests_cloud/test_periodic.py::test_no_failed_or_stuck_instances"
    assert outcomes[nodeid] == outcome, result.stdout.str()[-3000:]


def test_what_a_snapshot_lacks_could_not_run(checks: pytest.Pytester, recorded: Doc) -> None:
    doc = copy.deepcopy(recorded)
    del doc["hosts"]["storage2"]
    del doc["cloud"]["servers"]
    result, outcomes = judge(checks, write(checks, "partial.json", doc))
    assert result.ret == 3
    result.stdout.fnmatch_lines(["*hosts no snapshot read (could not run): storage2*"])
    storage2 = {n: o for n, o in outcomes.items() if n.endswith("[storage2]")}
    assert storage2
    assert set(storage2.values()) <= {"could-not-run", "skipped"}
    assert "could-not-run" in storage2.values()
    assert outcomes["tests_cloud/test_volumes.py::test_volumes_attached_three_ways"] == (
        "could-not-run"
    )
    result.stdout.fnmatch_lines(["*cloud read 'servers' is not in the snapshot judged*"])
    assert "passed" not in {o for n, o in outcomes.items() if "[storage2]" in n}


def _shard(doc: Doc, hosts: set[str], index: int, cloud: bool) -> Doc:
    part = copy.deepcopy(doc)
    part["hosts"] = {n: h for n, h in doc["hosts"].items() if n in hosts}
    part["cloud"] = doc["cloud"] if cloud else {}
    part["shard"] = f"{index}/2"
    return part


def test_shards_judged_together_are_the_whole(checks: pytest.Pytester, recorded: Doc) -> None:
    doc = copy.deepcopy(recorded)
    configs = doc["hosts"]["compute2"]["reads"]["configs"]
    configs["data"]["/etc/kolla/nova-compute/nova.conf"]["[DEFAULT] ram_allocation_ratio"] = "1.5"
    configs["text"] = configs["text"].replace(
        "ram_allocation_ratio = 1.0", "ram_allocation_ratio = 1.5"
    )
    whole_file = write(checks, "whole.json", doc)
    one = _shard(doc, {"compute1", "controller", "storage2"}, 1, cloud=True)
    two = _shard(doc, {"compute2", "storage1"}, 2, cloud=False)
    files = write(checks, "s1.json", one), write(checks, "s2.json", two)
    _, whole = judge(checks, whole_file)
    result, merged = judge(checks, *files)
    assert merged == whole
    assert merged["tests_cloud/test_config.py::test_role_config_consistent[compute]"] == "failed"
    result.stdout.fnmatch_lines(["*judging 2 saved snapshot(s), read *, shards 1/2, 2/2*"])
    saved = json.loads((checks.path / "reports" / "snapshot.json").read_text())
    assert saved["merged_from"] == list(files)
    assert len(saved["hosts"]) == 5
    # shard 2 alone: shard 1's hosts and every cloud read are not in it
    _, alone = judge(checks, files[1])
    assert alone["tests_cloud/test_apis.py::test_compute_api_answers"] == "could-not-run"
    assert "passed" not in {o for n, o in alone.items() if "[compute1]" in n}


def _other_cloud(doc: Doc) -> Doc:
    doc["identity"]["auth_url"] = "https://keystone.elsewhere:5000/v3"
    return doc


def _bad_type(doc: Doc) -> Doc:
    doc["hosts"]["compute1"]["reads"]["processes"]["rc"] = "0"
    return doc


def _bad_roles(doc: Doc) -> Doc:
    doc["inventory"]["compute1"]["roles"] = "compute"
    return doc


def _no_inventory(doc: Doc) -> Doc:
    del doc["inventory"]
    return doc


def _schema_true(doc: Doc) -> Doc:
    doc["schema"] = True
    return doc


def _cloud_empty(doc: Doc) -> Doc:
    doc["cloud"]["servers"] = {"read_at": 1.0}
    return doc


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (_other_cloud, "*are snapshots of different clouds: *keystone.elsewhere*"),
        (_bad_type, "*hosts.compute1.reads.processes.rc: is str, not an exit status"),
        (_bad_roles, "*inventory.compute1.roles: is not a list of names"),
        (_no_inventory, "*holds no inventory (written by an afterboot older than*"),
        (_schema_true, "*snapshot schema True, this afterboot reads schema 1"),
        (_cloud_empty, "*cloud.servers: has neither data nor error"),
    ],
)
def test_a_bad_snapshot_is_one_line(
    checks: pytest.Pytester, recorded: Doc, change: Callable[[Doc], Doc], said: str
) -> None:
    bad_doc = change(copy.deepcopy(recorded))
    files: tuple[str, ...] = ()
    if change is _other_cloud:  # beside a snapshot of the lab, hosts disjoint
        files = (write(checks, "good.json", _shard(recorded, {"compute1"}, 1, cloud=True)),)
        del bad_doc["hosts"]["compute1"]
    files += (write(checks, "bad.json", bad_doc),)
    result, _ = judge(checks, *files)
    assert result.ret == 4
    result.stderr.fnmatch_lines([f"ERROR: from-snapshot (from --from-snapshot): {said}"])
    assert "Traceback" not in result.stderr.str() + result.stdout.str()


@pytest.mark.parametrize(
    ("content", "said"),
    [
        ("{", "*: not JSON (*"),
        ('{"schema": 1}', "*not an afterboot snapshot (no 'hosts' and 'cloud')"),
        ("[]", "*not an afterboot snapshot (no 'schema')"),
    ],
)
def test_a_file_that_is_no_snapshot_is_one_line(
    checks: pytest.Pytester, content: str, said: str
) -> None:
    (checks.path / "f.json").write_text(content)
    result, _ = judge(checks, str(checks.path / "f.json"))
    assert result.ret == 4
    result.stderr.fnmatch_lines([f"ERROR: from-snapshot (from --from-snapshot): {said}"])


def test_overlapping_shards_are_one_line(checks: pytest.Pytester, recorded: Doc) -> None:
    one = write(checks, "a.json", _shard(recorded, {"compute1", "storage1"}, 1, cloud=True))
    two = write(checks, "b.json", _shard(recorded, {"storage1"}, 2, cloud=False))
    result, _ = judge(checks, one, two)
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*a.json and *b.json both read host storage1: shards read*"])


def test_options_that_read_are_refused_with_it(checks: pytest.Pytester, recorded: Doc) -> None:
    path = write(checks, "lab.json", recorded)
    for option in ("--settle=30", "--shard=1/2"):
        result = checks.runpytest_subprocess(f"--from-snapshot={path}", option)
        assert result.ret == 4, option
        result.stderr.fnmatch_lines(
            [f"*from-snapshot*: judges saved snapshots: not with {option.split('=')[0]}*"]
        )


# -- the reads made again from what was kept of them ------------------------------------


def test_masked_secrets_come_back_as_their_digests() -> None:
    text = (
        f"{PART} /etc/nova/nova.conf\n[DEFAULT]\ntransport_url = rabbit://u:***@mq:5672/\n"
        "[keystone_authtoken]\npassword = ***\nusername = nova\n"
    )
    kept = {
        "/etc/nova/nova.conf": {
            "[DEFAULT] transport_url": "sha256:aaaaaaaaaaaaaaaa",
            "[keystone_authtoken] password": "sha256:bbbbbbbbbbbbbbbb",
        }
    }
    restored = parts(restore_secrets(text, kept))["/etc/nova/nova.conf"]
    # the endpoint stays (DEP-001 probes it); the secret is its digest
    assert "transport_url = rabbit://u:sha256:aaaaaaaaaaaaaaaa@mq:5672/" in restored
    assert "password = sha256:bbbbbbbbbbbbbbbb" in restored
    assert "username = nova" in restored


def test_rings_come_back_with_their_devices(recorded: Doc) -> None:
    summary = recorded["hosts"]["controller"]["reads"]["swift_rings"]["data"]
    files = parts(rings_text(summary))
    assert set(files) == set(summary)
    for path, b64 in files.items():
        got = [vars(d) for d in decode_ring(b64, path, path)]
        assert got == summary[path]


def test_a_mapping_that_is_no_dict_is_saved_as_one(recorded: Doc) -> None:
    """swiftclient's account headers are a case-insensitive mapping, not a dict: saved as
    their text, a key test became a substring test on it (SWIFT-001 judged offline)."""
    headers = CaseInsensitiveDict({"X-Account-Container-Count": "1"})
    assert _plain({"value": headers}) == {"value": {"X-Account-Container-Count": "1"}}
    saved = recorded["cloud"]["apis"]["data"]["object-store"]["value"]
    assert isinstance(saved, dict)
    assert "x-account-container-count" in saved


def test_a_clock_ahead_is_judged_from_its_one_saved_sample(
    checks: pytest.Pytester, recorded: Doc
) -> None:
    """HOST-001 confirms a skew with a second sample, read now; judging a saved snapshot,
    the saved sample is the second too (as the run that saved it failed, this one fails)."""
    doc = copy.deepcopy(recorded)
    clock = doc["hosts"]["storage1"]["reads"]["clock"]
    now, uptime = clock["data"].split()
    clock["data"] = f"{float(now) + 90:.3f} {uptime}\n"
    result, outcomes = judge(checks, write(checks, "ahead.json", doc))
    assert outcomes["tests_cloud/test_hosts.py::test_clock_in_sync[storage1]"] == "failed", (
        result.stdout.str()[-2000:]
    )
    result.stdout.fnmatch_lines(["*clock of storage1 is +8*s off the operator host (read twice: *"])


def test_evidence_the_live_run_read_is_read_again_offline(tmp_path: Path) -> None:
    """A command run after the pass (a failure's log tail) is saved with the snapshot and
    answered again by a later judge, so that a cause or a root its evidence names is the
    same offline; a command the live run did not run still runs nowhere."""
    spec = HostSpec("here", connection="local", service_manager="process")
    live = Remote(spec, 3.0, str(tmp_path))
    said = live.run("printf %s; exit 3", "ERROR with Account server 10.0.0.31:6202/d1")
    host = HostSnapshot("here", started=time.time(), ran=dict(live.ran))
    doc = to_json(Snapshot(hosts={"here": host}), {})
    check("snapshot.json", doc)
    offline = Remote(spec, 3.0, str(tmp_path), offline="a saved snapshot is judged")
    offline.adopt(thaw_host("here", json.loads(json.dumps(doc))["hosts"]["here"]))
    again = offline.run("printf %s; exit 3", "ERROR with Account server 10.0.0.31:6202/d1")
    assert (again.rc, again.stdout) == (said.rc, said.stdout) == (3, said.stdout)
    assert "Account server" in again.stdout
    with pytest.raises(CouldNotRun, match="a saved snapshot is judged"):
        offline.run("printf %s", "not run live")
