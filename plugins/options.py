"""afterboot's options, all from one table (:data:`afterboot.settings.OPTIONS`): one group,
one precedence chain (CLI > environment > ini > default), resolved once."""

from __future__ import annotations

import pytest

from afterboot.settings import OPTIONS, settings, settings_key

# testinfra is a library here: its plugin (an entry point, which ``-p no:testinfra`` does
# not name) would add a ``host`` fixture of its own, shadowing ours where it registers after
# afterboot's plugins (``-p afterboot.pytest_plugin`` in a site's repository)
TESTINFRA_PLUGINS = ("pytest11.testinfra", "testinfra", "pytest_testinfra")


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    for name in TESTINFRA_PLUGINS:
        pluginmanager.set_blocked(name)  # unregistered too if it is already


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("afterboot", "afterboot: OpenStack post-reboot verification")
    for opt in OPTIONS:
        where = [opt.env_help or (f"env {opt.env}" if opt.env else "")]
        if opt.ini and not opt.env_help:
            where.append(f"ini {opt.ini}")
        said = ", ".join(w for w in where if w)
        kwargs = {"metavar": opt.metavar} if opt.metavar else {}
        group.addoption(
            opt.flag,
            dest=opt.parser_dest,
            action=opt.action,
            default=None,  # not given: resolve() goes on to the environment and the ini
            help=f"{opt.help} [{said}]" if said else opt.help,
            **kwargs,
        )
        if opt.ini and opt.ini_type == "bool":
            parser.addini(opt.ini, help=opt.help, type="bool", default=opt.default)
        elif opt.ini and opt.ini_type == "paths":
            parser.addini(opt.ini, help=opt.help, type="paths", default=[])
        elif opt.ini:
            parser.addini(opt.ini, help=opt.help)
    parser.addini(
        "afterboot_check_paths",
        type="paths",
        help="directories whose tests are checks and must carry a check ID",
        default=[],
    )


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    settings(config)  # resolved here, first: a bad value stops the run before anything else


def pytest_report_header(config: pytest.Config) -> list[str]:
    resolved = config.stash.get(settings_key, None)
    return resolved.header() if resolved else []
