"""Placement's view of the compute hosts: each compute node's resource provider, what it
could hold, what is used and by which consumer (cloud read ``providers``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from afterboot.domains.discovery import short_name
from afterboot.reads.cloudreads import CloudContext, CloudRead, register

CLASSES = ("VCPU", "MEMORY_MB")


@dataclass(frozen=True)
class Provider:
    id: str
    name: str
    capacity: dict[str, float]  # (total - reserved) * allocation_ratio
    used: dict[str, float]
    allocations: dict[str, dict[str, float]] = field(default_factory=dict)  # consumer -> rc

    def free(self, rc: str) -> float:
        return self.capacity.get(rc, 0.0) - self.used.get(rc, 0.0)


def compute_providers(cloud: Any) -> dict[str, Provider]:
    """Resource providers holding VCPU (compute nodes), by short host name."""
    found: dict[str, Provider] = {}
    for rp in cloud.placement.resource_providers():
        capacity = {
            inv.resource_class: float((inv.total - inv.reserved) * inv.allocation_ratio)
            for inv in cloud.placement.resource_provider_inventories(rp)
        }
        if "VCPU" not in capacity:
            continue
        usages = cloud.placement.fetch_resource_provider_usages(rp).usages or {}
        used = {rc: float(n) for rc, n in usages.items()}
        held = {
            a.consumer_id: {rc: float(n) for rc, n in (a.resources or {}).items()}
            for a in cloud.placement.resource_provider_allocations(rp.id)
        }
        found[short_name(rp.name)] = Provider(rp.id, rp.name, capacity, used, held)
    return found


# -- the cloud reads this module makes (afterboot.reads.cloudreads' registry) ----------


def _providers(ctx: CloudContext) -> Any:
    return compute_providers(ctx.cloud)


register(
    CloudRead(
        "providers",
        "placement's compute-node resource providers, their usage and allocations (API)",
        _providers,
        thaw=lambda saved: {name: Provider(**p) for name, p in saved.items()},
    ),
)
