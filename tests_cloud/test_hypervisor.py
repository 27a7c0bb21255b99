"""The hypervisor matches nova's database, both ways (Ops Guide: compute node reboot,
"instances", "inspecting and recovering data from failed instances").

The API's status alone proves nothing after a reboot: nova keeps ``ACTIVE`` for a domain
that crashed, was paused or was undefined. These checks compare nova's records with what
``virsh`` shows on each compute host.
"""

from __future__ import annotations

import pytest

from fixtures.connections import Remote
from fixtures.hypervisor import (
    PAUSED,
    POWER_NAMES,
    RUNNING,
    domains,
    instance_dirs,
    missing_backing_files,
    nbd_in_use,
)
from fixtures.nova import Instance, on_host

# vm_states nova means to be running; task_state set means nova is working on it.
SHOULD_RUN = ("active",)


def _settled(instance: Instance) -> bool:
    return instance.task_state is None


@pytest.mark.check("NOVA-005", tier=5, roles=("compute",))
def test_active_instances_running(host: Remote, instances: list[Instance]) -> None:
    """Every instance nova records as active on the host is running on its hypervisor."""
    by_uuid = {d.uuid: d for d in domains(host)}
    stopped, absent = [], []
    for inst in on_host(instances, host.name):
        if inst.vm_state not in SHOULD_RUN or not _settled(inst):
            continue
        dom = by_uuid.get(inst.uuid)
        if dom is None:
            absent.append(inst.uuid)
        elif dom.power_state not in (RUNNING, PAUSED):  # paused: NOVA-008
            stopped.append(f"{inst.uuid} ({dom.state}, {dom.reason or 'no reason'})")
    problems = []
    if stopped:
        problems.append(f"active in nova but not running on {host.name}: {', '.join(stopped)}")
    if absent:
        problems.append(
            f"active in nova but no libvirt domain on {host.name} "
            f"(needs a hard reboot): {', '.join(absent)}"
        )
    assert not problems, "; ".join(problems)


@pytest.mark.check("NOVA-006", tier=5, roles=("compute",))
def test_hypervisor_matches_database(host: Remote, instances: list[Instance]) -> None:
    """Domains on the host and nova's records of it agree: no orphans, none on the wrong
    host, no power state nova has wrong."""
    doms = domains(host)
    mine = {i.uuid: i for i in on_host(instances, host.name)}
    everywhere = {i.uuid: i for i in instances}
    orphans, elsewhere, power = [], [], []
    for dom in doms:
        inst = mine.get(dom.uuid)
        if inst is None:
            other = everywhere.get(dom.uuid)
            if other is not None:
                elsewhere.append(
                    f"{dom.uuid} runs on {host.name} but nova records host {other.host}"
                )
            else:
                orphans.append(f"{dom.name} ({dom.uuid}, {dom.state})")
            continue
        if not _settled(inst) or inst.vm_state in SHOULD_RUN:
            continue  # active-but-stopped is NOVA-005's finding
        if inst.power_state != dom.power_state:
            power.append(
                f"{inst.uuid} nova says {POWER_NAMES.get(inst.power_state, '?')} "
                f"({inst.vm_state}), libvirt says {dom.state}"
            )
    problems = []
    if orphans:
        problems.append(f"domains nova does not know on {host.name}: {', '.join(orphans)}")
    if elsewhere:
        problems.append("; ".join(elsewhere))
    if power:
        problems.append(f"power state differs on {host.name}: {', '.join(power)}")
    assert not problems, " | ".join(problems)


@pytest.mark.check("NOVA-007", tier=5, roles=("compute",))
def test_instance_directories_match(host: Remote, instances: list[Instance]) -> None:
    """/var/lib/nova/instances holds a directory for each instance of the host, none for
    others, and every disk's _base backing file exists."""
    dirs = instance_dirs(host)
    mine = {i.uuid for i in on_host(instances, host.name)}
    leftover = sorted(dirs - mine)
    missing = sorted(mine - dirs)
    broken = missing_backing_files(host, sorted(mine & dirs))
    problems = []
    if leftover:
        problems.append(
            f"directories without a live instance on {host.name}: {', '.join(leftover)}"
        )
    if missing:
        problems.append(f"instances without their directory on {host.name}: {', '.join(missing)}")
    if broken:
        problems.append(
            f"disks whose backing file is gone on {host.name}: "
            + ", ".join(f"{u} ({b})" for u, b in broken.items())
        )
    assert not problems, " | ".join(problems)


@pytest.mark.check("NOVA-008", tier=5, roles=("compute",))
def test_no_inspection_leftovers(host: Remote, instances: list[Instance]) -> None:
    """No domain is paused behind nova's back and no /dev/nbd* is connected or mounted
    (the guide's qemu-nbd steps 4-6 were done)."""
    mine = {i.uuid: i for i in on_host(instances, host.name)}
    paused = [
        f"{d.uuid} ({d.name})"
        for d in domains(host)
        if d.power_state == PAUSED and d.uuid in mine and mine[d.uuid].vm_state in SHOULD_RUN
    ]
    nbd = nbd_in_use(host)
    problems = []
    if paused:
        problems.append(f"paused on {host.name} while nova thinks them active: {', '.join(paused)}")
    if nbd:
        problems.append(f"nbd devices in use on {host.name}: {', '.join(nbd)}")
    assert not problems, " | ".join(problems)
