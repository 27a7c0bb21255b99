"""Evidence: on failure, the tail of the logs the procedure names, from the host involved.

The host's connection comes from the session's ``connections`` pool (the check's ``host``
fixture, or the host of its findings); the read is bounded (bytes, lines, logs) and runs
under the connection's deadline; the known noise of a healthy cloud is dropped (regexes in
``procedures/_evidence.yaml``). Evidence that cannot be fetched is noted, never a failure.

A log signature (:mod:`plugins.signatures`) that matches a log names the cause: one
``cause:`` line above that log's tail, and the first cause found as the ``cause`` and
``cause_id`` properties (JUnit), which the remediation plugin carries into the entry (the
fitting procedure step first, ``summary.json``).
"""

from __future__ import annotations

import re
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import pytest

from plugins.hosts import host_of
from plugins.identity import check_key
from plugins.outcomes import could_not_run
from plugins.procedure_book import procedures
from plugins.redact import redact
from plugins.runbook import data_file, fill
from plugins.signatures import CAUSE_ID_PROPERTY, CAUSE_PROPERTY, Cause, Signature, find_cause
from plugins.signatures import load as load_signatures


@dataclass(frozen=True)
class Limits:
    lines: int
    bytes: int
    logs: int
    noise: tuple[re.Pattern[str], ...]
    signatures: tuple[Signature, ...] = ()


_limits_key = pytest.StashKey[Limits]()


def pytest_configure(config: pytest.Config) -> None:
    data = data_file("_evidence.yaml")
    raw = data.get("limits") or {}
    config.stash[_limits_key] = Limits(
        int(raw.get("lines", 60)),
        int(raw.get("bytes", 65536)),
        int(raw.get("logs", 3)),
        tuple(re.compile(p) for p in data.get("noise") or ()),
        load_signatures(),
    )


def denoised(text: str, limits: Limits) -> list[str]:
    return [line for line in text.splitlines() if not any(p.search(line) for p in limits.noise)]


def filtered(text: str, limits: Limits) -> str:
    """Noise dropped, the last ``limits.lines`` lines kept."""
    return "\n".join(denoised(text, limits)[-limits.lines :])


def section(title: str, text: str, limits: Limits) -> tuple[str, Cause | None]:
    """One log's evidence: the cause its signature names (over the whole tail read, noise
    removed) as one line above the last ``limits.lines`` lines."""
    keep = denoised(text, limits)
    if not keep:
        return "", None
    cause = find_cause("\n".join(keep), limits.signatures)
    head = f"{cause.headline()}\n" if cause else ""
    tail = "\n".join(keep[-limits.lines :])
    return f"{head}{title} (last {limits.lines} lines, noise removed)\n{tail}", cause


def _remote(item: pytest.Item, host: str) -> Any:
    funcargs: dict[str, Any] = getattr(item, "funcargs", {})
    remote = funcargs.get("host")
    if remote is not None and hasattr(remote, "run"):
        return remote
    pool = funcargs.get("connections")
    if pool is not None and host:
        try:
            return pool[host]
        except Exception:  # noqa: BLE001 - not in the inventory: no evidence
            return None
    return None


def collect(item: pytest.Item, logs: tuple[str, ...], host: str, limits: Limits) -> list[str]:
    """The evidence sections; never raises."""
    return [text for text, _ in collect_causes(item, logs, host, limits)]


def collect_causes(
    item: pytest.Item, logs: tuple[str, ...], host: str, limits: Limits
) -> list[tuple[str, Cause | None]]:
    """Each log's section and the cause it names; never raises."""
    remote = _remote(item, host)
    if remote is None or not logs:
        return []
    out: list[tuple[str, Cause | None]] = []
    for log in logs[: limits.logs]:
        path = fill(log, {"host": host or getattr(remote, "name", "")})
        try:
            mapped = remote.path(path) if hasattr(remote, "path") else path
            result = remote.run("test -r %s && tail -c %s %s", mapped, str(limits.bytes), mapped)
            if getattr(result, "rc", 1) != 0:
                continue
            text, cause = section(f"{path} on {remote.name}", str(result.stdout), limits)
        except Exception as exc:  # noqa: BLE001 - evidence is best effort
            out.append((f"{path} on {remote.name}: not fetched ({type(exc).__name__})", None))
            continue
        if text:
            out.append((text, cause))
    return out


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    check = item.stash.get(check_key, None)
    if check is None or not report.failed or report.when != "call" or could_not_run(report):
        return report
    proc = procedures(item.config).get(check.id)
    if proc is None:
        return report
    first: Cause | None = None
    for text, cause in collect_causes(
        item, proc.logs, host_of(item), item.config.stash[_limits_key]
    ):
        clean = redact(text)
        report.sections.append(("Evidence", clean))
        _attach(clean)
        first = first or cause
    if first is not None:
        for props in (report.user_properties, item.user_properties):  # JUnit reads teardown's
            props.append((CAUSE_PROPERTY, redact(first.label())))
            props.append((CAUSE_ID_PROPERTY, first.id))
    return report


def _attach(text: str) -> None:
    try:
        import allure

        allure.attach(text, name="Evidence", attachment_type=allure.attachment_type.TEXT)
    except Exception:  # noqa: BLE001 - no allure: the section is enough
        return
