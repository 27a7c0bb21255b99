"""The hypervisor matches nova's database, both ways (Ops Guide: compute node reboot,
"instances", "inspecting and recovering data from failed instances").

The API's status alone proves nothing after a reboot: nova keeps ``ACTIVE`` for a domain
that crashed, was paused or was undefined. These checks compare nova's records with what
``virsh`` shows on each compute host.
"""

from __future__ import annotations

import pytest

from afterboot.checks.findings import Findings
from afterboot.domains.diskfiles import missing
from afterboot.domains.hypervisor import (
    PAUSED,
    POWER_NAMES,
    RUNNING,
    domains,
    instance_dirs,
    missing_backing_files,
    nbd_in_use,
)
from afterboot.domains.nova import Instance, on_host
from afterboot.transport.connections import Remote

# vm_states nova means to be running; task_state set means nova is working on it.
SHOULD_RUN = ("active",)
# libvirt's reasons for a shut-off domain that its owner did not shut down.
DIED = ("crashed", "unknown", "failed")


def _settled(instance: Instance) -> bool:
    return instance.task_state is None


@pytest.mark.check("NOVA-005", tier=5, roles=("compute",))
@pytest.mark.reads("instances", "domains")
def test_instances_running_again(
    host: Remote, instances: list[Instance], findings: Findings
) -> None:
    """Every instance nova records as active on the host runs on its hypervisor, and none
    was stopped by the host going down (libvirt: shut off, reason crashed/unknown) rather
    than by its owner."""
    by_uuid = {d.uuid: d for d in domains(host)}
    for inst in on_host(instances, host.name):
        if not _settled(inst) or inst.vm_state not in (*SHOULD_RUN, "stopped"):
            continue
        dom = by_uuid.get(inst.uuid)
        if inst.vm_state in SHOULD_RUN and dom is None:
            findings.add(
                inst.uuid,
                said=f"{inst.uuid} active in nova but has no libvirt domain on "
                f"{host.name} (needs a hard reboot)",
                host=host.name,
                expected="running",
                actual="no domain",
                uuid=inst.uuid,
                action="reboot --hard",
            )
        elif inst.vm_state in SHOULD_RUN and dom and dom.power_state not in (RUNNING, PAUSED):
            # paused domains are NOVA-008's inspection leftovers
            findings.add(
                inst.uuid,
                said=f"{inst.uuid} active in nova but {dom.state} on {host.name} "
                f"({dom.reason or 'no reason'})",
                host=host.name,
                expected="running",
                actual=dom.state,
                uuid=inst.uuid,
                action="reboot",
            )
        elif (
            inst.vm_state == "stopped" and dom and dom.state == "shut off" and (dom.reason in DIED)
        ):
            findings.add(
                inst.uuid,
                said=f"{inst.uuid} stopped when {host.name} went down "
                f"(libvirt: shut off, {dom.reason}), not by its owner",
                host=host.name,
                expected="running",
                actual=f"shut off ({dom.reason})",
                uuid=inst.uuid,
                action="start",
            )
    findings.assert_none()


@pytest.mark.check("NOVA-006", tier=5, roles=("compute",))
@pytest.mark.reads("instances", "domains")
def test_hypervisor_matches_database(
    host: Remote, instances: list[Instance], findings: Findings
) -> None:
    """Domains on the host and nova's records of it agree: no orphans, none on the wrong
    host, no power state nova has wrong."""
    mine = {i.uuid: i for i in on_host(instances, host.name)}
    everywhere = {i.uuid: i for i in instances}
    for dom in domains(host):
        inst = mine.get(dom.uuid)
        other = everywhere.get(dom.uuid)
        if inst is None and other is not None:
            findings.add(
                dom.uuid,
                said=f"{dom.uuid} runs on {host.name} but nova records host {other.host}",
                host=host.name,
                expected=f"on {other.host}",
                actual=f"domain on {host.name}",
                uuid=dom.uuid,
            )
        elif inst is None:
            findings.add(
                dom.uuid,
                said=f"domain nova does not know on {host.name}: "
                f"{dom.name} ({dom.uuid}, {dom.state})",
                host=host.name,
                expected="no domain",
                actual=dom.state,
                uuid=dom.uuid,
                domain=dom.name,
            )
        elif (
            _settled(inst)
            and inst.vm_state not in SHOULD_RUN  # active but not running: NOVA-005
            and inst.power_state != dom.power_state
        ):
            said = POWER_NAMES.get(inst.power_state, "?")
            findings.add(
                inst.uuid,
                host=host.name,
                expected=said,
                actual=dom.state,
                uuid=inst.uuid,
                said=f"power state of {inst.uuid} on {host.name}: nova says {said} "
                f"({inst.vm_state}), libvirt says {dom.state}",
            )
    findings.assert_none(sep=" | ")


@pytest.mark.check("NOVA-007", tier=5, roles=("compute",))
@pytest.mark.reads("instances", "instance_dirs", "backing_files")
def test_instance_directories_match(
    host: Remote, instances: list[Instance], findings: Findings
) -> None:
    """/var/lib/nova/instances holds a directory for each instance of the host, none for
    others, and every disk's _base backing file exists."""
    dirs = instance_dirs(host)
    mine = {i.uuid for i in on_host(instances, host.name)}
    for uuid in sorted(dirs - mine):
        findings.add(
            uuid,
            host=host.name,
            expected="no directory",
            actual="directory",
            uuid=uuid,
            said=f"directory without a live instance on {host.name}: {uuid}",
        )
    for uuid in sorted(mine - dirs):
        findings.add(
            uuid,
            host=host.name,
            expected="directory",
            actual="missing",
            uuid=uuid,
            said=f"instance without its directory on {host.name}: {uuid}",
        )
    for uuid, backing in missing_backing_files(host, sorted(mine & dirs)).items():
        findings.add(
            uuid,
            host=host.name,
            expected=backing,
            actual="missing",
            uuid=uuid,
            said=f"backing file of {uuid} gone on {host.name}: {backing}",
        )
    findings.assert_none(sep=" | ")


@pytest.mark.check("NOVA-008", tier=5, roles=("compute",))
@pytest.mark.reads("instances", "domains", "nbd")
def test_no_inspection_leftovers(
    host: Remote, instances: list[Instance], findings: Findings
) -> None:
    """No domain is paused behind nova's back and no /dev/nbd* is connected or mounted
    (the guide's qemu-nbd steps 4-6 were done). A domain paused while nova has a task on
    its instance (a hard reboot, a snapshot) is that task's, said as such with its own
    remedy: no inspection was left behind."""
    mine = {i.uuid: i for i in on_host(instances, host.name)}
    for dom in domains(host):
        inst = mine.get(dom.uuid)
        if dom.power_state != PAUSED or inst is None or inst.vm_state not in SHOULD_RUN:
            continue
        if inst.task_state:
            findings.add(
                dom.uuid,
                said=f"paused on {host.name} while nova's task {inst.task_state} is in "
                f"progress: {dom.uuid} ({dom.name})",
                host=host.name,
                expected="running, its task ended",
                actual=f"paused, task {inst.task_state}",
                uuid=dom.uuid,
                domain=dom.name,
                kind="task",
                task_state=inst.task_state,
            )
            continue
        findings.add(
            dom.uuid,
            said=f"paused on {host.name} while nova thinks it active: {dom.uuid} ({dom.name})",
            host=host.name,
            expected="running",
            actual="paused",
            uuid=dom.uuid,
            domain=dom.name,
            kind="paused",
        )
    for line in nbd_in_use(host):
        device = next((w for w in line.split() if w.startswith("/dev/nbd")), line)
        findings.add(
            device,
            host=host.name,
            expected="disconnected",
            actual=line,
            device=device,
            kind="nbd",
            said=f"nbd device in use on {host.name}: {line}",
        )
    findings.assert_none(sep=" | ")


@pytest.mark.check("NOVA-013", tier=5, roles=("compute",), settles=False)
@pytest.mark.reads("domain_xmls", "disk_files")
def test_domain_disk_files_exist(host: Remote, findings: Findings) -> None:
    """Every file a domain of the host uses as a disk is there. One deleted under a running
    domain lives on only as the file its qemu process holds open, until the domain stops;
    one missing under a stopped domain keeps it from starting."""
    for disk in missing(host):
        state = "running" if disk.running else "not running"
        findings.add(
            f"{disk.uuid or disk.domain} {disk.target}",
            host=host.name,
            expected="present",
            actual="missing",
            uuid=disk.uuid,
            domain=disk.domain,
            target=disk.target,
            path=disk.path,
            running="yes" if disk.running else "no",
            said=f"{disk.path} gone on {host.name}: disk {disk.target} of {disk.domain} "
            f"({disk.uuid}, {state})",
        )
    findings.assert_none(sep=" | ")
