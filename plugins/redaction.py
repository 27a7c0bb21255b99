"""The redaction layer's hooks (the work is in :mod:`afterboot.redact`).

- Live logs: ``--log-cli-level``, ``--log-file`` and the captured-log sections get every
  record redacted before it is formatted.
- Secrets learned by an xdist worker (from the configs it read) are handed to the
  controller when the worker ends, so the controller's last pass over the report
  directories masks them too. They travel in memory, never through a file.
"""

from __future__ import annotations

from typing import Any

import pytest

from afterboot.redact import RedactingFilter, learned, remember

_HANDLERS = ("log_cli_handler", "log_file_handler", "caplog_handler", "report_handler")
_KEY = "afterboot_learned_secrets"


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    logging_plugin = session.config.pluginmanager.get_plugin("logging-plugin")
    if logging_plugin is None:
        return
    for name in _HANDLERS:
        handler = getattr(logging_plugin, name, None)
        if handler is not None and not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())


def pytest_sessionfinish(session: pytest.Session) -> None:
    output = getattr(session.config, "workeroutput", None)
    if output is not None:
        output[_KEY] = learned()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    for secret in getattr(node, "workeroutput", {}).get(_KEY, ()):
        remember(secret)
