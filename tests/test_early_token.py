"""The run's token is asked for in a thread while pytest starts: the loggers the thread's
imports add must not end the run in an internal error while pytest's log capture walks
them (seen in CI: "dictionary changed size during iteration", exit 3, no summary)."""

from __future__ import annotations

import logging
import uuid

import pytest

from afterboot.reads.cloud import Loggers, guard_loggers


def test_the_loggers_can_be_walked_while_one_is_added(monkeypatch: pytest.MonkeyPatch) -> None:
    manager = logging.Logger.manager
    monkeypatch.setattr(manager, "loggerDict", dict(manager.loggerDict))  # logging's own
    prefix = f"afterboot.test.{uuid.uuid4().hex}"

    def walk_adding(name: str) -> int:
        """pytest's catching_logs walks the values; a thread's import adds a logger meanwhile."""
        walked = 0
        for walked, _ in enumerate(manager.loggerDict.values(), 1):
            logging.getLogger(f"{name}.{walked}")
        return walked

    with pytest.raises(RuntimeError, match="changed size"):
        walk_adding(f"{prefix}.plain")
    guard_loggers()
    assert isinstance(manager.loggerDict, Loggers)
    walked = walk_adding(prefix)
    assert f"{prefix}.{walked}" in manager.loggerDict  # added, and the walk ended
    guard_loggers()  # once is enough: not wrapped again
    assert type(manager.loggerDict) is Loggers


def test_a_run_that_asks_for_its_token_early_guards_the_loggers(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        test_seen="""
        import logging

        def test_guarded():
            assert type(logging.Logger.manager.loggerDict).__name__ == "Loggers"
        """
    )
    # a cloud named: the token is asked for in a thread at configure (this one fails there)
    suite.runpytest_subprocess("--os-cloud=nosuch", "test_seen.py").assert_outcomes(passed=1)
