"""The verdict pipeline: what happens to a check's report, stage by stage, in one order
declared here (hooked once, by :mod:`plugins.verdict`).

A report goes through :data:`JUDGE` first: it is classified (failed, could not run, broken
check), its evidence gathered, its dependents told, its waiver applied, and with
``--compare`` marked new or already failing. That is the report every other plugin then
sees (allure-pytest's listener, pytest's JUnit and terminal). :data:`EXPORT` comes last:
the failure's entry with its filled procedure, redaction of everything the report
carries, and the Allure annotations made from them.

At the session's end the results leave the same way: :data:`BEFORE_WRITERS` while other
plugins can still take them (the JUnit writer's testsuite properties), :data:`FINISH`
once they have written their files (the exit status, the snapshot's results, Allure's
files, summary.json and remediation.sh, and the last redaction pass over all of them).

``--settle`` is not a stage: it runs a check again, whole, before its report is final
(:mod:`afterboot.verdict.settle`); each attempt goes through the pipeline.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from afterboot.reports.allure import annotate_allure, write_allure_files
from afterboot.reports.manifest import manifest_properties
from afterboot.reports.plan import write_plan
from afterboot.reports.prometheus import note_host, write_textfile
from afterboot.verdict.blocking import note_broken
from afterboot.verdict.compare import add_results, mark_new
from afterboot.verdict.evidence import gather_evidence
from afterboot.verdict.exitstatus import set_exit_status
from afterboot.verdict.outcomes import classify
from afterboot.verdict.remediation import annotate_failure
from afterboot.verdict.waivers import apply_waivers, ledger_properties

Stage = Callable[[pytest.Item, pytest.CallInfo[None], pytest.TestReport], pytest.TestReport]
SessionStage = Callable[[pytest.Session], None]

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

BEFORE_WRITERS: tuple[tuple[str, SessionStage], ...] = (
    ("waiver ledger", ledger_properties),
    ("manifest", manifest_properties),
)
FINISH: tuple[tuple[str, SessionStage], ...] = (
    ("metrics", write_textfile),
    ("exit status", set_exit_status),
    ("snapshot results", add_results),
    ("allure files", write_allure_files),
    ("plan", write_plan),
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


def finish(stages: tuple[tuple[str, SessionStage], ...], session: pytest.Session) -> None:
    """The session through ``stages``, in order."""
    for _, stage in stages:
        stage(session)
