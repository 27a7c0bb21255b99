"""The collection pass: composed host scripts really run (a local shell, and ssh to a
loopback sshd), split back exactly, reads bounded by their deadline, every host read once,
the snapshot saved redacted."""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import afterboot.collection as collection
from afterboot.collection import _unframed, compose, deadline, needs, read_host, split
from afterboot.domains.hypervisor import instance_dirs
from afterboot.domains.servicemap import SERVICES
from afterboot.domains.services import _by_process, process_table
from afterboot.errors import CouldNotRun
from afterboot.inventory.model import HostSpec, Inventory
from afterboot.reads import hostreads
from afterboot.reads.hostreads import HostRead, parts
from afterboot.transport.connections import Connections, Remote

from . import sshd as sshd_mod


@pytest.fixture
def local() -> Iterator[Remote]:
    control = tempfile.mkdtemp(prefix="ab-c-")
    yield Remote(HostSpec("here", connection="local", service_manager="process"), 3.0, control)
    shutil.rmtree(control, ignore_errors=True)


# the slow read's own mark, this process's alone
SLOW_MARK = f"ab-slow-read-{os.getpid()}-{time.monotonic_ns()}"


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> dict[str, HostRead]:
    """Test reads beside the real ones (the registry is data: extend it for the test)."""
    extra = {
        "noisy": HostRead("noisy", "", lambda s: "echo out; echo err >&2; exit 3"),
        "tricky": HostRead(
            "tricky", "", lambda s: "printf 'begin x\\nend y 0\\n@@ab-0 end noisy 1'"
        ),
        "sleepy": HostRead("sleepy", "", lambda s: "sleep 30"),
        "slow": HostRead("slow", "", lambda s: f"sleep 1; echo late # {SLOW_MARK}", slow=True),
        "slow2": HostRead("slow2", "", lambda s: "sleep 1; echo also; echo e2 >&2", slow=True),
    }
    monkeypatch.setattr(hostreads, "READS", {**hostreads.READS, **extra})

    monkeypatch.setattr(collection, "READS", hostreads.READS)
    return extra


def test_script_splits_back_exactly(local: Remote, reads: dict[str, HostRead]) -> None:
    snap = read_host(local, ["noisy", "tricky", "processes", "slow", "slow2"], 3.0)
    assert snap.unreachable is None
    assert snap.commands == 1
    got = snap.reads
    assert (got["noisy"].rc, got["noisy"].stdout, got["noisy"].stderr) == (3, "out\n", "err")
    # lines that look like frames, without the run's nonce, are content
    assert got["tricky"].stdout == "begin x\nend y 0\n@@ab-0 end noisy 1"
    assert got["tricky"].rc == 0
    assert "ps -ww -eo" in got["processes"].stdout  # the script itself is in the table
    assert (got["slow"].stdout, got["slow2"].stdout, got["slow2"].stderr) == (
        "late\n",
        "also\n",
        "e2",
    )
    # the slow reads ran beside each other and the rest: about one second, not two
    assert snap.seconds < 1.9, snap.seconds
    now, uptime, offset = got["clock"].stdout.split()
    assert abs(float(now) - time.time()) < 5
    assert float(uptime) > 0
    assert re.fullmatch(r"[+-]\d{4}", offset)  # the UTC offset oslo.log's local times need


def test_a_read_past_its_deadline_is_could_not_run(
    local: Remote, reads: dict[str, HostRead]
) -> None:
    started = time.monotonic()
    snap = read_host(local, ["sleepy", "noisy"], 1.0)
    assert time.monotonic() - started < deadline(1.0)
    assert snap.unreachable is None
    assert snap.reads["noisy"].stdout == "out\n"  # the others are still read
    with pytest.raises(CouldNotRun, match="read 'sleepy' did not finish in time"):
        snap.reads["sleepy"].require("here")


def test_slow_reads_run_in_turn_without_a_temp_dir(
    local: Remote, reads: dict[str, HostRead], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMPDIR", "/nonexistent/afterboot")
    snap = read_host(local, ["slow", "slow2", "noisy"], 3.0)
    assert snap.reads["slow"].stdout == "late\n"
    assert (snap.reads["slow2"].stdout, snap.reads["slow2"].stderr) == ("also\n", "e2")


FAKE_ENGINE = """#!/bin/sh
echo "$*" >> "$ENGINE_LOG"
[ "$1" = exec ] || exit 125
[ "$2" = box ] || { echo "Error: no container with name or ID \\"$2\\" found" >&2; exit 125; }
shift 2; exec "$@"
"""


@pytest.mark.parametrize("container", ["box", "gone"])
def test_a_containers_reads_share_one_exec(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, container: str
) -> None:
    """On a kolla host the reads whose tool lives in one container run in one exec there,
    each framed as on the host; when the exec fails, each carries its status and error."""
    engine = tmp_path / "podman"
    engine.write_text(FAKE_ENGINE)
    engine.chmod(0o755)
    log = tmp_path / "log"
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    monkeypatch.setenv("ENGINE_LOG", str(log))
    reads = {
        "in1": HostRead("in1", "", lambda s: "echo one; echo warn >&2", True, container=container),
        "in2": HostRead("in2", "", lambda s: "echo two; exit 4", engine=True, container=container),
    }
    monkeypatch.setattr(hostreads, "READS", {**hostreads.READS, **reads})

    monkeypatch.setattr(collection, "READS", hostreads.READS)
    spec = HostSpec(
        "kolla", connection="local", service_manager="container", container_engine="podman"
    )
    control = tempfile.mkdtemp(prefix="ab-c-")
    try:
        snap = read_host(Remote(spec, 3.0, control), ["in1", "in2", "df"], 3.0)
    finally:
        shutil.rmtree(control, ignore_errors=True)
    got = snap.reads
    assert log.read_text().count("exec ") == 1  # one exec for both
    assert snap.commands == 1
    assert got["df"].rc == 0
    if container == "box":
        assert (got["in1"].rc, got["in1"].stdout, got["in1"].stderr) == (0, "one\n", "warn")
        assert (got["in2"].rc, got["in2"].stdout) == (4, "two\n")
    else:
        for name in ("in1", "in2"):
            assert got[name].rc == 125, name
            assert got[name].stdout == ""
            assert 'no container with name or ID "gone"' in got[name].stderr


def test_compose_quotes_host_paths() -> None:
    spec = HostSpec("h", paths={"/etc/swift": "/etc/kolla/swift dir"})
    script = compose([hostreads.READS["swift_checksums"]], spec, "@@ab-1", 5)
    assert "/etc/kolla/swift dir" in script
    out, err = (
        "@@ab-1 begin swift_checksums\nabc  /x/account.ring.gz\n\n@@ab-1 end swift_checksums 0\n",
        "",
    )
    assert split(out, err, "@@ab-1")["swift_checksums"].stdout == "abc  /x/account.ring.gz\n"


def test_parts_keep_each_file() -> None:
    text = "@@afterboot-part /a\nx = 1\n\n@@afterboot-part /b\ny\n"
    assert parts(text) == {"/a": "x = 1", "/b": "y"}


def test_needs_follow_markers_roles_and_hosts(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        **{
            "tests_cloud/test_x.py": """
import pytest

@pytest.mark.check("HOST-011", tier=1, roles=("compute",))
@pytest.mark.reads("domains", "services", "instances")
def test_per_host(host):
    '''Per host.'''

@pytest.mark.check("HOST-012", tier=2, roles=("object-storage",))
@pytest.mark.reads("swift_checksums", "rabbitmq@messaging")
def test_cloud_wide():
    '''Cloud-wide.'''
"""
        }
    )
    items, _ = suite.inline_genitems("tests_cloud")
    inv = Inventory(
        {
            "c1": HostSpec("c1", roles=("compute",), service_manager="systemd"),
            "s1": HostSpec("s1", roles=("object-storage",)),
            "m1": HostSpec("m1", roles=("messaging",), service_manager="container"),
        },
        "test",
    )
    per_host, cloud = needs(items, inv)
    assert per_host == {
        "c1": {"domains", "units"},
        "s1": {"swift_checksums"},
        "m1": {"rabbitmq_status", "rabbitmq_vhosts", "rabbitmq_root_queues"},
    }
    assert cloud == {"instances"}


def test_unknown_read_is_one_line(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        **{
            "tests_cloud/test_x.py": """
import pytest

@pytest.mark.check("HOST-011", tier=1)
@pytest.mark.reads("procesess")
def test_x():
    '''Typo.'''
"""
        }
    )
    result = suite.runpytest()
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*tests_cloud/test_x.py::test_x: unknown read 'procesess'*"])


CHECKS = """
import pytest
from afterboot.domains.config import config_text
from afterboot.domains.services import service_states

@pytest.mark.check("HOST-013", tier=1)
@pytest.mark.reads("processes", "configs", "df")
def test_reads(host):
    '''The host's reads come from the pass.'''
    assert service_states(host, ["sshd"])["sshd"].running
    assert "connection" in (config_text(host, "/etc/nova/nova.conf") or "")

@pytest.mark.check("HOST-014", tier=1)
@pytest.mark.reads("processes")
def test_again(host):
    '''A second check reads the same snapshot.'''
    assert host.read("processes").stdout
"""


@pytest.mark.skipif(bool(sshd_mod.available()), reason=str(sshd_mod.available()))
def test_each_host_read_once_over_ssh(
    suite: pytest.Pytester, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Two inventory names for one sshd: two hosts, one command each, one master each;
    the saved snapshot holds the configuration's option names, never its password."""
    etc = tmp_path_factory.mktemp("etc")
    (etc / "nova.conf").write_text(
        "[database]\nconnection = mysql+pymysql://nova:Sup3rS3cret@db/nova\n[DEFAULT]\nx = 1\n"
    )
    suite.makepyfile(**{"tests_cloud/test_x.py": CHECKS})
    with sshd_mod.sshd(tmp_path_factory.mktemp("sshd")) as server:
        hosts = "".join(
            f"  {name}:\n    address: 127.0.0.1\n    port: {server.port}\n"
            f"    roles: [network]\n    paths: {{/etc/nova: {etc}}}\n"
            for name in ("one", "two")
        )
        (suite.path / "inv.yaml").write_text(
            f"defaults:\n  user: root\n  key: {server.key}\n  ssh_config: {server.ssh_config}\n"
            f"  service_manager: process\nhosts:\n{hosts}"
        )
        result = suite.runpytest("--inventory=inv.yaml", "--reports-dir=out", "-p", "no:randomly")
    result.assert_outcomes(passed=4)
    snap = json.loads((suite.path / "out" / "snapshot.json").read_text())
    assert snap["schema"] == 1
    assert snap["ssh_masters"] == 2
    for name in ("one", "two"):
        host = snap["hosts"][name]
        assert host["commands"] == 1
        assert host["late_reads"] == []
        assert set(host["reads"]) == {"clock", "processes", "configs", "df"}
        conf = host["reads"]["configs"]["data"][f"{etc}/nova.conf"]
        assert conf["[DEFAULT] x"] == "1"
        assert conf["[database] connection"].startswith("sha256:")
    assert "Sup3rS3cret" not in (suite.path / "out" / "snapshot.json").read_text()


def test_the_process_table_leaves_out_the_reading_script(
    local: Remote, reads: dict[str, HostRead]
) -> None:
    """A service named only in the script's own text (a config path, a slow read running
    beside) is not taken for a running service."""
    snap = read_host(local, ["slow", "processes", "configs"], 3.0)
    table = process_table(snap.reads["processes"].stdout)
    assert table, "the host's other processes are kept"
    # the mark is this process's own: a read script of a test running beside this one
    # (pytest -n) holds the same config paths and framing, and is not this script
    assert not [p.args for p in table if SLOW_MARK in p.args]
    raw = snap.reads["processes"].stdout
    assert SLOW_MARK in raw  # it was there to leave out
    # the script's own command lines (its whole text, configs' paths among it) are cut
    # after the run's nonce, where the host prints them
    ours = [line for line in raw.splitlines() if "@@ab-" in line]
    assert ours, "the script's lines are kept, cut"
    assert all(line.endswith(" ...") for line in ours), ours
    assert not [line for line in ours if "keystone.conf" in line]


def test_paths_the_configuration_moves_are_read_there(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """nova's instances_path set elsewhere: the instance directories are listed there, in
    a second command; a host on the defaults costs one."""
    root = tmp_path_factory.mktemp("moved")
    (root / "etc").mkdir()
    instances = root / "data" / "instances"
    (instances / "0b6b0c4e-0000-4000-8000-000000000001").mkdir(parents=True)
    (root / "etc" / "nova.conf").write_text(f"[DEFAULT]\ninstances_path = {instances}\n")
    control = tempfile.mkdtemp(prefix="ab-c-")
    try:
        spec = HostSpec("here", connection="local", paths={"/etc/nova": str(root / "etc")})
        remote = Remote(spec, 3.0, control)
        snap = read_host(remote, ["instance_dirs"], 3.0)
        assert snap.commands == 2
        assert snap.paths == {"/var/lib/nova/instances": str(instances)}
        remote.adopt(snap)
        assert instance_dirs(remote) == {"0b6b0c4e-0000-4000-8000-000000000001"}
        (root / "etc" / "nova.conf").write_text("[DEFAULT]\ndebug = true\n")
        plain = read_host(Remote(spec, 3.0, control), ["instance_dirs"], 3.0)
        assert plain.commands == 1
        assert plain.paths == {}
    finally:
        shutil.rmtree(control, ignore_errors=True)


def test_become_runs_the_reads_through_sudo(local: Remote) -> None:
    """ansible_become: the host's one script runs under ``sudo -n`` (here root to root)."""
    if shutil.which("sudo") is None:
        pytest.skip("sudo is not installed here")
    from dataclasses import replace

    local.spec = replace(local.spec, become=True)
    assert local.become() == "sudo -n -u root -- "
    snap = read_host(local, ["processes"], 3.0)
    assert snap.unreachable is None
    table = snap.reads["processes"].stdout
    assert "sudo -n -u root -- sh -c" in table  # the script ran under sudo


def test_a_stopped_or_zombie_service_is_not_running() -> None:
    """A SIGSTOPped nova-compute still matches ``pgrep``: it is not running for afterboot."""
    table = process_table(
        "top 1\n"
        "  10   1  500 Tl   /usr/bin/python3 /usr/bin/nova-compute --config-file x\n"
        "  11   1  500 Ssl  /usr/sbin/libvirtd\n"
        "  12   1  500 Z    [nova-conductor] <defunct>\n"
    )
    compute = _by_process(table, SERVICES["nova-compute"])
    assert not compute.running
    assert "stopped" in compute.detail
    assert "10" in compute.detail
    assert _by_process(table, SERVICES["libvirtd"]).running
    assert not _by_process(table, SERVICES["nova-conductor"]).running


def test_a_shared_exec_cut_at_its_deadline_gives_its_reads_its_status() -> None:
    """The engine's exec killed at its deadline, a read inside it half done: that read
    is not taken as finished; it and the read never started take the exec's status."""
    nonce = "@@ab-9"
    out = (
        f"{nonce} begin @box\n{nonce} begin in1\npartial\n"
        f"{nonce} end @box 124\n{nonce} begin df\nok\n\n{nonce} end df 0\n"
    )
    err = f"{nonce} @box timed out\n"
    got = split(out, err, nonce)
    assert "in1" not in got
    assert (got["@box"].rc, got["@box"].stderr) == (124, "timed out")
    assert (got["df"].rc, got["df"].stdout) == (0, "ok\n")
    spec = HostSpec("kolla", service_manager="container", container_engine="podman")
    for name in ("in1", "in2"):
        read = HostRead(name, "", lambda s: "true", engine=True, container="box")
        taken = _unframed(read, spec, got, "")
        assert (taken.rc, taken.stdout, taken.stderr) == (124, "", "timed out")


def test_hosts_not_begun_by_the_pass_deadline_are_not_read(
    monkeypatch: pytest.MonkeyPatch, reads: dict[str, HostRead]
) -> None:
    """One deadline for the whole pass: hosts still queued when it passes are
    could-not-run, one line each; those begun end within their own deadline."""
    monkeypatch.setitem(hostreads.READS, "nap", HostRead("nap", "", lambda s: "sleep 1; echo up"))
    monkeypatch.setattr(collection, "MAX_WORKERS", 2)
    specs = {f"h{i:02d}": HostSpec(f"h{i:02d}", connection="local") for i in range(12)}
    pool = Connections(Inventory(specs, "test"), 5.0, collection.read_host)
    started = time.monotonic()
    snap = collection.collect(
        pool,
        {n: {"nap"} for n in specs},
        set(),
        lambda: None,
        5.0,
        pass_deadline=1.5,  # type: ignore[arg-type,return-value]
    )
    took = time.monotonic() - started
    read = [n for n, h in snap.hosts.items() if h.unreachable is None]
    late = [n for n, h in snap.hosts.items() if h.unreachable]
    assert 2 <= len(read) <= 6, read
    assert len(read) + len(late) == 12
    assert all("deadline passed first" in snap.hosts[n].unreachable for n in late)  # type: ignore[operator]
    assert all(snap.hosts[n].reads["nap"].stdout.strip() == "up" for n in read)
    assert took < 4.5, took
    with pytest.raises(CouldNotRun, match="deadline passed first"):
        pool[late[0]].read("nap")
