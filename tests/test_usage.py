"""The periodic checks' cloud reads (afterboot.domains.usage) and the checks judging them: each
offender a finding; quota sets asked concurrently, one request per project."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace as NS
from typing import Any

import pytest

from afterboot.checks.findings import Findings, item_findings
from afterboot.domains.usage import (
    Account,
    PoolUse,
    QuotaUse,
    accounts,
    floating_pools,
    images_not_active,
    quota_use,
)
from afterboot.snapshot import Snapshot
from tests_cloud import test_periodic as checks


class FakeCompute:
    def __init__(self, quotas: dict[str, NS]) -> None:
        self.quotas, self.asked, self.at_once, self._now = quotas, [], 0, 0
        self._lock = threading.Lock()

    def get_quota_set(self, project_id: str, usage: bool = False) -> NS:
        assert usage
        with self._lock:
            self._now += 1
            self.at_once = max(self.at_once, self._now)
        time.sleep(0.02)
        with self._lock:
            self._now -= 1
            self.asked.append(project_id)
        return self.quotas[project_id]


def _quota(instances: tuple[int, int], cores: tuple[int, int]) -> NS:
    return NS(
        instances=instances[1],
        cores=cores[1],
        ram=-1,
        usage={"instances": instances[0], "cores": cores[0], "ram": 4096},
    )


def test_quota_sets_are_asked_once_per_project_concurrently() -> None:
    projects = [NS(id=f"p{i}", name=f"proj{i}") for i in range(6)]
    compute = FakeCompute({p.id: _quota((1, 10), (2, 20)) for p in projects})
    cloud = NS(identity=NS(projects=lambda: iter(projects)), compute=compute)
    uses = quota_use(cloud)
    assert sorted(compute.asked) == [p.id for p in projects]
    assert compute.at_once > 1
    assert QuotaUse("proj0", "p0", "ram", 4096, -1) in uses
    assert len(uses) == 18


def test_a_quota_near_its_limit_is_a_finding_and_unlimited_ones_are_not(
    request: pytest.FixtureRequest,
) -> None:
    uses = [
        QuotaUse("web", "p1", "instances", 10, 10),
        QuotaUse("web", "p1", "ram", 99999, -1),
        QuotaUse("db", "p2", "cores", 5, 20),
    ]
    with pytest.raises(AssertionError, match=r"quotas near their limit: web instances 10/10$"):
        checks.test_quotas_not_near_limit(uses, Findings(request.node))
    (found,) = item_findings(request.node)
    assert (found.extra["project"], found.extra["project_id"]) == ("web", "p1")


def test_only_images_not_active_are_kept_and_killed_or_stuck_ones_found(
    request: pytest.FixtureRequest,
) -> None:
    listed = [
        NS(id="a", name="ok", status="active", updated_at="2026-01-01T00:00:00Z"),
        NS(id="k", name="dead", status="killed", updated_at="2026-01-01T00:00:00Z"),
        NS(id="q", name="old", status="queued", updated_at="2020-01-01T00:00:00Z"),
        NS(
            id="s",
            name="new",
            status="saving",
            updated_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        ),
    ]
    kept = images_not_active(NS(image=NS(images=lambda: iter(listed))))
    assert [i.id for i in kept] == ["k", "q", "s"]
    with pytest.raises(AssertionError, match=r"images: k killed, q queued since 2020"):
        checks.test_no_stuck_images(kept, Snapshot(started=time.time()), Findings(request.node))
    assert [(f.subject, f.actual) for f in item_findings(request.node)] == [
        ("k", "killed"),
        ("q", "queued"),
    ]


def test_floating_pools_count_addresses_and_a_full_one_is_found(
    request: pytest.FixtureRequest,
) -> None:
    net = NS(id="n1", name="public", subnet_ids=["s1", "s2"])
    subnets = {
        "s1": NS(allocation_pools=[{"start": "203.0.113.10", "end": "203.0.113.19"}]),
        "s2": NS(allocation_pools=None),
    }
    network = NS(
        networks=lambda is_router_external: iter([net]),
        get_subnet=subnets.__getitem__,
        ips=lambda floating_network_id: iter(range(10)),
    )
    pools = floating_pools(NS(network=network))
    assert pools == [PoolUse("public", "n1", 10, 10)]
    with pytest.raises(AssertionError, match="public 10/10"):
        checks.test_floating_ip_pools(pools, Findings(request.node))
    assert item_findings(request.node)[0].extra["network_id"] == "n1"


def test_accounts_know_who_holds_a_role(request: pytest.FixtureRequest) -> None:
    users = [
        NS(id="u1", name="alice", is_enabled=True),
        NS(id="u2", name="bob", is_enabled=False),
        NS(id="u3", name="carol", is_enabled=True),
    ]
    assignments = [NS(user={"id": "u1"}), NS(user={"id": "u2"}), NS(user=None)]
    identity: Any = NS(
        role_assignments=lambda effective: iter(assignments), users=lambda: iter(users)
    )
    got = accounts(NS(identity=identity))
    assert got == [
        Account("u1", "alice", True, True),
        Account("u2", "bob", False, True),
        Account("u3", "carol", True, False),
    ]
    with pytest.raises(AssertionError, match=r"bob \(u2\) disabled but still holds roles"):
        checks.test_accounts_to_review(got, Findings(request.node))
    assert [(f.subject, f.actual) for f in item_findings(request.node)] == [
        ("u2", "disabled"),
        ("u3", "unused"),
    ]


def test_volumes_in_error_or_stuck_passing_are_found_on_their_backends_host(
    request: pytest.FixtureRequest,
) -> None:
    def volume(vid: str, status: str, updated: str, host: str = "storage1@ceph#ceph") -> NS:
        return NS(id=vid, status=status, updated_at=updated, host=host)

    now = time.strftime("%Y-%m-%dT%H:%M:%S.000000", time.gmtime())
    listed = [
        volume("ok", "available", "2020-01-01T00:00:00.000000"),
        volume("busy", "in-use", "2020-01-01T00:00:00.000000"),
        volume("new", "creating", now),  # being created now: not stuck
        volume("att", "attaching", "2020-01-01T00:00:00.000000"),  # CINDER-004's
        volume("old", "creating", "2020-01-01T00:00:00.000000"),
        volume("del", "error_deleting", now, host="storage2.example.org@lvm#lvm"),
        volume("gone", "error", now, host=""),
    ]
    inventory = NS(hosts={"storage1": None, "storage2.example.org": None})
    with pytest.raises(AssertionError) as failed:
        checks.test_no_failed_or_stuck_volumes(
            listed, Snapshot(started=time.time()), NS(inventory=inventory), Findings(request.node)
        )
    assert str(failed.value).startswith(
        "volumes: old creating since 2020-01-01T00:00:00.000000 (storage1@ceph), "
        "del error_deleting (storage2.example.org@lvm), gone error"
    )
    found = {f.subject: f for f in item_findings(request.node)}
    assert sorted(found) == ["del", "gone", "old"]
    assert (found["old"].host, found["old"].extra["kind"]) == ("storage1", "stuck")
    assert (found["del"].host, found["del"].extra["kind"]) == ("storage2.example.org", "error")
    assert found["gone"].host == ""
