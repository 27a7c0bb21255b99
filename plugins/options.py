"""afterboot's options: one group, one precedence chain (CLI > environment > ini > default): the pytest hooks over :mod:`afterboot.settings`."""

from __future__ import annotations

import pytest

from afterboot.settings import _DIRS, _FILES, _OPTIONS, resolve_settings, settings_key


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("afterboot", "afterboot: OpenStack post-reboot verification")
    for opt in _OPTIONS:
        repeatable = opt.dest in ("roles", "hosts")
        group.addoption(
            opt.flag,
            dest=f"afterboot_{opt.dest}",
            action="append" if repeatable else "store",
            default=None,
            metavar="FILE"
            if opt.dest in _FILES
            else "DIR"
            if opt.dest in _DIRS
            else opt.dest.rstrip("s").upper(),
            help=f"{opt.help} [env {opt.env}, ini {opt.ini}]",
        )
        parser.addini(opt.ini, help=opt.help)
    group.addoption(
        "--list-checks",
        dest="afterboot_list_checks",
        action="store_true",
        default=False,
        help="print the check catalog (ID, tier, roles, phases, title) and exit; touches no cloud",
    )
    group.addoption(
        "--list-hosts",
        dest="afterboot_list_hosts",
        action="store_true",
        default=False,
        help="print every host of --inventory (address, port, user, connection, roles and "
        "where each came from) and exit; touches no host",
    )
    parser.addini(
        "afterboot_check_paths",
        type="paths",
        help="directories whose tests are checks and must carry a check ID",
        default=[],
    )


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.stash[settings_key] = resolve_settings(config)


def pytest_report_header(config: pytest.Config) -> list[str]:
    settings = config.stash.get(settings_key, None)
    return settings.header() if settings else []
