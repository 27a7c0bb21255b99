"""Evidence: on failure, the tail of the logs the procedure names, from the host involved.

The host's connection comes from the session's ``connections`` pool (the check's ``host``
fixture, or the host of its findings); the read is bounded (bytes, lines, logs) and runs
under the connection's deadline; the known noise of a healthy cloud is dropped (regexes in
``procedures/_evidence.yaml``). Evidence that cannot be fetched is noted, never a failure.
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


@dataclass(frozen=True)
class Limits:
    lines: int
    bytes: int
    logs: int
    noise: tuple[re.Pattern[str], ...]


_limits_key = pytest.StashKey[Limits]()


def pytest_configure(config: pytest.Config) -> None:
    data = data_file("_evidence.yaml")
    raw = data.get("limits") or {}
    config.stash[_limits_key] = Limits(
        int(raw.get("lines", 60)),
        int(raw.get("bytes", 65536)),
        int(raw.get("logs", 3)),
        tuple(re.compile(p) for p in data.get("noise") or ()),
    )


def filtered(text: str, limits: Limits) -> str:
    """Noise dropped, the last ``limits.lines`` lines kept."""
    keep = [line for line in text.splitlines() if not any(p.search(line) for p in limits.noise)]
    return "\n".join(keep[-limits.lines :])


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
    """``[(title, text)]`` rendered as sections; never raises."""
    remote = _remote(item, host)
    if remote is None or not logs:
        return []
    out: list[str] = []
    for log in logs[: limits.logs]:
        path = fill(log, {"host": host or getattr(remote, "name", "")})
        try:
            mapped = remote.path(path) if hasattr(remote, "path") else path
            result = remote.run("test -r %s && tail -c %s %s", mapped, str(limits.bytes), mapped)
            if getattr(result, "rc", 1) != 0:
                continue
            text = filtered(str(result.stdout), limits)
        except Exception as exc:  # noqa: BLE001 - evidence is best effort
            out.append(f"{path} on {remote.name}: not fetched ({type(exc).__name__})")
            continue
        if text:
            out.append(
                f"{path} on {remote.name} (last {limits.lines} lines, noise removed)\n{text}"
            )
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
    for text in collect(item, proc.logs, host_of(item), item.config.stash[_limits_key]):
        clean = redact(text)
        report.sections.append(("Evidence", clean))
        _attach(clean)
    return report


def _attach(text: str) -> None:
    try:
        import allure

        allure.attach(text, name="Evidence", attachment_type=allure.attachment_type.TEXT)
    except Exception:  # noqa: BLE001 - no allure: the section is enough
        return
