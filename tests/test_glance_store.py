"""GLANCE-002: images and their store, from glance-api.conf to the store's listing.

The pass reads the host's glance-api.conf, then lists each file store with the real
``find`` (a directory here) and each RBD store with a stand-in ``rbd`` on PATH, through
the real framing; the check judges what they held against glance's images."""

from __future__ import annotations

import stat
from pathlib import Path
from types import SimpleNamespace as NS

import pytest

import tests_cloud.test_images as checks
from afterboot.checks.findings import Findings, item_findings
from afterboot.collection import read_host
from afterboot.domains.config import ConfigSyntaxError
from afterboot.domains.glancestore import ImageData, held, stores
from afterboot.errors import CouldNotRun
from afterboot.inventory.model import HostSpec, Inventory
from afterboot.transport.connections import Connections, Remote

WHOLE = "11111111-2222-4333-8444-555555555555"
SHORT = "22222222-3333-4444-8555-666666666666"
GONE = "33333333-4444-4555-8666-777777777777"
QUEUED = "44444444-5555-4666-8777-888888888888"
UNKNOWN = "55555555-6666-4777-8888-999999999999"
IN_RBD = "66666666-7777-4888-8999-aaaaaaaaaaaa"


def _conf(datadir: Path, delayed: bool = False) -> str:
    return (
        "[DEFAULT]\nenabled_backends = local:file, fast:rbd, web:http\n"
        f"delayed_delete = {'True' if delayed else 'False'}\n"
        "[glance_store]\ndefault_backend = local\n"
        f"[local]\nfilesystem_store_datadir = {datadir}/\n"
        "[fast]\nrbd_store_pool = images\nrbd_store_user = glance\n"
    )


def test_the_file_and_rbd_stores_are_taken_with_their_place_and_the_default() -> None:
    found = stores(_conf(Path("/srv/glance")))
    assert [(s.id, s.kind, s.where, s.default) for s in found.stores] == [
        ("local", "file", "/srv/glance/", True),
        ("fast", "rbd", "images", False),
    ]
    assert found.stores[1].user == "glance"
    assert not found.delayed_delete
    # one store, as before enabled_backends: [glance_store], its defaults
    (one,) = stores("[glance_store]\ndefault_store = file\n").stores
    assert (one.id, one.where, one.default) == ("file", "/var/lib/glance/images/", True)
    assert stores(_conf(Path("/x"), delayed=True)).delayed_delete
    spread = (
        "[glance_store]\nfilesystem_store_datadirs = /a:100\nfilesystem_store_datadirs = /b:200\n"
    )
    assert stores(spread).stores == ()  # several directories by priority: not listed
    with pytest.raises(ConfigSyntaxError):  # its stores are not known: never "none"
        stores("[glance_store\n")


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A file store (a directory) holding one image whole, one cut short and one glance
    does not list; ``rbd`` on PATH whose pool images holds one image."""
    data = tmp_path / "images"
    data.mkdir()
    (data / WHOLE).write_bytes(b"x" * 100)
    (data / SHORT).write_bytes(b"x" * 10)
    (data / UNKNOWN).write_bytes(b"x" * 5)
    (data / "not-an-image.txt").write_text("kept by someone")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    rbd = bin_dir / "rbd"
    rbd.write_text(f"#!/bin/sh\necho {IN_RBD}\n")
    rbd.chmod(rbd.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    return tmp_path


def _controller(root: Path, conf: str) -> Remote:
    etc = root / "glance"
    etc.mkdir(exist_ok=True)
    (etc / "glance-api.conf").write_text(conf)
    spec = HostSpec(
        "ctl-01", connection="local", roles=("controller",), paths={"/etc/glance": str(etc)}
    )
    remote = Connections(Inventory({"ctl-01": spec}, "t"), 5)["ctl-01"]
    remote.adopt(read_host(remote, ["glance_store"], 5.0))
    return remote


def _images() -> list[ImageData]:
    return [
        ImageData(WHOLE, "cirros", "active", 100, ()),  # in the default store
        ImageData(SHORT, "ubuntu", "active", 100, ("local",)),
        ImageData(GONE, "debian", "active", 100, ()),
        ImageData(QUEUED, "upload", "queued", None, ()),  # no data yet
        ImageData(IN_RBD, "fast-one", "active", 1000, ("fast",)),
    ]


def test_the_pass_lists_each_store_with_its_sizes(store: Path) -> None:
    remote = _controller(store, _conf(store / "images"))
    assert remote.reads["glance_store"].rc == 0
    got = held(stores(_conf(store / "images")), remote.reads["glance_store"].stdout, "ctl-01")
    assert got["local"].data[WHOLE] == 100
    assert got["fast"].data == {IN_RBD: None}


def test_an_image_without_its_data_cut_short_or_unknown_fails(
    store: Path, request: pytest.FixtureRequest
) -> None:
    remote = _controller(store, _conf(store / "images"))
    with pytest.raises(AssertionError) as failed:
        checks.test_images_have_their_data(
            _images(), NS(with_role=lambda *roles: [remote]), Findings(request.node)
        )
    said = str(failed.value)
    assert f"image {GONE} (debian) active: file store local on ctl-01 has no " in said
    assert f"holds {store / 'images'}/{SHORT} at 10 bytes, not 100" in said
    assert f"holds {store / 'images'}/{UNKNOWN}: glance lists no image {UNKNOWN}" in said
    found = {f.subject: f.extra["kind"] for f in item_findings(request.node)}
    assert found == {GONE: "missing", SHORT: "size", UNKNOWN: "unknown"}


def test_whole_stores_pass_and_delayed_delete_expects_data_glance_no_longer_lists(
    store: Path, request: pytest.FixtureRequest
) -> None:
    (store / "images" / SHORT).write_bytes(b"x" * 100)
    (store / "images" / GONE).write_bytes(b"x" * 100)
    remote = _controller(store, _conf(store / "images", delayed=True))
    checks.test_images_have_their_data(
        _images(), NS(with_role=lambda *roles: [remote]), Findings(request.node)
    )
    assert item_findings(request.node) == []


def test_a_store_that_does_not_list_is_could_not_run_never_empty(
    store: Path, request: pytest.FixtureRequest
) -> None:
    remote = _controller(store, _conf(store / "not-mounted"))
    with pytest.raises(CouldNotRun, match="glance's stores not listed") as why:
        checks.test_images_have_their_data(
            _images(), NS(with_role=lambda *roles: [remote]), Findings(request.node)
        )
    assert "not-mounted" in str(why.value)


def test_no_controller_with_a_file_or_rbd_store_is_a_skip(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    remote = _controller(tmp_path, "[DEFAULT]\nenabled_backends = web:http\n")
    with pytest.raises(pytest.skip.Exception):
        checks.test_images_have_their_data(
            _images(), NS(with_role=lambda *roles: [remote]), Findings(request.node)
        )
