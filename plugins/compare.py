"""Before and after: ``--compare=FILE`` judges this run against an earlier snapshot.

Hooks, options and the fixtures ``before`` and ``after``; the comparisons themselves are
the pure functions of :mod:`fixtures.beforeafter`, the file and result logic
:mod:`plugins.compared`.

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
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from fixtures.beforeafter import BEFORE, NOW, Comparison, Doc
from fixtures.collection import also_reads_key, no_reading_key, stored_forms
from fixtures.errors import CouldNotRun
from fixtures.inventory import loaded_inventory
from fixtures.snapshot import Snapshot, to_json
from plugins.compared import Compared, SnapshotFileError, identity, is_new, load, other_cloud
from plugins.compared import result_rows as rows_of
from plugins.findings import Findings
from plugins.hosts import host_of
from plugins.identity import check_key
from plugins.manifest import cloud_config
from plugins.options import settings
from plugins.outcomes import could_not_run
from plugins.redact import redact, redact_obj
from plugins.remediation import entries, findings_of, reports_dir
from plugins.reportfiles import NEW_PROPERTY

compared_key = pytest.StashKey[Compared]()
_after_key = pytest.StashKey[Compared]()
_started_key = pytest.StashKey[float]()
_before_keys = pytest.StashKey[set[tuple[str, str, str]]]()
_judged_key = pytest.StashKey[set[tuple[str, str]]]()
PRE_MAINTENANCE = "pre-maintenance"
JUDGED_PROPERTY = "afterboot_judged"  # the host of a check that gave a verdict


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("afterboot")
    group.addoption(
        "--compare",
        dest="afterboot_compare",
        default=None,
        metavar="FILE",
        help="compare with this earlier reports/snapshot.json (taken with "
        "--phase=pre-maintenance): run the before/after checks and mark each failure new "
        "or already failing [env AFTERBOOT_COMPARE, ini afterboot_compare]",
    )
    group.addoption(
        "--snapshot-file",
        dest="afterboot_snapshot_file",
        default=None,
        metavar="FILE",
        help="with --compare: judge this saved reports/snapshot.json as 'now' instead of "
        "reading the cloud (only the before/after checks; no host, no API)",
    )
    parser.addini("afterboot_compare", "reports/snapshot.json to compare with (--compare)")


def _setting(config: pytest.Config) -> tuple[str | None, str]:
    cli = config.getoption("afterboot_compare")
    if cli:
        return str(cli), "--compare"
    env = os.environ.get("AFTERBOOT_COMPARE")
    if env:
        return env, "$AFTERBOOT_COMPARE"
    ini = config.getini("afterboot_compare")
    if ini:
        return str(ini), "ini afterboot_compare"
    return None, "default"


def _path(value: str, source: str, config: pytest.Config) -> Path:
    path = Path(os.path.expanduser(value))
    if not path.is_absolute():
        base = config.inipath.parent if source.startswith("ini ") and config.inipath else None
        path = (base or Path.cwd()) / path
    return path


def _load(value: str, source: str, config: pytest.Config) -> Compared:
    try:
        return Compared(value, load(_path(value, source, config)))
    except SnapshotFileError as exc:
        raise pytest.UsageError(f"compare (from {source}): {exc}") from None


def pytest_configure(config: pytest.Config) -> None:
    value, source = _setting(config)
    after = config.getoption("afterboot_snapshot_file")
    if value is None:
        if after:
            raise pytest.UsageError(
                "--snapshot-file: needs --compare=FILE (the snapshot to compare it with)"
            )
        return
    base = _load(value, source, config)
    config.stash[compared_key] = base
    config.stash[_before_keys] = base.failed_before()
    if after:
        now = _load(str(after), "--snapshot-file", config)
        why = other_cloud(base.doc.get("identity"), now.doc.get("identity"))
        if why:
            raise pytest.UsageError(
                f"compare (from {source}): {value} and {after} are snapshots of different "
                f"clouds: {why.replace('this run', after)}"
            )
        config.stash[_after_key] = now
        config.stash[no_reading_key] = f"judging the snapshot {after}"


def current_identity(config: pytest.Config) -> dict[str, Any]:
    s = settings(config)
    auth_url, region = cloud_config(s.os_cloud.value)
    inv = loaded_inventory(config)
    return identity(s.os_cloud.value, auth_url, region, inv.hosts if inv else ())


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """Another cloud's snapshot stops the run before any worker starts or host is read."""
    config = session.config
    config.stash[_started_key] = time.time()
    if not hasattr(config, "workerinput"):
        config.stash[_judged_key] = set()
        config.pluginmanager.register(_Judged(config.stash[_judged_key]), "afterboot-judged")
    base = config.stash.get(compared_key, None)
    if base is None or _after_key in config.stash or hasattr(config, "workerinput"):
        return
    why = other_cloud(base.doc.get("identity"), current_identity(config))
    if why:
        _, source = _setting(config)
        raise pytest.UsageError(
            f"compare (from {source}): {base.path} is a snapshot of another cloud: {why}"
        )


def _before_after(item: pytest.Item) -> bool:
    """A before/after check: a check that asks for the compared snapshot (``before``)."""
    return check_key in item.stash and "before" in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Before/after checks only with --compare (their reads also in pre-maintenance);
    only them with --snapshot-file. Runs after the phase selection (plugins/identity.py)."""
    if settings(config).list_checks:
        return
    if compared_key not in config.stash:
        pairs = [it for it in items if _before_after(it)]
        if settings(config).phase.value == PRE_MAINTENANCE:
            config.stash[also_reads_key] = pairs
        drop = pairs
    elif _after_key in config.stash:
        drop = [it for it in items if not _before_after(it)]
    else:
        return
    if drop:
        config.hook.pytest_deselected(items=drop)
        dropped = set(map(id, drop))
        items[:] = [it for it in items if id(it) not in dropped]


def pytest_report_header(config: pytest.Config) -> list[str]:
    base = config.stash.get(compared_key, None)
    if base is None:
        return []
    taken = base.doc.get("read_at")
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(taken)) if taken else "?"
    line = f"afterboot: compare={base.path} (taken {when}, phase {base.doc.get('phase', '?')})"
    after = config.stash.get(_after_key, None)
    if after is not None:
        line += f", judging {after.path} (no host, no API)"
    elif not base.has_results:
        line += "; it holds no results: failures are not marked new"
    return [redact(line)]


# -- fixtures -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def before(pytestconfig: pytest.Config) -> Compared:
    """The snapshot taken before the maintenance (``--compare``)."""
    base = pytestconfig.stash.get(compared_key, None)
    if base is None:
        pytest.skip("no snapshot to compare with (--compare=FILE)")
    return base


@pytest.fixture
def after(request: pytest.FixtureRequest) -> Doc:
    """What this run read, as a snapshot document (or ``--snapshot-file``'s); made for each
    check, so that one judged again after ``--settle`` read again sees the new reads."""
    saved = request.config.stash.get(_after_key, None)
    if saved is not None:
        return saved.doc
    snap: Snapshot = request.getfixturevalue("snapshot")
    return to_json(snap, stored_forms())


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
        saved = config.stash.get(_after_key, None)
        where = f"the snapshot {saved.path}" if saved else "this run"
        raise CouldNotRun(f"{where} holds no {', '.join(lacking)}", "nothing to compare with")
    if result.unknown:
        more = f" (+{len(result.unknown) - 3} more)" if len(result.unknown) > 3 else ""
        raise CouldNotRun("; ".join(result.unknown[:3]) + more, "compared the rest")


# -- new or already failing ----------------------------------------------------------


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    base = item.config.stash.get(compared_key, None)
    check = item.stash.get(check_key, None)
    if check is not None and (report.when == "call" or (report.when == "setup" and report.failed)):
        # it gave a verdict (only this report carries it: not a JUnit property)
        report.user_properties.append((JUDGED_PROPERTY, host_of(item)))
    if base is None or check is None or report.when not in ("setup", "call") or not report.failed:
        return report
    judged = base.judged()
    if _before_after(item):
        if could_not_run(report):
            return report  # no comparison made: nothing to call new
        new = True  # a difference since the snapshot is new by definition
    elif not base.has_results:
        return report  # a snapshot without results (taken before they were kept)
    elif judged is not None and (check.id, host_of(item)) not in judged:
        return report  # the compared run did not judge it: neither new nor old
    else:
        new = is_new(
            check.id, host_of(item), findings_of(item, report), item.config.stash[_before_keys]
        )
    prop = (NEW_PROPERTY, "true" if new else "false")
    report.user_properties.append(prop)
    item.user_properties.append(prop)  # JUnit writes the teardown report's properties
    return report


# -- what the next run compares with --------------------------------------------------


class _Judged:
    """On the controller: (check, host) of every check that gave a verdict, as the reports
    arrive (from xdist workers too); a blocked or deselected check gave none."""

    def __init__(self, judged: set[tuple[str, str]]) -> None:
        self.judged = judged

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when in ("setup", "call"):
            props = {str(k): str(v) for k, v in report.user_properties}
            if "check_id" in props and JUDGED_PROPERTY in props:
                self.judged.add((props["check_id"], props[JUDGED_PROPERTY]))


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """The controller adds the cloud's identity and this run's results to the snapshot
    this run wrote (never to an older one, nor when it judged a saved one)."""
    config = session.config
    if hasattr(config, "workerinput") or config.stash.get(no_reading_key, ""):
        return
    path = reports_dir(config) / "snapshot.json"
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return
    started = config.stash.get(_started_key, time.time())
    if not isinstance(doc, dict) or float(doc.get("read_at") or 0) < started:
        return
    added = {
        "phase": settings(config).phase.value,
        "identity": current_identity(config),
        "results": rows_of(entries(config)),
        "judged": sorted([list(k) for k in config.stash.get(_judged_key, set())]),
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
