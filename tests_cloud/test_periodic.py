"""Periodic checks (Ops Guide: "daily, weekly, monthly" tasks): instances in a failed or
stuck state, disk space, quotas near their limit, images stuck, floating-IP pools,
accounts to review."""

from __future__ import annotations

import time
from ipaddress import ip_address
from typing import Any

import pytest

from fixtures.connections import Remote
from fixtures.hostreads import DEVICES_ROOT, PART
from fixtures.liveness import report_time
from plugins.findings import Findings

STUCK_AFTER_S = 3600
DISK_FULL_PERCENT = 90
QUOTA_NEAR_PERCENT = 90
IGNORED_FS = ("tmpfs", "devtmpfs", "overlay", "squashfs", "proc", "sysfs", "nsfs", "iso9660")


@pytest.mark.check("PERIODIC-001", tier=5, settles=False)
@pytest.mark.reads("servers")
def test_no_failed_or_stuck_instances(servers: list[Any], findings: Findings) -> None:
    """No instance is in ERROR, and none has kept a task state for over an hour."""
    now = time.time()
    errors, stuck = [], []
    for server in servers:
        if server.status == "ERROR":
            errors.append(f"{server.id} ({server.compute_host or 'no host'})")
            findings.add(
                server.id,
                host=server.compute_host or "",
                expected="ACTIVE or SHUTOFF",
                actual="ERROR",
                uuid=server.id,
                state="active",
            )
        elif server.task_state and now - (report_time(server.updated_at) or now) > STUCK_AFTER_S:
            stuck.append(f"{server.id} {server.task_state} since {server.updated_at}")
            findings.add(
                server.id,
                host=server.compute_host or "",
                expected="no task",
                actual=server.task_state,
                uuid=server.id,
            )
    problems = []
    if errors:
        problems.append(f"instances in ERROR: {', '.join(errors)}")
    if stuck:
        problems.append(f"instances stuck in a task: {', '.join(stuck)}")
    assert not problems, "; ".join(problems)


@pytest.mark.check("PERIODIC-002", tier=2, settles=False)
@pytest.mark.reads("df")
def test_disk_space(host: Remote, findings: Findings) -> None:
    """No local filesystem of the host is over 90 % full (blocks or inodes); a swift
    device (under the devices root) is told apart: its remedy is swift's, never deleting."""
    blocks, _, inodes = host.read("df").stdout.partition(f"{PART} inodes\n")
    out = [*blocks.splitlines()[1:], "---", *inodes.splitlines()[1:]]
    devices_root = host.path(DEVICES_ROOT).rstrip("/") + "/"
    kind = "blocks"
    for line in out:
        if line == "---":
            kind = "inodes"
            continue
        parts = line.split()
        if len(parts) < 7 or parts[1] in IGNORED_FS or not parts[5].rstrip("%").isdigit():
            continue
        if int(parts[5].rstrip("%")) > DISK_FULL_PERCENT:
            mount, percent = parts[6], parts[5]
            swift = mount.startswith(devices_root)
            findings.add(
                mount,
                host=host.name,
                expected=f"at most {DISK_FULL_PERCENT}% of {kind} used",
                actual=f"{percent} of {kind} used",
                percent=percent,
                kind=kind,
                **({"swift_device": mount} if swift else {"mount": mount}),
                said=f"{mount} {percent} of {kind} ({parts[0]})",
            )
    findings.assert_none(f"filesystems nearly full on {host.name}: ", sep=", ")


@pytest.mark.check("PERIODIC-003", tier=99, phases=("periodic",), settles=False)
def test_quotas_not_near_limit(cloud: Any) -> None:
    """No project uses over 90 % of its instances, cores or RAM quota."""
    near = []
    for project in cloud.identity.projects():
        quota = cloud.compute.get_quota_set(project.id, usage=True)
        for item in ("instances", "cores", "ram"):
            usage = (getattr(quota, "usage", None) or {}).get(item)
            limit = getattr(quota, item, None)
            if usage is None or not limit or limit < 0:
                continue
            if usage * 100 > limit * QUOTA_NEAR_PERCENT:
                near.append(f"{project.name} {item} {usage}/{limit}")
    assert not near, "quotas near their limit: " + ", ".join(near)


@pytest.mark.check("PERIODIC-004", tier=21, phases=("periodic", "post-restore"), settles=False)
def test_no_stuck_images(cloud: Any) -> None:
    """No image is killed, or queued/saving/importing for over an hour."""
    now = time.time()
    bad = []
    for image in cloud.image.images():
        if image.status == "killed":
            bad.append(f"{image.id} killed")
        elif (
            image.status in ("queued", "saving", "importing", "uploading")
            and now - (report_time(image.updated_at) or now) > STUCK_AFTER_S
        ):
            bad.append(f"{image.id} {image.status} since {image.updated_at}")
    assert not bad, "images: " + ", ".join(bad)


@pytest.mark.check("PERIODIC-005", tier=3, phases=("periodic",), settles=False)
def test_floating_ip_pools(cloud: Any) -> None:
    """External networks keep at least 10 % of their addresses free for floating IPs."""
    tight = []
    for net in cloud.network.networks(is_router_external=True):
        size = 0
        for subnet_id in net.subnet_ids:
            subnet = cloud.network.get_subnet(subnet_id)
            for pool in subnet.allocation_pools or []:
                first, last = ip_address(pool["start"]), ip_address(pool["end"])
                size += int(last) - int(first) + 1
        used = sum(1 for _ in cloud.network.ips(floating_network_id=net.id))
        if size and used * 100 > size * (100 - 10):
            tight.append(f"{net.name} {used}/{size}")
    assert not tight, "floating-IP pools nearly exhausted: " + ", ".join(tight)


@pytest.mark.check("PERIODIC-006", tier=15, phases=("periodic",), settles=False)
def test_accounts_to_review(cloud: Any, findings: Findings) -> None:
    """No disabled account still holds a role, and no enabled account holds none (a
    leftover nobody can use): the guide's monthly review of user accounts."""
    holders: set[str] = set()
    for assignment in cloud.identity.role_assignments(effective=True):
        user = (getattr(assignment, "user", None) or {}).get("id")
        if user:
            holders.add(user)
    problems = []
    for user in cloud.identity.users():
        if not user.is_enabled and user.id in holders:
            state, what = "disabled", "disabled but still holds roles"
        elif user.is_enabled and user.id not in holders:
            state, what = "unused", "enabled but holds no role"
        else:
            continue
        problems.append(f"{user.name} ({user.id}) {what}")
        findings.add(user.id, expected="reviewed", actual=state, user=user.name, uuid=user.id)
    assert not problems, "accounts to review: " + "; ".join(problems)
