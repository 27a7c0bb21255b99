"""``--settle=SECONDS``: right after a reboot, wait until the cloud has converged, then judge.

The pytest hooks of it; the work is in :mod:`afterboot.verdict.settle`.
"""

from __future__ import annotations

import pytest

from afterboot.verdict.settle import (
    Settle,
    budget,
    settle_key,
    teardown_and_log,
)


def pytest_configure(config: pytest.Config) -> None:
    seconds = budget(config)
    if seconds is not None:
        config.stash[settle_key] = Settle(config, seconds)


def pytest_report_header(config: pytest.Config) -> list[str]:
    state = config.stash.get(settle_key, None)
    return [f"afterboot: settle up to {state.budget:g}s"] if state is not None else []


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> bool | None:
    state = item.config.stash.get(settle_key, None)
    if state is None:
        return None
    session = item.session
    state.ran = True
    state.first(item, nextitem)
    if nextitem is not None and not (session.shouldfail or session.shouldstop):
        return True
    try:
        state.settle(session)
    finally:
        state.finish(session)
        teardown_and_log(session, state)
    return True


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    state = config.stash.get(settle_key, None)
    if state is not None and state.ran:
        terminalreporter.write_sep(
            "=",
            f"settle: verdict after {state.seconds:.0f}s, {state.rounds} round"
            f"{'s' if state.rounds != 1 else ''} (budget {state.budget:g}s)",
        )
        for row in state.rows:
            terminalreporter.write_line(row.line())
        if not state.rows:
            terminalreporter.write_line("every check passed at once")
