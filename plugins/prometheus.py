"""``--prometheus=FILE``: every check's outcome per host as a node_exporter textfile: the pytest hooks over :mod:`afterboot.reports.prometheus`."""

from __future__ import annotations

import sys
import time

import pytest

from afterboot.reports.prometheus import _Results, _results_key, _target
from afterboot.reports.textfile import last_successes, render, write_atomically
from afterboot.settings import settings


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    config = session.config
    if hasattr(config, "workerinput") or _target(config) is None:
        return
    results = _Results(config)
    config.stash[_results_key] = results
    config.pluginmanager.register(results, "afterboot-prometheus")


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    results = config.stash.get(_results_key, None)
    target = _target(config)
    if results is None or target is None or not results.rows:
        return
    try:
        previous = last_successes(target.read_text()) if target.is_file() else {}
        rows, phase = list(results.rows.values()), settings(config).phase.value
        text = render(rows, phase, time.time(), previous)
        write_atomically(target, text)
    except (OSError, ValueError) as exc:  # ValueError: a file that is not text (a link)
        # a timer job must not go stale silently: one line, and the run fails (status 4,
        # the option's target being unusable)
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        sys.stderr.write(f"ERROR: afterboot: prometheus textfile {target}: {why}\n")
        session.exitstatus = pytest.ExitCode.USAGE_ERROR
