"""CINDER-005: volumes and their RBD backend, from cinder.conf to the pool's listing.

The pass reads the host's cinder.conf, then lists each RBD backend's pool in one more
command; ``rbd`` here is a stand-in on PATH printing what the real one prints (names one
a line, its errors on stderr), so the command, its framing and the judging are the real
ones."""

from __future__ import annotations

import stat
from pathlib import Path
from types import SimpleNamespace as NS
from typing import Any

import pytest

import tests_cloud.test_volumes as checks
from afterboot.checks.findings import Findings, item_findings
from afterboot.collection import read_host
from afterboot.domains.config import ConfigSyntaxError
from afterboot.domains.rbd import backends, list_command, list_from, pools
from afterboot.errors import CouldNotRun
from afterboot.inventory.model import HostSpec, Inventory
from afterboot.reads.hostreads import PART
from afterboot.snapshot import ReadResult
from afterboot.transport.connections import Connections, Remote

LOST = "11111111-2222-4333-8444-555555555555"
KEPT = "66666666-7777-4888-8999-aaaaaaaaaaaa"
MIGRATED = "bbbbbbbb-cccc-4ddd-8eee-ffffffffffff"
NAME_ID = "12345678-1234-4234-8234-123456789abc"
ORPHAN = "abcdefab-cdef-4abc-8def-abcdefabcdef"

CINDER_CONF = """[DEFAULT]
enabled_backends = ceph, lvm-1
volume_name_template = vol-%s

[ceph]
volume_driver = cinder.volume.drivers.rbd.RBDDriver
volume_backend_name = rbd-fast
rbd_pool = volumes
rbd_user = cinder
rbd_ceph_conf = /etc/ceph/ceph.conf

[lvm-1]
volume_driver = cinder.volume.drivers.lvm.LVMVolumeDriver
"""


def test_only_the_enabled_rbd_backends_are_taken_with_their_pool_user_and_names() -> None:
    (ceph,) = backends(CINDER_CONF)
    assert (ceph.name, ceph.pool, ceph.user) == ("ceph", "volumes", "cinder")
    assert ceph.label == "rbd-fast"
    assert ceph.image(LOST) == f"vol-{LOST}"
    # cinder's defaults: pool rbd, Ceph's default user, volume-<id>; backend_host names it
    (plain,) = backends(
        "[DEFAULT]\nenabled_backends = b1\nbackend_host = rbd-cluster\n"
        "[b1]\nvolume_driver = cinder.volume.drivers.rbd.RBDDriver\n"
    )
    assert (plain.pool, plain.user, plain.host, plain.image(LOST)) == (
        "rbd",
        "",
        "rbd-cluster",
        f"volume-{LOST}",
    )
    with pytest.raises(ConfigSyntaxError):  # its backends are not known: never "none"
        backends("[ceph\nbroken")


def test_hostile_pool_and_user_are_arguments_never_shell() -> None:
    (hostile,) = backends(
        "[DEFAULT]\nenabled_backends = x\n"
        "[x]\nvolume_driver = cinder.volume.drivers.rbd.RBDDriver\n"
        "rbd_pool = v; touch /tmp/AFTERBOOT_PWNED\nrbd_user = $(reboot)\n"
    )
    ((_, command),) = list_command([hostile])
    assert "'v; touch /tmp/AFTERBOOT_PWNED'" in command
    assert "'$(reboot)'" in command


@pytest.fixture
def fake_rbd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``rbd`` on PATH: pool volumes holds two images of cinder's and one it lost; any
    other pool does not exist."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    rbd = bin_dir / "rbd"
    rbd.write_text(
        "#!/bin/sh\n"
        'case "$*" in *"--pool volumes ls"*) '
        f"printf 'vol-{KEPT}\\nvol-{NAME_ID}\\nvol-{ORPHAN}\\nvol-{ORPHAN}.deleted\\nscratch\\n';"
        " exit 0;; esac\n"
        "echo \"rbd: error opening pool 'other': (2) No such file or directory\" >&2; exit 2\n"
    )
    rbd.chmod(rbd.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}:{Path('/usr/bin')}:{Path('/bin')}")
    return tmp_path


def _storage_host(root: Path, conf: str, adopt: bool = False) -> Remote:
    """A block-storage host on this machine whose cinder.conf is ``conf``; ``adopt``: its
    pass made (cinder.conf, then the pools' listing)."""
    etc = root / "cinder"
    etc.mkdir(exist_ok=True)
    (etc / "cinder.conf").write_text(conf)
    spec = HostSpec(
        "stor-01", connection="local", roles=("block-storage",), paths={"/etc/cinder": str(etc)}
    )
    remote = Connections(Inventory({"stor-01": spec}, "t"), 5)["stor-01"]
    if adopt:
        remote.adopt(read_host(remote, ["rbd_volumes"], 5.0))
    return remote


def test_the_pass_lists_each_pool_its_cinder_conf_enables(fake_rbd: Path) -> None:
    remote = _storage_host(fake_rbd, CINDER_CONF)
    snap = read_host(remote, ["rbd_volumes"], 5.0)
    assert snap.commands == 2  # cinder.conf, then the listing made from it
    (ceph,) = backends(CINDER_CONF)
    got = pools([ceph], snap.reads["rbd_volumes"].stdout, "stor-01")
    assert got["ceph"].error == ""
    assert f"vol-{KEPT}" in got["ceph"].images


def test_a_pool_that_does_not_list_is_its_error_never_an_empty_pool(fake_rbd: Path) -> None:
    conf = CINDER_CONF.replace("rbd_pool = volumes", "rbd_pool = other")
    remote = _storage_host(fake_rbd, conf)
    snap = read_host(remote, ["rbd_volumes"], 5.0)
    got = pools(backends(conf), snap.reads["rbd_volumes"].stdout, "stor-01")
    assert got["ceph"].images == frozenset()
    assert "error opening pool 'other'" in got["ceph"].error


def test_a_listing_without_its_status_or_its_part_is_could_not_run() -> None:
    (ceph,) = backends(CINDER_CONF)
    with pytest.raises(CouldNotRun, match="no listing of ceph"):
        pools([ceph], "", "stor-01")
    with pytest.raises(CouldNotRun, match="unexpected line"):
        pools([ceph], f"{PART} ceph\nvol-{KEPT}\n", "stor-01")


def test_configs_that_could_not_be_read_fail_the_listing_and_no_rbd_backend_lists_nothing() -> None:
    failed = list_from(HostSpec("stor-01"), ReadResult("configs", 2, "", "denied"))
    assert isinstance(failed, ReadResult)
    assert failed.rc == 1
    nova_only = ReadResult("configs", 0, f"{PART} /etc/nova/nova.conf\n")
    none = list_from(HostSpec("stor-01"), nova_only)
    assert isinstance(none, ReadResult)
    assert (none.rc, none.stdout) == (0, "")
    broken = ReadResult("configs", 0, f"{PART} /etc/cinder/cinder.conf\n[ceph\n")
    unparsed = list_from(HostSpec("stor-01"), broken)
    assert isinstance(unparsed, ReadResult)
    assert unparsed.rc == 1


def _volume(vid: str, status: str, name_id: str | None = None, host: str = "") -> Any:
    return NS(id=vid, status=status, migration_id=name_id, host=host or "stor-01@ceph#rbd-fast")


def _healthy() -> list[Any]:
    """Volumes the pool holds: one in use, one migrated (its image named for its name_id)."""
    return [_volume(KEPT, "in-use"), _volume(MIGRATED, "available", name_id=NAME_ID)]


def test_a_volume_without_its_image_and_an_image_without_its_volume_fail(
    fake_rbd: Path, request: pytest.FixtureRequest
) -> None:
    remote = _storage_host(fake_rbd, CINDER_CONF, adopt=True)
    volumes = [
        _volume(KEPT, "in-use"),
        _volume(MIGRATED, "available", name_id=NAME_ID),  # its image is named for name_id
        _volume(LOST, "available"),
        _volume("22222222-3333-4444-8555-666666666666", "creating"),  # no image yet
        _volume("33333333-4444-4555-8666-777777777777", "available", host="stor-01@lvm-1#lvm"),
    ]
    connections = NS(with_role=lambda *roles: [remote])
    with pytest.raises(AssertionError) as failed:
        checks.test_volumes_on_their_backend(volumes, connections, Findings(request.node))
    said = str(failed.value)
    assert f"volume {LOST} available on stor-01@ceph: no image vol-{LOST} in pool volumes" in said
    assert f"image vol-{ORPHAN} in pool volumes (stor-01): cinder has no volume {ORPHAN}" in said
    found = {f.extra["kind"]: f for f in item_findings(request.node)}
    assert sorted(found) == ["missing", "orphan"]
    assert found["orphan"].extra["target"] == "stor-01@ceph#rbd-fast"
    assert found["missing"].host == "stor-01"


def test_a_healthy_backend_passes_and_one_that_did_not_list_could_not_run(
    fake_rbd: Path, request: pytest.FixtureRequest
) -> None:
    remote = _storage_host(fake_rbd, CINDER_CONF, adopt=True)
    volumes = [*_healthy(), _volume(ORPHAN, "error")]  # cinder knows it: no orphan
    connections = NS(with_role=lambda *roles: [remote])
    checks.test_volumes_on_their_backend(volumes, connections, Findings(request.node))

    conf = CINDER_CONF.replace("rbd_pool = volumes", "rbd_pool = other")
    other = _storage_host(fake_rbd, conf, adopt=True)
    with pytest.raises(CouldNotRun, match="RBD pools not listed"):
        checks.test_volumes_on_their_backend(
            volumes, NS(with_role=lambda *roles: [other]), Findings(request.node)
        )
