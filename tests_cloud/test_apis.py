"""Every API answers (Ops Guide: after a controller reboot, "glance index", "nova list",
"keystone tenant-list"; today: image, server and project lists), read-only, timed.

The probes run once, concurrently, in the collection pass (cloud read ``apis``); each
check judges its API's answer."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest

from afterboot.checks.catalog import WITH_CONFIG_GATE
from afterboot.checks.findings import Findings
from afterboot.errors import CouldNotRun
from afterboot.inventory.model import Inventory
from afterboot.reads.cloudreads import Answer
from afterboot.snapshot import Snapshot


def answer(
    snapshot: Snapshot,
    record_property: Callable[[str, object], None],
    api: str,
    findings: Findings | None = None,
    hosts: Sequence[str] = (),
) -> Any:
    """The API's answer, with its latency recorded; fail naming the API if it did not
    (and, with ``findings``, each of ``hosts``, where the API runs, as an offender)."""
    __tracebackhide__ = True
    got: Answer = snapshot.cloud_value("apis")[api]
    if isinstance(got.error, CouldNotRun):
        raise got.error.with_traceback(None)
    if got.error is not None:
        exc = got.error
        said = f"{type(exc).__name__}: {exc}"
        if findings is not None:
            for host in hosts:
                findings.add(api, host=host, expected="an answer", actual=said, api=api)
        pytest.fail(f"{api} API did not answer: {said}", pytrace=False)
    record_property(f"{api}_latency_ms", f"{got.latency_ms:.0f}")
    return got.value


@pytest.mark.check("KEYSTONE-001", tier=15, roles=("controller",), phases=WITH_CONFIG_GATE)
@pytest.mark.reads("apis")
def test_identity_api_answers(
    snapshot: Snapshot,
    record_property: Callable[[str, object], None],
    inventory: Inventory,
    findings: Findings,
) -> None:
    """The identity API issues a token and lists projects."""
    answer(snapshot, record_property, "identity", findings, inventory.names("controller"))


@pytest.mark.check("GLANCE-001", tier=21, roles=("controller",), phases=WITH_CONFIG_GATE)
@pytest.mark.reads("apis")
def test_image_api_answers(
    snapshot: Snapshot,
    record_property: Callable[[str, object], None],
    inventory: Inventory,
    findings: Findings,
) -> None:
    """The image API lists images."""
    answer(snapshot, record_property, "image", findings, inventory.names("controller"))


@pytest.mark.check("PLACEMENT-001", tier=22, roles=("controller",), phases=WITH_CONFIG_GATE)
@pytest.mark.reads("apis")
def test_placement_api_answers(
    snapshot: Snapshot,
    record_property: Callable[[str, object], None],
    inventory: Inventory,
    findings: Findings,
) -> None:
    """The placement API lists resource providers."""
    answer(snapshot, record_property, "placement", findings, inventory.names("controller"))


@pytest.mark.check("CINDER-001", tier=98, roles=("controller",), phases=WITH_CONFIG_GATE)
@pytest.mark.reads("apis")
def test_volume_api_answers(
    snapshot: Snapshot,
    record_property: Callable[[str, object], None],
    inventory: Inventory,
    findings: Findings,
) -> None:
    """The block-storage API lists volumes."""
    answer(snapshot, record_property, "volume", findings, inventory.names("controller"))


@pytest.mark.check("NOVA-001", tier=99, roles=("controller",), phases=WITH_CONFIG_GATE)
@pytest.mark.reads("apis")
def test_compute_api_answers(
    snapshot: Snapshot,
    record_property: Callable[[str, object], None],
    inventory: Inventory,
    findings: Findings,
) -> None:
    """The compute API lists servers."""
    answer(snapshot, record_property, "compute", findings, inventory.names("controller"))


@pytest.mark.check("NEUTRON-001", tier=3, roles=("controller",), phases=WITH_CONFIG_GATE)
@pytest.mark.reads("apis")
def test_network_api_answers(
    snapshot: Snapshot,
    record_property: Callable[[str, object], None],
    inventory: Inventory,
    findings: Findings,
) -> None:
    """The network API lists networks."""
    answer(snapshot, record_property, "network", findings, inventory.names("controller"))


@pytest.mark.check("SWIFT-001", tier=2, roles=("object-storage-proxy",), phases=WITH_CONFIG_GATE)
@pytest.mark.reads("apis")
def test_object_api_answers(
    snapshot: Snapshot,
    record_property: Callable[[str, object], None],
    inventory: Inventory,
    findings: Findings,
) -> None:
    """The object-storage proxy answers an account HEAD (``swift stat``).

    Where it does not, each proxy host of the inventory is an offender: the load balancer
    in front of them does not say which one answered."""
    proxies = inventory.names("object-storage-proxy")
    headers = answer(snapshot, record_property, "object-store", findings, proxies)
    if "x-account-container-count" not in headers:
        for host in proxies:
            findings.add(
                "object-store",
                host=host,
                expected="account headers",
                actual="none",
                api="object-store",
            )
    assert "x-account-container-count" in headers, (
        f"swift stat answered without account headers: {sorted(headers)}"
    )


@pytest.mark.check("API-001", tier=15, roles=("controller",), phases=WITH_CONFIG_GATE)
@pytest.mark.reads("apis")
def test_catalog_endpoints_answer(
    snapshot: Snapshot, record_property: Callable[[str, object], None]
) -> None:
    """Every endpoint of the service catalog (the cloud's interface) answers HTTP."""
    said: dict[str, str] = answer(snapshot, record_property, "endpoints")
    assert said, "the service catalog has no endpoints for the cloud's interface"
    silent = [f"{endpoint} ({why})" for endpoint, why in sorted(said.items()) if why]
    assert not silent, "endpoints not answering: " + "; ".join(silent)
