"""Periodic checks (Ops Guide: "daily, weekly, monthly" tasks): instances in a failed or
stuck state, disk space, quotas near their limit, images stuck, floating-IP pools,
accounts to review."""

from __future__ import annotations

from typing import Any

import pytest

from afterboot.checks.findings import Findings
from afterboot.domains.discovery import inventory_name
from afterboot.domains.filesystems import disk_usage
from afterboot.domains.liveness import report_time
from afterboot.domains.usage import Account, ImageState, PoolUse, QuotaUse
from afterboot.reads.hostreads import DEVICES_ROOT
from afterboot.snapshot import Snapshot
from afterboot.transport.connections import Connections, Remote

STUCK_AFTER_S = 3600
DISK_FULL_PERCENT = 90
QUOTA_NEAR_PERCENT = 90
FLOATING_FREE_PERCENT = 10
# cinder's states a volume only passes through while cinder-volume works on it (attaching,
# detaching and reserved are CINDER-004's), and those an operation that failed leaves
VOLUME_PASSING = (
    "creating",
    "deleting",
    "downloading",
    "uploading",
    "extending",
    "retyping",
    "backing-up",
    "restoring-backup",
    "maintenance",
)
VOLUME_FAILED = (
    "error",
    "error_deleting",
    "error_extending",
    "error_restoring",
    "error_backing-up",
    "error_managing",
)
IGNORED_FS = ("tmpfs", "devtmpfs", "overlay", "squashfs", "proc", "sysfs", "nsfs", "iso9660")


@pytest.mark.check("PERIODIC-001", tier=5, settles=False)
@pytest.mark.reads("servers")
def test_no_failed_or_stuck_instances(
    servers: list[Any], snapshot: Snapshot, findings: Findings
) -> None:
    """No instance is in ERROR, and none has kept a task state for over an hour."""
    now = snapshot.read_time("servers")
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
    devices_root = host.path(DEVICES_ROOT).rstrip("/") + "/"
    for use in disk_usage(host):
        if use.fstype in IGNORED_FS or use.percent is None:
            continue
        if use.percent > DISK_FULL_PERCENT:
            mount, percent, kind = use.mount, f"{use.percent}%", use.kind
            swift = mount.startswith(devices_root)
            findings.add(
                mount,
                host=host.name,
                expected=f"at most {DISK_FULL_PERCENT}% of {kind} used",
                actual=f"{percent} of {kind} used",
                percent=percent,
                kind=kind,
                **({"swift_device": mount} if swift else {"mount": mount}),
                said=f"{mount} {percent} of {kind} ({use.source})",
            )
    findings.assert_none(f"filesystems nearly full on {host.name}: ", sep=", ")


@pytest.mark.check("PERIODIC-003", tier=99, phases=("periodic",), settles=False)
@pytest.mark.reads("quotas")
def test_quotas_not_near_limit(quotas: list[QuotaUse], findings: Findings) -> None:
    """No project uses over 90 % of its instances, cores or RAM quota."""
    for use in quotas:
        if use.limit > 0 and use.used * 100 > use.limit * QUOTA_NEAR_PERCENT:
            findings.add(
                f"{use.project} {use.item}",
                expected=f"at most {QUOTA_NEAR_PERCENT}% of {use.limit}",
                actual=f"{use.used}/{use.limit}",
                project=use.project,
                project_id=use.project_id,
                quota=use.item,
                said=f"{use.project} {use.item} {use.used}/{use.limit}",
            )
    findings.assert_none("quotas near their limit: ", sep=", ")


@pytest.mark.check("PERIODIC-004", tier=21, phases=("periodic", "post-restore"), settles=False)
@pytest.mark.reads("images")
def test_no_stuck_images(images: list[ImageState], snapshot: Snapshot, findings: Findings) -> None:
    """No image is killed, or queued/saving/importing for over an hour."""
    now = snapshot.read_time("images")
    for image in images:
        if image.status == "killed":
            said = f"{image.id} killed"
        elif (
            image.status in ("queued", "saving", "importing", "uploading")
            and now - (report_time(image.updated_at) or now) > STUCK_AFTER_S
        ):
            said = f"{image.id} {image.status} since {image.updated_at}"
        else:
            continue
        findings.add(image.id, expected="active", actual=image.status, uuid=image.id, said=said)
    findings.assert_none("images: ", sep=", ")


@pytest.mark.check("PERIODIC-008", tier=98, settles=False)
@pytest.mark.reads("volumes")
def test_no_failed_or_stuck_volumes(
    volumes: list[Any], snapshot: Snapshot, connections: Connections, findings: Findings
) -> None:
    """No volume is in an error state, and none has kept a passing state (creating,
    deleting, extending ...) for over an hour: cinder-volume stopped while it worked on it."""
    now = snapshot.read_time("volumes")
    names = list(connections.inventory.hosts) if connections.inventory else []
    for vol in volumes:
        since = report_time(vol.updated_at) or now
        if vol.status in VOLUME_FAILED:
            kind = "error"
        elif vol.status in VOLUME_PASSING and now - since > STUCK_AFTER_S:
            kind = "stuck"
        else:
            continue
        # cinder's host@backend#pool (admin only), without its pool
        backend = str(vol.host or "").partition("#")[0]
        findings.add(
            vol.id,
            host=inventory_name(names, backend) if backend else "",
            expected="available or in-use",
            actual=vol.status,
            kind=kind,
            volume=vol.id,
            backend=backend,
            since=str(vol.updated_at or ""),
            said=f"{vol.id} {vol.status}"
            + (f" since {vol.updated_at}" if kind == "stuck" else "")
            + (f" ({backend})" if backend else ""),
        )
    findings.assert_none("volumes: ", sep=", ")


@pytest.mark.check("PERIODIC-005", tier=3, phases=("periodic",), settles=False)
@pytest.mark.reads("floating_ip_pools")
def test_floating_ip_pools(floating_ip_pools: list[PoolUse], findings: Findings) -> None:
    """External networks keep at least 10 % of their addresses free for floating IPs."""
    for pool in floating_ip_pools:
        if pool.size and pool.used * 100 > pool.size * (100 - FLOATING_FREE_PERCENT):
            findings.add(
                pool.network_id,
                expected=f"at least {FLOATING_FREE_PERCENT}% free",
                actual=f"{pool.used}/{pool.size} taken",
                network=pool.network,
                network_id=pool.network_id,
                said=f"{pool.network} {pool.used}/{pool.size}",
            )
    findings.assert_none("floating-IP pools nearly exhausted: ", sep=", ")


@pytest.mark.check("PERIODIC-006", tier=15, phases=("periodic",), settles=False)
@pytest.mark.reads("user_accounts")
def test_accounts_to_review(user_accounts: list[Account], findings: Findings) -> None:
    """No disabled account still holds a role, and no enabled account holds none (a
    leftover nobody can use): the guide's monthly review of user accounts."""
    for user in user_accounts:
        if not user.enabled and user.holds_roles:
            state, what = "disabled", "disabled but still holds roles"
        elif user.enabled and not user.holds_roles:
            state, what = "unused", "enabled but holds no role"
        else:
            continue
        findings.add(
            user.id,
            expected="reviewed",
            actual=state,
            user=user.name,
            uuid=user.id,
            said=f"{user.name} ({user.id}) {what}",
        )
    findings.assert_none("accounts to review: ")
