"""Every API answers (Ops Guide: after a controller reboot, "glance index", "nova list",
"keystone tenant-list"; today: image, server and project lists), read-only, timed."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest


def answer(
    record_property: Callable[[str, object], None],
    api: str,
    call: Callable[[], Iterable[Any] | Any],
) -> Any:
    """Call an API once, record its latency, and fail naming the API if it does not answer."""
    __tracebackhide__ = True
    started = time.monotonic()
    try:
        result = call()
        if isinstance(result, Iterator):  # sdk list calls are lazy: fetch one page
            result = list(itertools.islice(result, 1))
    except Exception as exc:  # noqa: BLE001 - any failure to answer is the finding
        pytest.fail(f"{api} API did not answer: {type(exc).__name__}: {exc}", pytrace=False)
    latency_ms = (time.monotonic() - started) * 1000
    record_property(f"{api}_latency_ms", f"{latency_ms:.0f}")
    return result


@pytest.mark.check("KEYSTONE-001", tier=15, roles=("controller",))
def test_identity_api_answers(
    identity: Any, record_property: Callable[[str, object], None]
) -> None:
    """The identity API issues a token and lists projects."""
    answer(
        record_property,
        "identity",
        lambda: [identity.authorize(), *itertools.islice(identity.identity.projects(), 1)],
    )


@pytest.mark.check("GLANCE-001", tier=21, roles=("controller",))
def test_image_api_answers(cloud: Any, record_property: Callable[[str, object], None]) -> None:
    """The image API lists images."""
    answer(record_property, "image", lambda: cloud.image.images(limit=1))


@pytest.mark.check("PLACEMENT-001", tier=22, roles=("controller",))
def test_placement_api_answers(cloud: Any, record_property: Callable[[str, object], None]) -> None:
    """The placement API lists resource providers."""
    answer(record_property, "placement", lambda: cloud.placement.resource_providers())


@pytest.mark.check("CINDER-001", tier=98, roles=("controller",))
def test_volume_api_answers(cloud: Any, record_property: Callable[[str, object], None]) -> None:
    """The block-storage API lists volumes."""
    answer(
        record_property, "volume", lambda: cloud.block_storage.volumes(all_projects=True, limit=1)
    )


@pytest.mark.check("NOVA-001", tier=99, roles=("controller",))
def test_compute_api_answers(cloud: Any, record_property: Callable[[str, object], None]) -> None:
    """The compute API lists servers."""
    answer(record_property, "compute", lambda: cloud.compute.servers(all_projects=True, limit=1))


@pytest.mark.check("NEUTRON-001", tier=3, roles=("controller",))
def test_network_api_answers(cloud: Any, record_property: Callable[[str, object], None]) -> None:
    """The network API lists networks."""
    answer(record_property, "network", lambda: cloud.network.networks(limit=1))


@pytest.mark.check("SWIFT-001", tier=2, roles=("object-storage-proxy",))
def test_object_api_answers(swift: Any, record_property: Callable[[str, object], None]) -> None:
    """The object-storage proxy answers an account HEAD (``swift stat``)."""
    headers = answer(record_property, "object-store", swift.head_account)
    assert "x-account-container-count" in headers, (
        f"swift stat answered without account headers: {sorted(headers)}"
    )


@pytest.mark.check("API-001", tier=15, roles=("controller",))
def test_catalog_endpoints_answer(cloud: Any) -> None:
    """Every endpoint of the service catalog (the cloud's interface) answers HTTP."""
    interface = cloud.config.get_interface() or "public"
    access = cloud.session.auth.get_access(cloud.session)
    silent: list[str] = []
    seen: set[str] = set()
    for service in access.service_catalog.catalog:
        for endpoint in service.get("endpoints", []):
            if endpoint.get("interface") != interface or endpoint["url"] in seen:
                continue
            seen.add(endpoint["url"])
            parts = urlsplit(endpoint["url"])
            root = f"{parts.scheme}://{parts.netloc}/"
            try:
                resp = cloud.session.get(
                    root, authenticated=False, raise_exc=False, endpoint_filter=None
                )
                if resp.status_code >= 500:
                    silent.append(f"{service['type']} {endpoint['url']} (HTTP {resp.status_code})")
            except Exception as exc:  # noqa: BLE001
                silent.append(f"{service['type']} {endpoint['url']} ({type(exc).__name__})")
    assert seen, f"the service catalog has no {interface} endpoints"
    assert not silent, "endpoints not answering: " + "; ".join(silent)
