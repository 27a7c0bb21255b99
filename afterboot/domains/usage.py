"""The cloud's usage as the guide's weekly and monthly tasks review it: project quotas,
images, floating-IP pools and user accounts.

Cloud reads of the collection pass (afterboot.reads.cloudreads), fetched once per run beside the
hosts; what they keep is plain data, saved in ``reports/snapshot.json``. Only the periodic
checks declare them, so a post-reboot run never asks for them.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from ipaddress import ip_address
from typing import Any

from afterboot.reads.cloudreads import CloudContext, CloudRead, register

QUOTA_ITEMS = ("instances", "cores", "ram")
QUOTA_WORKERS = 8  # one quota-set request per project, this many at a time
ACTIVE = "active"


@dataclass(frozen=True)
class QuotaUse:
    """One project's use of one nova quota (``limit`` -1 or 0: unlimited)."""

    project: str
    project_id: str
    item: str
    used: int
    limit: int


@dataclass(frozen=True)
class ImageState:
    id: str
    name: str
    status: str
    updated_at: str


@dataclass(frozen=True)
class PoolUse:
    """An external network's floating-IP pool: addresses in its allocation pools, and
    floating IPs taken from it."""

    network: str
    network_id: str
    size: int
    used: int


@dataclass(frozen=True)
class Account:
    id: str
    name: str
    enabled: bool
    holds_roles: bool  # an effective role assignment names it


def quota_use(cloud: Any) -> list[QuotaUse]:
    """Each project's use of its instances, cores and RAM quotas (nova, with usage)."""

    def of(project: Any) -> list[QuotaUse]:
        quota = cloud.compute.get_quota_set(project.id, usage=True)
        usage = getattr(quota, "usage", None) or {}
        return [
            QuotaUse(project.name, project.id, item, int(usage[item]), int(limit))
            for item in QUOTA_ITEMS
            if usage.get(item) is not None and (limit := getattr(quota, item, None)) is not None
        ]

    projects = list(cloud.identity.projects())
    with ThreadPoolExecutor(QUOTA_WORKERS, thread_name_prefix="ab-quota") as pool:
        return [use for uses in pool.map(of, projects) for use in uses]


def images_not_active(cloud: Any) -> list[ImageState]:
    """Every image glance lists that is not active (killed, queued, saving, ...)."""
    return [
        ImageState(image.id, image.name or "", image.status, str(image.updated_at or ""))
        for image in cloud.image.images()
        if image.status != ACTIVE
    ]


def floating_pools(cloud: Any) -> list[PoolUse]:
    """Each external network's floating-IP pool: its size and the addresses taken."""
    pools = []
    for net in cloud.network.networks(is_router_external=True):
        size = 0
        for subnet_id in net.subnet_ids:
            subnet = cloud.network.get_subnet(subnet_id)
            for pool in subnet.allocation_pools or []:
                first, last = ip_address(pool["start"]), ip_address(pool["end"])
                size += int(last) - int(first) + 1
        used = sum(1 for _ in cloud.network.ips(floating_network_id=net.id))
        pools.append(PoolUse(net.name or "", net.id, size, used))
    return pools


def accounts(cloud: Any) -> list[Account]:
    """Every user keystone lists, enabled or not, and whether any role names it."""
    holders: set[str] = set()
    for assignment in cloud.identity.role_assignments(effective=True):
        user = (getattr(assignment, "user", None) or {}).get("id")
        if user:
            holders.add(user)
    return [
        Account(user.id, user.name or "", bool(user.is_enabled), user.id in holders)
        for user in cloud.identity.users()
    ]


# -- the cloud reads this module makes (afterboot.reads.cloudreads' registry) ----------


def _usage(name: str) -> Callable[[CloudContext], Any]:
    """A read of this module's (the periodic checks'), made with the cloud's API; the
    function is looked up when the read is made."""

    def fetch(ctx: CloudContext) -> Any:
        return globals()[name](ctx.cloud)

    return fetch


register(
    CloudRead(
        "quotas", "each project's use of its instances, cores and RAM quotas", _usage("quota_use")
    ),
    CloudRead("images", "every image glance lists that is not active", _usage("images_not_active")),
    CloudRead(
        "floating_ip_pools",
        "each external network's floating-IP pool: its size and the addresses taken",
        _usage("floating_pools"),
    ),
    CloudRead(
        "user_accounts",
        "every keystone user, enabled or not, and whether a role names it",
        _usage("accounts"),
    ),
)
