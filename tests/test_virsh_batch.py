"""The ``domains`` and ``domain_xmls`` reads ask libvirt in two virsh calls whatever the
number of domains, keep their output format (a saved "before" snapshot still parses), and
fail (never "no domain") when virsh cannot list. Run against libvirt's test driver: a real
virsh, a node of three domains, no daemon."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from afterboot.domains.hypervisor import Domain, has_volume_disk, parse_cpu, parse_domains
from afterboot.errors import CouldNotRun
from afterboot.inventory.model import HostSpec
from afterboot.reads import hostreads
from afterboot.reads.hostreads import PART, parts

VIRSH = shutil.which("virsh")
pytestmark = pytest.mark.skipif(VIRSH is None, reason="virsh (libvirt-clients) not installed")

NODE = """<node>
  <domain type='test'>
    <name>instance-00000001</name>
    <uuid>11111111-1111-4111-8111-111111111111</uuid>
    <memory>8192</memory><os><type>hvm</type></os>
  </domain>
  <domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>
    <name>it's odd</name>
    <uuid>22222222-2222-4222-8222-222222222222</uuid>
    <memory>8192</memory><os><type>hvm</type></os>
    <test:runstate>5</test:runstate>
  </domain>
  <domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>
    <name>with space &amp; "quote" \\ back</name>
    <uuid>33333333-3333-4333-8333-333333333333</uuid>
    <memory>8192</memory><os><type>hvm</type></os>
    <test:runstate>3</test:runstate>
  </domain>
</node>
"""
ODD = 'with space & "quote" \\ back'


def _run(read: str, tmp_path: Path, node: str | None = NODE) -> tuple[int, str, list[str]]:
    """The read's snippet, run by sh with a virsh on the test driver that logs its calls."""
    uri = "test:///" + str(tmp_path / "node.xml").lstrip("/")
    if node is not None:
        (tmp_path / "node.xml").write_text(node)
    else:
        uri = "test:///" + str(tmp_path / "absent.xml").lstrip("/")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls"
    (bin_dir / "virsh").write_text(f'#!/bin/sh\necho call >> {log}\nexec {VIRSH} -c {uri} "$@"\n')
    (bin_dir / "virsh").chmod(0o755)
    script = hostreads.READS[read].command(HostSpec("cmp-01", roles=("compute",)))
    proc = subprocess.run(
        ["sh", "-c", script],
        capture_output=True,
        text=True,
        env={"PATH": f"{bin_dir}:/usr/bin:/bin"},
        timeout=60,
        check=False,
    )
    calls = log.read_text().splitlines() if log.exists() else []
    return proc.returncode, proc.stdout, calls


def test_domains_in_two_calls_whatever_their_names(tmp_path: Path) -> None:
    rc, out, calls = _run("domains", tmp_path)
    assert rc == 0
    assert sorted(parse_domains(out), key=lambda d: d.uuid) == [
        Domain("instance-00000001", "11111111-1111-4111-8111-111111111111", "running", "unknown"),
        Domain("it's odd", "22222222-2222-4222-8222-222222222222", "shut off", "unknown"),
        Domain(ODD, "33333333-3333-4333-8333-333333333333", "paused", "unknown"),
    ]
    assert len(calls) == 2, calls  # the list, then every domain's questions at once


def test_domain_xmls_in_two_calls_one_part_per_domain(tmp_path: Path) -> None:
    rc, out, calls = _run("domain_xmls", tmp_path)
    assert rc == 0
    got = parts(out)
    assert set(got) == {"instance-00000001", "it's odd", ODD}
    assert "<uuid>22222222-2222-4222-8222-222222222222</uuid>" in got["it's odd"]
    assert out.startswith(PART)
    assert len(calls) == 2, calls


def test_no_domain_is_an_empty_answer_in_one_call(tmp_path: Path) -> None:
    rc, out, calls = _run("domains", tmp_path, "<node></node>\n")
    assert (rc, out, len(calls)) == (0, "", 1)


@pytest.mark.parametrize("read", ["domains", "domain_xmls"])
def test_a_virsh_that_cannot_list_fails_the_read(tmp_path: Path, read: str) -> None:
    rc, out, _ = _run(read, tmp_path, node=None)
    assert rc != 0
    assert out == ""


VOLUME = "5b1c4f1e-2d3a-4c5b-8e9f-0a1b2c3d4e5f"
# a domain as nova defines it (the lab's compute1, libvirt 9): the volume's RBD disk
DOMAIN = f"""<domain type='qemu'><name>instance-00000001</name>
<metadata><nova:instance xmlns:nova="http://openstack.org/xmlns/libvirt/nova/1.1">
<nova:name>ab-fw-compute1</nova:name><nova:description>holds {VOLUME}</nova:description>
</nova:instance></metadata>
<devices>
<disk type='file' device='disk'><source file='/var/lib/nova/instances/x/disk'/>
<target dev='vda' bus='virtio'/></disk>
{{volume}}
</devices></domain>"""
RBD = f"""<disk type='network' device='disk'><source protocol='rbd' name='volumes/volume-{VOLUME}'/>
<target dev='vdb' bus='virtio'/><serial>{VOLUME}</serial></disk>"""


def test_a_volume_disk_is_found_by_its_serial_or_source_not_anywhere() -> None:
    assert has_volume_disk(DOMAIN.format(volume=RBD), VOLUME)
    no_serial = RBD.replace(f"<serial>{VOLUME}</serial>", "")
    assert has_volume_disk(DOMAIN.format(volume=no_serial), VOLUME)  # its RBD source
    # detached: the id is left only in the metadata's description
    assert not has_volume_disk(DOMAIN.format(volume=""), VOLUME)
    with pytest.raises(CouldNotRun, match="does not parse"):
        has_volume_disk("<domain><devices>", VOLUME)


def test_the_cpu_of_an_x86_host_and_of_an_arm64_host() -> None:
    x86 = "model name\t: Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz\nflags\t\t: fpu vme sse2 avx\n"
    assert parse_cpu(x86) == (
        "Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz",
        {"fpu", "vme", "sse2", "avx"},
    )
    arm = (  # a Neoverse N1 (Ampere Altra), as /proc/cpuinfo prints it: no model name
        "Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics\n"
        "CPU implementer\t: 0x41\nCPU part\t: 0xd0c\n"
        "Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics\n"
    )
    model, flags = parse_cpu(arm)
    assert model == "arm64 implementer 0x41 part 0xd0c"
    assert "atomics" in flags
