"""Live logs through the redaction layer: ``--log-cli-level``, ``--log-file`` and the
captured-log sections get every record redacted before it is formatted."""

from __future__ import annotations

import pytest

from plugins.redact import RedactingFilter

_HANDLERS = ("log_cli_handler", "log_file_handler", "caplog_handler", "report_handler")


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    logging_plugin = session.config.pluginmanager.get_plugin("logging-plugin")
    if logging_plugin is None:
        return
    for name in _HANDLERS:
        handler = getattr(logging_plugin, name, None)
        if handler is not None and not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
