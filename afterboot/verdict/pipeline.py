"""The verdict pipeline: what happens to a check's report, stage by stage, in one order
declared here (hooked once, by :mod:`plugins.verdict`).

A report goes through :data:`JUDGE` first: it is classified (failed, could not run, broken
check), its evidence gathered, its dependents told, its waiver applied, and with
``--compare`` marked new or already failing. That is the report every other plugin then
sees (allure-pytest's listener, pytest's JUnit and terminal). :data:`EXPORT` comes last:
the failure's entry with its filled procedure, redaction of everything the report
carries, and the Allure annotations made from them.

``--settle`` is not a stage: it runs a check again, whole, before its report is final
(:mod:`afterboot.verdict.settle`); each attempt goes through the pipeline.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from afterboot.reports.allure import annotate_allure
from afterboot.reports.prometheus import note_host
from afterboot.verdict.blocking import note_broken
from afterboot.verdict.compare import mark_new
from afterboot.verdict.evidence import gather_evidence
from afterboot.verdict.outcomes import classify
from afterboot.verdict.remediation import annotate_failure
from afterboot.verdict.waivers import apply_waivers

Stage = Callable[[pytest.Item, pytest.CallInfo[None], pytest.TestReport], pytest.TestReport]

JUDGE: tuple[tuple[str, Stage], ...] = (
    ("classify", classify),
    ("evidence", gather_evidence),
    ("blocking", note_broken),
    ("waiver", apply_waivers),
    ("new/old", mark_new),
    ("metrics host", note_host),
)
EXPORT: tuple[tuple[str, Stage], ...] = (
    ("entry", annotate_failure),
    ("allure", annotate_allure),
)


def run(
    stages: tuple[tuple[str, Stage], ...],
    item: pytest.Item,
    call: pytest.CallInfo[None],
    report: pytest.TestReport,
) -> pytest.TestReport:
    """The report through ``stages``, in order (a stage may hand on a new report)."""
    for _, stage in stages:
        report = stage(item, call, report)
    return report
