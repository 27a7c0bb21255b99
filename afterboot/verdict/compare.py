"""Before and after: ``--compare=FILE`` judges this run against an earlier snapshot.

Hooks, options and the fixtures ``before`` and ``after``; the comparisons themselves are
the pure functions of :mod:`afterboot.domains.beforeafter`, the file and result logic
:mod:`afterboot.verdict.compared`.

- ``--compare=FILE`` (``$AFTERBOOT_COMPARE``, ini ``afterboot_compare``) loads a
  ``reports/snapshot.json`` taken before the maintenance (``--phase=pre-maintenance``);
  a missing, damaged or foreign file (another schema, another cloud) stops the run with
  one line. The before/after checks (those asking for ``before``) run in any phase, and
  every failure is marked ``new`` or not (the same check failed for the same offender in
  the compared run): a JUnit property and an Allure label in the worker, a field of
  ``summary.json`` on the controller, where old failures are listed apart.
- Without it the before/after checks are deselected; ``--phase=pre-maintenance`` still
  makes their reads, so that its snapshot is a whole "before".
- ``--snapshot-file=FILE`` judges that snapshot as "now" instead of reading the cloud: only
  the before/after checks run, touching no host and no API (an audit of two snapshots).
- At the end of every run the controller adds to the ``reports/snapshot.json`` this run
  wrote the cloud's identity, the run's results and the checks it judged (per host).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from afterboot.checks.findings import Findings
from afterboot.checks.hosts import host_of
from afterboot.checks.identity import check_key
from afterboot.collection import merge_late_parts, no_reading_key
from afterboot.domains.beforeafter import BEFORE, NOW, Comparison
from afterboot.errors import CouldNotRun
from afterboot.inventory.load import loaded_inventory
from afterboot.offline import Saved, saved_key
from afterboot.reads.cloud import cloud_config
from afterboot.redact import redact_obj
from afterboot.settings import reports_dir, settings
from afterboot.snapshot import save
from afterboot.snapshotfile import SnapshotFileError, load
from afterboot.verdict.compared import Compared, identity, is_new, other_cloud
from afterboot.verdict.compared import result_rows as rows_of
from afterboot.verdict.entries import NEW_PROPERTY
from afterboot.verdict.outcomes import could_not_run
from afterboot.verdict.remediation import entries, findings_of

compared_key = pytest.StashKey[Compared]()
after_key = pytest.StashKey[Compared]()
started_key = pytest.StashKey[float]()
before_keys = pytest.StashKey[set[tuple[str, str, str]]]()
judged_key = pytest.StashKey[set[tuple[str, str]]]()
PRE_MAINTENANCE = "pre-maintenance"
JUDGED_PROPERTY = "afterboot_judged"  # the host of a check that gave a verdict


def _path(value: str, source: str, config: pytest.Config) -> Path:
    path = Path(os.path.expanduser(value))
    if not path.is_absolute():
        base = config.inipath.parent if source.startswith("ini ") and config.inipath else None
        path = (base or Path.cwd()) / path
    return path


def load_snapshot(value: str, source: str, config: pytest.Config) -> Compared:
    try:
        return Compared(value, load(_path(value, source, config)))
    except SnapshotFileError as exc:
        raise pytest.UsageError(f"compare (from {source}): {exc}") from None


def current_identity(config: pytest.Config) -> dict[str, Any]:
    judged = config.stash.get(saved_key, None)
    if judged is not None and isinstance(judged.doc.get("identity"), dict):
        return dict(judged.doc["identity"])  # the cloud the snapshots were read from
    s = settings(config)
    auth_url, region = cloud_config(s.os_cloud.value)
    inv = loaded_inventory(config)
    return identity(s.os_cloud.value, auth_url, region, inv.hosts if inv else ())


def before_after(item: pytest.Item) -> bool:
    """A before/after check: a check that asks for the compared snapshot (``before``)."""
    return check_key in item.stash and "before" in getattr(item, "fixturenames", ())


# -- fixtures -------------------------------------------------------------------------


def judge(result: Comparison, before: Compared, findings: Findings, config: pytest.Config) -> None:
    """Fail naming every difference; could not run when a side lacks what is compared."""
    __tracebackhide__ = True
    for d in result.differences:
        findings.add(
            d.subject, host=d.host, expected=d.before, actual=d.now, said=d.said, **d.extra
        )
    findings.assert_none(f"changed since {before.path}: ")
    lacking = [read for side, read in result.lacking if side == BEFORE]
    if lacking:
        raise CouldNotRun(
            f"the snapshot {before.path} holds no {', '.join(lacking)}",
            "take it with --phase=pre-maintenance",
        )
    lacking = [read for side, read in result.lacking if side == NOW]
    if lacking:
        saved = config.stash.get(after_key, None)
        where = f"the snapshot {saved.path}" if saved else "this run"
        raise CouldNotRun(f"{where} holds no {', '.join(lacking)}", "nothing to compare with")
    if result.unknown:
        more = f" (+{len(result.unknown) - 3} more)" if len(result.unknown) > 3 else ""
        raise CouldNotRun("; ".join(result.unknown[:3]) + more, "compared the rest")


# -- new or already failing ----------------------------------------------------------


# -- what the next run compares with --------------------------------------------------


class Judged:
    """On the controller: (check, host) of every check that gave a verdict, as the reports
    arrive (from xdist workers too); a blocked or deselected check gave none."""

    def __init__(self, judged: set[tuple[str, str]]) -> None:
        self.judged = judged

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when in ("setup", "call"):
            props = {str(k): str(v) for k, v in report.user_properties}
            if "check_id" in props and JUDGED_PROPERTY in props:
                self.judged.add((props["check_id"], props[JUDGED_PROPERTY]))


def mark_new(
    item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport
) -> pytest.TestReport:
    """With --compare: each failure marked new or already failing; every verdict noted judged."""
    base = item.config.stash.get(compared_key, None)
    check = item.stash.get(check_key, None)
    if check is not None and (report.when == "call" or (report.when == "setup" and report.failed)):
        # it gave a verdict (only this report carries it: not a JUnit property)
        report.user_properties.append((JUDGED_PROPERTY, host_of(item)))
    if base is None or check is None or report.when not in ("setup", "call") or not report.failed:
        return report
    judged = base.judged()
    if before_after(item):
        if could_not_run(report):
            return report  # no comparison made: nothing to call new
        new = True  # a difference since the snapshot is new by definition
    elif not base.has_results:
        return report  # a snapshot without results (taken before they were kept)
    elif judged is not None and (check.id, host_of(item)) not in judged:
        return report  # the compared run did not judge it: neither new nor old
    else:
        new = is_new(
            check.id, host_of(item), findings_of(item, report), item.config.stash[before_keys]
        )
    prop = (NEW_PROPERTY, "true" if new else "false")
    report.user_properties.append(prop)
    item.user_properties.append(prop)  # JUnit writes the teardown report's properties
    return report


def add_results(session: pytest.Session) -> None:
    """The cloud's identity and this run's results, added to the snapshot this run wrote."""
    config = session.config
    if hasattr(config, "workerinput") or config.stash.get(no_reading_key, ""):
        return
    path = reports_dir(config) / "snapshot.json"
    judged = config.stash.get(saved_key, None)
    if judged is not None:
        save_judged(config, judged, path)
        return
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return
    started = config.stash.get(started_key, time.time())
    if not isinstance(doc, dict) or float(doc.get("read_at") or 0) < started:
        return
    if getattr(config.option, "numprocesses", None):  # the other workers' late reads
        merge_late_parts(doc, path.parent, started)
    added = {
        "phase": settings(config).phase.value,
        "identity": current_identity(config),
        "results": rows_of(entries(config)),
        "judged": sorted([list(k) for k in config.stash.get(judged_key, set())]),
    }
    # what the snapshot held was redacted when it was saved, after the last check ran
    # (no secret is learned since): only what is added here is redacted now
    doc.update(redact_obj(added))
    tmp = path.with_suffix(".tmp")
    try:
        tmp.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
        tmp.replace(path)
    except OSError as exc:
        config.issue_config_time_warning(pytest.PytestWarning(f"afterboot: {exc}"), stacklevel=2)


def save_judged(config: pytest.Config, judged: Saved, path: Path) -> None:
    """--from-snapshot: the merged snapshot with this run's results, as a run that read
    it would have saved it (never over one of the files judged)."""
    if any(path.resolve() == Path(p).resolve() for p in judged.paths):
        return
    doc = {k: v for k, v in judged.doc.items() if k not in ("results", "judged")}
    doc.update(
        redact_obj(
            {
                "phase": settings(config).phase.value,
                "identity": current_identity(config),
                "results": rows_of(entries(config)),
                "judged": sorted([list(k) for k in config.stash.get(judged_key, set())]),
            }
        )
    )
    try:
        save(doc, path)
    except OSError as exc:
        config.issue_config_time_warning(pytest.PytestWarning(f"afterboot: {exc}"), stacklevel=2)


def load_compared(config: pytest.Config) -> None:
    """With --compare: the earlier snapshot loaded (and with --snapshot-file the one
    judged as now), or one usage error line."""
    compare = settings(config).compare
    value, source = compare.value, compare.source
    after = settings(config).snapshot_file.value
    if value is None:
        if after:
            raise pytest.UsageError(
                "--snapshot-file: needs --compare=FILE (the snapshot to compare it with)"
            )
        return
    base = load_snapshot(value, source, config)
    config.stash[compared_key] = base
    config.stash[before_keys] = base.failed_before()
    if after:
        now = load_snapshot(str(after), "--snapshot-file", config)
        why = other_cloud(base.doc.get("identity"), now.doc.get("identity"))
        if why:
            raise pytest.UsageError(
                f"compare (from {source}): {value} and {after} are snapshots of different "
                f"clouds: {why.replace('this run', after)}"
            )
        config.stash[after_key] = now
        config.stash[no_reading_key] = f"judging the snapshot {after}"
