"""``--prometheus=FILE``: every check's outcome per host as a node_exporter textfile: the pytest hooks over :mod:`afterboot.reports.prometheus`."""

from __future__ import annotations

import pytest

from afterboot.reports.prometheus import _Results, _results_key, _target


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    config = session.config
    if hasattr(config, "workerinput") or _target(config) is None:
        return
    results = _Results(config)
    config.stash[_results_key] = results
    config.pluginmanager.register(results, "afterboot-prometheus")


