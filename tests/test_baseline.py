"""The configuration baseline as plain functions: parse, build, compare, write, load."""

from __future__ import annotations

import filecmp
from pathlib import Path

import pytest

from afterboot.domains.baseline import (
    HOST_DRIFTED,
    ROLE_CHANGED,
    BaselineError,
    Salt,
    build,
    compare,
    file_options,
    is_digest,
    live_files,
    load,
    write,
)
from afterboot.domains.config import ConfigSyntaxError

SALT = Salt("00112233445566778899aabbccddeeff", iterations=1000)
NOVA = "/etc/nova/nova.conf"
PASSWORD = "Sup3rSecretPw-4711"


def nova(host: str, ip: str, **changes: str) -> str:
    options = {
        "DEFAULT/host": host,
        "DEFAULT/my_ip": ip,
        "DEFAULT/reserved_host_memory_mb": "512",
        "DEFAULT/transport_url": f"rabbit://openstack:{PASSWORD}@ctl:5672/",
        "keystone_authtoken/password": PASSWORD,
        "libvirt/virt_type": "qemu",
    }
    options.update({k.replace("__", "/"): v for k, v in changes.items()})
    sections: dict[str, list[str]] = {}
    for key, value in options.items():
        section, option = key.split("/")
        if value != "<unset>":
            sections.setdefault(section, []).append(f"{option} = {value}")
    return "\n".join(f"[{s}]\n" + "\n".join(lines) + "\n" for s, lines in sections.items())


def hosts(**texts: str) -> dict[str, dict[str, object]]:
    return {h: live_files({NOVA: t} if t else {}, (NOVA,), SALT) for h, t in texts.items()}


HEALTHY = {"cmp1": nova("cmp1", "10.0.0.21"), "cmp2": nova("cmp2", "10.0.0.22")}


def baseline() -> dict[str, object]:
    return build(hosts(**HEALTHY))  # type: ignore[arg-type]


def test_file_options_keep_secrets_only_as_salted_digests() -> None:
    opts = file_options(nova("cmp1", "10.0.0.21"), NOVA, SALT)
    secret = opts["keystone_authtoken"]["password"]
    assert is_digest(secret)
    assert PASSWORD not in str(opts)
    assert is_digest(opts["DEFAULT"]["transport_url"])  # a URL with a password
    assert opts["libvirt"]["virt_type"] == "qemu"
    # the same value under another salt: another digest (no dictionary across baselines)
    other = file_options(nova("cmp1", "10.0.0.21"), NOVA, Salt("ff" * 16, 1000))
    assert other["keystone_authtoken"]["password"] != secret


def test_repeated_option_is_a_list_in_file_order() -> None:
    opts = file_options("[pci]\ndevice_spec = a\ndevice_spec = b\n", NOVA, SALT)
    assert opts["pci"]["device_spec"] == ["a", "b"]


def test_build_keeps_agreed_options_and_host_specific_ones_per_host() -> None:
    fb = baseline()[NOVA]
    assert fb.hosts == ["cmp1", "cmp2"]
    assert fb.options["DEFAULT"]["reserved_host_memory_mb"] == "512"
    assert fb.host_specific["DEFAULT"]["my_ip"] == {"cmp1": "10.0.0.21", "cmp2": "10.0.0.22"}
    assert "my_ip" not in fb.options["DEFAULT"]
    # an option found different (not known as host-specific) is recorded per host too
    odd = build(hosts(cmp1=nova("cmp1", "1"), cmp2=nova("cmp2", "2", libvirt__virt_type="kvm")))
    assert odd[NOVA].host_specific["libvirt"]["virt_type"] == {"cmp1": "qemu", "cmp2": "kvm"}


def test_unchanged_cloud_has_no_difference() -> None:
    assert compare(baseline(), ["cmp1", "cmp2"], hosts(**HEALTHY)) == []


def test_one_host_changed_is_host_drifted() -> None:
    live = hosts(
        cmp1=HEALTHY["cmp1"],
        cmp2=nova("cmp2", "10.0.0.22", DEFAULT__reserved_host_memory_mb="1024"),
    )
    (d,) = compare(baseline(), ["cmp1", "cmp2"], live)
    assert (d.host, d.file, d.section, d.option) == (
        "cmp2",
        NOVA,
        "DEFAULT",
        "reserved_host_memory_mb",
    )
    assert (d.baseline, d.live, d.what, d.verdict) == ("512", "1024", "changed", "host-drifted")
    assert HOST_DRIFTED in d.sentence()
    assert "cmp2 /etc/nova/nova.conf [DEFAULT] reserved_host_memory_mb" in d.sentence()


def test_whole_role_changed_the_same_way_is_role_changed() -> None:
    live = hosts(
        cmp1=nova("cmp1", "10.0.0.21", DEFAULT__reserved_host_memory_mb="1024"),
        cmp2=nova("cmp2", "10.0.0.22", DEFAULT__reserved_host_memory_mb="1024"),
    )
    found = compare(baseline(), ["cmp1", "cmp2"], live)
    assert [(d.host, d.verdict) for d in found] == [
        ("cmp1", "role-changed"),
        ("cmp2", "role-changed"),
    ]
    assert ROLE_CHANGED in found[0].sentence()
    # every host changed, but not the same way: each drifted
    live = hosts(
        cmp1=nova("cmp1", "10.0.0.21", DEFAULT__reserved_host_memory_mb="1024"),
        cmp2=nova("cmp2", "10.0.0.22", DEFAULT__reserved_host_memory_mb="2048"),
    )
    assert {d.verdict for d in compare(baseline(), ["cmp1", "cmp2"], live)} == {"host-drifted"}


def test_host_specific_option_is_compared_with_the_hosts_own_value() -> None:
    # cmp2 taking cmp1's address is drift, although the value is known to the role
    live = hosts(cmp1=HEALTHY["cmp1"], cmp2=nova("cmp2", "10.0.0.21"))
    (d,) = compare(baseline(), ["cmp1", "cmp2"], live)
    assert (d.host, d.option, d.baseline, d.live) == ("cmp2", "my_ip", "10.0.0.22", "10.0.0.21")
    assert d.verdict == "host-drifted"


def test_added_and_removed_options() -> None:
    live = hosts(
        cmp1=nova("cmp1", "10.0.0.21", libvirt__cpu_mode="none"),
        cmp2=nova("cmp2", "10.0.0.22", libvirt__virt_type="<unset>"),
    )
    found = {
        (d.host, d.option, d.what, d.baseline, d.live)
        for d in compare(baseline(), ["cmp1", "cmp2"], live)
    }
    assert found == {
        ("cmp1", "cpu_mode", "added", "(unset)", "none"),
        ("cmp2", "virt_type", "removed", "qemu", "(unset)"),
    }


def test_changed_secret_is_named_never_shown() -> None:
    live = hosts(
        cmp1=HEALTHY["cmp1"],
        cmp2=nova("cmp2", "10.0.0.22", keystone_authtoken__password="N3wPassw0rd!x"),
    )
    (d,) = compare(baseline(), ["cmp1", "cmp2"], live)
    assert (d.host, d.section, d.option) == ("cmp2", "keystone_authtoken", "password")
    assert (d.baseline, d.live) == ("(secret)", "changed")
    assert "N3wPassw0rd" not in repr(d) + d.sentence()
    assert PASSWORD not in repr(d) + d.sentence()


def test_missing_and_extra_files_and_unknown_hosts() -> None:
    live = hosts(cmp1=HEALTHY["cmp1"], cmp2="")
    (d,) = compare(baseline(), ["cmp1", "cmp2"], live)
    assert (d.host, d.file, d.what, d.verdict) == ("cmp2", NOVA, "file missing", "host-drifted")
    # a host the baseline was not written from: its host-specific options are unknown
    live = hosts(**HEALTHY, cmp3=nova("cmp3", "10.0.0.23"))
    (d,) = compare(baseline(), ["cmp1", "cmp2"], live)
    assert (d.host, d.what) == ("cmp3", "host not in baseline")
    # a file the role did not have
    empty = build(hosts(cmp1="", cmp2=""))
    found = compare(empty, ["cmp1", "cmp2"], hosts(**HEALTHY))
    assert {(d.host, d.what, d.verdict) for d in found} == {
        ("cmp1", "file added", "role-changed"),
        ("cmp2", "file added", "role-changed"),
    }


def test_written_twice_is_identical_and_loads_back(tmp_path: Path) -> None:
    roles = {"compute": (["cmp1", "cmp2"], baseline())}
    write(tmp_path / "a", roles, SALT)
    write(tmp_path / "b", roles, SALT)
    write(tmp_path / "b", roles, SALT)  # written again over itself
    cmp = filecmp.dircmp(tmp_path / "a", tmp_path / "b")
    assert not cmp.diff_files
    assert not cmp.left_only
    assert not cmp.right_only
    assert (tmp_path / "a/compute/etc/nova/nova.conf.yaml").is_file()
    for f in (tmp_path / "a").rglob("*.yaml"):
        assert PASSWORD not in f.read_text()
    loaded = load(tmp_path / "a")
    assert loaded.salt == SALT
    assert loaded.roles == {"compute": ["cmp1", "cmp2"]}
    assert loaded.role("compute") == baseline()
    assert compare(loaded.role("compute"), loaded.roles["compute"], hosts(**HEALTHY)) == []


def test_writing_one_role_keeps_the_others_and_drops_stale_files(tmp_path: Path) -> None:
    write(tmp_path, {"compute": (["cmp1"], baseline()), "controller": (["ctl"], baseline())}, SALT)
    write(tmp_path, {"compute": (["cmp1"], {})}, SALT)
    loaded = load(tmp_path)
    assert loaded.roles == {"compute": ["cmp1"], "controller": ["ctl"]}
    assert loaded.role("compute") == {}
    assert NOVA in loaded.role("controller")


@pytest.mark.parametrize(
    ("meta", "problem"),
    [
        (None, "no baseline.yaml"),
        ("[1, 2]\n", "not a baseline"),
        ("schema: 2\n", "schema 2"),
        ("schema: 1\nsecrets: {digest: md5, salt: ab}\n", "needs digest"),
        ("schema: 1\nsecrets: {digest: pbkdf2-sha256, salt: xyz}\n", "salt must be hex"),
        ("schema: 1\nsecrets: [\n", "baseline.yaml"),
    ],
)
def test_bad_baseline_is_one_line(tmp_path: Path, meta: str | None, problem: str) -> None:
    if meta is not None:
        (tmp_path / "baseline.yaml").write_text(meta)
    with pytest.raises(BaselineError, match=problem) as info:
        load(tmp_path)
    assert "\n" not in str(info.value)


def test_unparsable_file_is_refused() -> None:
    with pytest.raises(ConfigSyntaxError, match=r"nova\.conf:2"):
        live_files({NOVA: "[DEFAULT]\nthis is no option\n"}, (NOVA,), SALT)
