"""``--prometheus=FILE``: every check's outcome per host as a node_exporter textfile.

The pytest hooks of it; the work is in :mod:`afterboot.reports.prometheus`.
"""

from __future__ import annotations

import pytest

from afterboot.reports.prometheus import Results, results_key, textfile_target


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    config = session.config
    if hasattr(config, "workerinput") or textfile_target(config) is None:
        return
    results = Results(config)
    config.stash[results_key] = results
    config.pluginmanager.register(results, "afterboot-prometheus")
