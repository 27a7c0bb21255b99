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

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest


@dataclass(frozen=True)
class Finding:
    """One thing a check found wrong: what, where, expected vs actual, and extra fields."""

    subject: str = ""
    host: str = ""
    expected: str = ""
    actual: str = ""
    extra: Mapping[str, str] = field(default_factory=dict)

    def values(self) -> dict[str, str]:
        out = {k: str(v) for k, v in self.extra.items()}
        for name in ("subject", "host", "expected", "actual"):
            if getattr(self, name):
                out[name] = getattr(self, name)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "host": self.host,
            "expected": self.expected,
            "actual": self.actual,
            "extra": dict(self.extra),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Finding:
        return cls(
            str(data.get("subject") or ""),
            str(data.get("host") or ""),
            str(data.get("expected") or ""),
            str(data.get("actual") or ""),
            {str(k): str(v) for k, v in (data.get("extra") or {}).items()},
        )


findings_key = pytest.StashKey[list[Finding]]()
MAX_FINDINGS = 200


class Findings:
    """What the running check found wrong; ``add`` once per offender, then
    ``assert_none()``: the failure message is rendered from the findings."""

    def __init__(self, item: pytest.Item) -> None:
        self._item = item
        self._said: list[str] = []

    def add(
        self,
        subject: str,
        *,
        host: str = "",
        expected: str = "",
        actual: str = "",
        said: str = "",
        **extra: object,
    ) -> Finding:
        """Record an offender; ``said`` is its sentence in the failure message."""
        if said and said not in self._said:
            self._said.append(said)
        return report_finding(
            self._item, subject, host=host, expected=expected, actual=actual, **extra
        )

    def __len__(self) -> int:
        return len(item_findings(self._item))

    def assert_none(self, prefix: str = "", sep: str = "; ", limit: int = 20) -> None:
        """Fail with every offender's sentence (at most ``limit``) if there is any."""
        __tracebackhide__ = True
        found = item_findings(self._item)
        if not found and not self._said:
            return
        said = self._said or [_sentence(f) for f in found]
        more = f" (+{len(said) - limit} more)" if len(said) > limit else ""
        raise AssertionError(prefix + sep.join(said[:limit]) + more)


def _sentence(finding: Finding) -> str:
    where = f" on {finding.host}" if finding.host else ""
    detail = ", ".join(
        f"{k} {v}" for k, v in (("expected", finding.expected), ("actual", finding.actual)) if v
    )
    return f"{finding.subject}{where}" + (f" ({detail})" if detail else "")


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
