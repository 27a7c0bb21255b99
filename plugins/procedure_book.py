"""The procedure book of a run: ours merged with the site's, loaded once, shared by all: the pytest hooks over :mod:`afterboot.procedures.book`."""

from __future__ import annotations

import pytest

from afterboot.procedures.book import procedures


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("afterboot").addoption(
        "--procedures",
        dest="afterboot_procedures",
        action="append",
        default=None,
        metavar="DIR",
        help="site procedure directories merged over ours, repeatable "
        "[env AFTERBOOT_PROCEDURES (os.pathsep-separated), ini afterboot_procedures]",
    )
    parser.addini(
        "afterboot_procedures", "site procedure directories (YAML) merged over ours", type="paths"
    )


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    procedures(config)
