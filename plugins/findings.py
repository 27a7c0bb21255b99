"""Structured findings: a check names each offender (subject, host, expected, actual, extra).

Kept in ``item.stash`` while the check runs; the remediation plugin carries them to the
controller inside ``report.user_properties`` (so they survive pytest-xdist) and fills one
remediation per finding::

    def test_x(host, findings):
        for uuid in stopped:
            findings.add(uuid, host=host.name, expected="running", actual="shut off", uuid=uuid)
        assert not stopped, ...

Helpers without a ``request`` call :func:`report_finding` with the item.
"""

from __future__ import annotations

import pytest

from plugins.runbook import Finding

findings_key = pytest.StashKey[list[Finding]]()
MAX_FINDINGS = 200


class Findings:
    """What the running check found wrong; ``add`` once per offender."""

    def __init__(self, item: pytest.Item) -> None:
        self._item = item

    def add(
        self, subject: str, *, host: str = "", expected: str = "", actual: str = "", **extra: object
    ) -> Finding:
        return report_finding(
            self._item, subject, host=host, expected=expected, actual=actual, **extra
        )

    def __len__(self) -> int:
        return len(item_findings(self._item))


def report_finding(
    item: pytest.Item,
    subject: str,
    *,
    host: str = "",
    expected: str = "",
    actual: str = "",
    **extra: object,
) -> Finding:
    """Record one finding on ``item`` (``request.node``); kept at most 200 per check."""
    finding = Finding(
        str(subject), str(host), str(expected), str(actual), {k: str(v) for k, v in extra.items()}
    )
    found = item.stash.setdefault(findings_key, [])
    if len(found) < MAX_FINDINGS and finding not in found:
        found.append(finding)
    return finding


def item_findings(item: pytest.Item) -> list[Finding]:
    found: list[Finding] | None = item.stash.get(findings_key, None)
    return list(found or [])


@pytest.fixture
def findings(request: pytest.FixtureRequest) -> Findings:
    """Record what the check found wrong, one finding per offender (see module doc)."""
    node = request.node
    assert isinstance(node, pytest.Item)
    return Findings(node)
