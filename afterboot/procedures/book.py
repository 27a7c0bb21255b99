"""The procedure book of a run: ours merged with the site's, loaded once, shared by all.

Hooks for its one option (``--procedures``) and the load at configure time (a bad file is
a one-line usage error); :func:`procedures` is what the blocking, evidence, remediation,
Allure, waiver and exit-status plugins read. Loading and parsing live in
:mod:`afterboot.procedures.runbook`; this module only decides which directories and keeps
the result.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from afterboot.procedures.runbook import Procedure, ProcedureError, load
from afterboot.settings import settings

_book_key = pytest.StashKey[dict[str, Procedure]]()


def site_dirs(config: pytest.Config) -> list[Path]:
    """The site's procedure directories (``--procedures``, its variable, its ini key)."""
    return list(settings(config).procedures.value)


def procedures(config: pytest.Config) -> dict[str, Procedure]:
    """The merged procedures of this run, by check ID (loaded on first use)."""
    book = config.stash.get(_book_key, None)
    if book is None:
        try:
            book = load(site_dirs(config))
        except ProcedureError as exc:
            raise pytest.UsageError(f"procedures: {exc}") from None
        config.stash[_book_key] = book
    return book


def severity(config: pytest.Config, check: str) -> str:
    """The severity of a check's procedure ('' when the check has none)."""
    proc = procedures(config).get(check)
    return proc.severity if proc is not None else ""
