"""Evidence: on failure, the tail of the logs the procedure names, from the host involved: the pytest hooks over :mod:`afterboot.verdict.evidence`."""

from __future__ import annotations

from collections.abc import Generator

import pytest

from afterboot.checks.findings import item_findings
from afterboot.checks.hosts import host_of
from afterboot.checks.identity import check_key
from afterboot.procedures.book import procedures
from afterboot.procedures.signatures import (
    CAUSE_ID_PROPERTY,
    CAUSE_PROPERTY,
    Cause,
)
from afterboot.redact import redact
from afterboot.verdict.evidence import (
    Limits,
    _attach,
    _containers,
    _limits_key,
    _units,
    collect_causes,
    collect_container_logs,
    collect_journals,
    load_limits,
    most_specific,
)
from afterboot.verdict.outcomes import could_not_run


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_limits_key] = load_limits()


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
    limits: Limits = item.config.stash[_limits_key]
    found: list[Cause] = []
    host = host_of(item)
    mine = item_findings(item)
    sources = [
        *collect_journals(item, _units(mine, host), host, limits),
        *collect_causes(item, proc.logs, host, limits),
    ]
    if not any(cause for _, cause in sources):  # the logs name no cause: the container's output
        sources += collect_container_logs(item, _containers(mine, host), host, limits)
    for text, cause in sources:
        clean = redact(text)
        report.sections.append(("Evidence", clean))
        _attach(clean)
        if cause is not None:
            found.append(cause)
    first = most_specific(found, limits.signatures)
    if first is not None:
        for props in (report.user_properties, item.user_properties):  # JUnit reads teardown's
            props.append((CAUSE_PROPERTY, redact(first.label())))
            props.append((CAUSE_ID_PROPERTY, first.id))
    return report
