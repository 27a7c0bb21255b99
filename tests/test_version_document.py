"""API-001: an endpoint answers when its root gives its version document (or swift's
/info), as OpenStack APIs do; any status below 500 no longer counts (a web server's
default page, a 404 of a proxy that lost its backend)."""

from __future__ import annotations

import json

import pytest

from afterboot.reads.cloudreads import version_document

KEYSTONE = {"versions": {"values": [{"id": "v3.14", "status": "stable"}]}}  # 300
NOVA = {"versions": [{"id": "v2.1", "status": "CURRENT", "min_version": "2.1"}]}  # 200
PLACEMENT = {"versions": [{"id": "v1.0", "max_version": "1.39", "min_version": "1.0"}]}
SWIFT_INFO = {"swift": {"version": "2.38.3", "max_file_size": 5368709122}, "tempauth": {}}


@pytest.mark.parametrize(
    ("status", "body", "swift"),
    [
        (300, KEYSTONE, False),
        (200, NOVA, False),
        (200, PLACEMENT, False),
        (200, {"version": {"id": "v2.0"}}, False),
        (200, SWIFT_INFO, True),
        (401, "Authentication required", False),
    ],
)
def test_an_api_root_that_answers_as_openstack(status: int, body: object, swift: bool) -> None:
    text = body if isinstance(body, str) else json.dumps(body)
    assert version_document(status, text, swift) == ""


@pytest.mark.parametrize(
    ("status", "body", "swift", "said"),
    [
        (200, "<html><body>It works!</body></html>", False, "HTTP 200 without its version"),
        (404, "Not Found", False, "HTTP 404"),
        (503, "Service Unavailable", False, "HTTP 503"),
        (200, json.dumps({"error": "x"}), False, "HTTP 200 without its version"),
        (200, json.dumps(NOVA), True, "HTTP 200 without its /info"),
        (302, "", False, "HTTP 302 without its version"),
    ],
)
def test_an_api_root_that_does_not(status: int, body: str, swift: bool, said: str) -> None:
    assert version_document(status, body, swift).startswith(said)
