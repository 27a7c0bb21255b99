"""afterboot's options: one group, one precedence chain (CLI > environment > ini > default).

Every resolved value remembers where it came from, and the report header prints both, so
an audit trail shows which inventory, cloud and phase a run used.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

PHASES = (
    "post-reboot",
    "post-restore",
    "post-upgrade",
    "pre-maintenance",
    "periodic",
    "config-gate",
)

ROLES = (
    "controller",
    "compute",
    "object-storage-proxy",
    "object-storage",
    "block-storage",
    "network",
    "database",
    "messaging",
    "dashboard",
    "ceph",
)


@dataclass(frozen=True)
class Setting:
    """A resolved value and where it came from (``--inventory``, ``$OS_CLOUD``, ini, default)."""

    value: Any
    source: str


@dataclass(frozen=True)
class Settings:
    inventory: Setting
    os_cloud: Setting
    phase: Setting
    roles: Setting
    hosts: Setting
    timeout: Setting
    waivers: Setting = Setting(None, "default")
    prometheus: Setting = Setting(None, "default")
    baseline: Setting = Setting(None, "default")
    list_checks: bool = False
    list_hosts: bool = False

    def header(self) -> list[str]:
        def show(s: Setting) -> str:
            v = s.value
            if isinstance(v, tuple):
                v = ",".join(v) if v else "(all)"
            elif v is None:
                v = "(none)"
            elif isinstance(v, float):
                v = f"{v:g}"
            return f"{v} (from {s.source})"

        return [
            "afterboot: "
            + ", ".join(
                f"{name}={show(getattr(self, attr))}"
                for name, attr in (
                    ("inventory", "inventory"),
                    ("os-cloud", "os_cloud"),
                    ("phase", "phase"),
                    ("role", "roles"),
                    ("host", "hosts"),
                    ("timeout", "timeout"),
                    ("waivers", "waivers"),
                    ("prometheus", "prometheus"),
                    ("baseline", "baseline"),
                )
            )
        ]


settings_key = pytest.StashKey[Settings]()


@dataclass(frozen=True)
class _Option:
    dest: str
    flag: str
    env: str
    ini: str
    help: str
    default: str | None = None


_OPTIONS = (
    _Option(
        "inventory",
        "--inventory",
        "AFTERBOOT_INVENTORY",
        "afterboot_inventory",
        "inventory file: afterboot YAML, or an Ansible inventory (INI or YAML)",
    ),
    _Option(
        "os_cloud",
        "--os-cloud",
        "OS_CLOUD",
        "afterboot_os_cloud",
        "cloud name in clouds.yaml (else OS_* variables are used)",
    ),
    _Option(
        "phase",
        "--phase",
        "AFTERBOOT_PHASE",
        "afterboot_phase",
        f"why the suite runs, selects the checks: {', '.join(PHASES)}",
        "post-reboot",
    ),
    _Option(
        "roles",
        "--role",
        "AFTERBOOT_ROLE",
        "afterboot_role",
        "check only hosts with these roles (comma-separated, repeatable)",
    ),
    _Option(
        "hosts",
        "--host",
        "AFTERBOOT_HOST",
        "afterboot_host",
        "check only these hosts (comma-separated, repeatable)",
    ),
    _Option(
        "timeout",
        "--timeout",
        "AFTERBOOT_TIMEOUT",
        "afterboot_timeout",
        "seconds any remote call may take (connect, command, API, database)",
        "10",
    ),
    _Option(
        "waivers",
        "--waivers",
        "AFTERBOOT_WAIVERS",
        "afterboot_waivers",
        "YAML file of accepted failures: check ID (+ host, offender) -> justification, "
        "owner, expires",
    ),
    _Option(
        "prometheus",
        "--prometheus",
        "AFTERBOOT_PROMETHEUS",
        "afterboot_prometheus",
        "write a node_exporter textfile (*.prom) of every check's outcome to this file",
    ),
    _Option(
        "baseline",
        "--baseline",
        "AFTERBOOT_BASELINE",
        "afterboot_baseline",
        "directory of the reviewed configuration baseline the config-gate phase compares "
        "with (written by --write-baseline)",
    ),
)


_FILES = ("waivers", "prometheus")
_DIRS = ("baseline",)


def _resolve(config: pytest.Config, opt: _Option) -> Setting:
    cli = config.getoption(f"afterboot_{opt.dest}")
    if cli:
        return Setting(cli, opt.flag)
    env = os.environ.get(opt.env)
    if env:
        return Setting(env, f"${opt.env}")
    ini = config.getini(opt.ini)
    if ini:
        return Setting(ini, f"ini {opt.ini}")
    return Setting(opt.default, "default")


def _split(value: Any) -> tuple[str, ...]:
    parts: list[str] = []
    for item in value if isinstance(value, list) else [value]:
        parts.extend(p.strip() for p in str(item).split(",") if p.strip())
    return tuple(dict.fromkeys(parts))


def _usage(setting: Setting, name: str, problem: str) -> pytest.UsageError:
    return pytest.UsageError(f"{name} (from {setting.source}): {problem}")


def _path(s: Setting, config: pytest.Config) -> Path:
    path = Path(os.path.expanduser(str(s.value)))
    if not path.is_absolute():
        from_ini = s.source.startswith("ini ") and config.inipath is not None
        base = config.inipath.parent if from_ini and config.inipath else Path.cwd()
        path = base / path
    return path


def _check_inventory(s: Setting, config: pytest.Config) -> Setting:
    if s.value is None:
        return s
    path = _path(s, config)
    if not path.exists():  # a file, a directory (group_vars/...) or a dynamic inventory
        raise _usage(s, "inventory", f"{path}: no such file or directory")
    return Setting(str(path), s.source)


def _check_phase(s: Setting, _: pytest.Config) -> Setting:
    if s.value not in PHASES:
        raise _usage(s, "phase", f"unknown phase {s.value!r}; choose from {', '.join(PHASES)}")
    return s


def _check_roles(s: Setting, _: pytest.Config) -> Setting:
    roles = _split(s.value) if s.value else ()
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise _usage(s, "role", f"unknown role {unknown[0]!r}; choose from {', '.join(ROLES)}")
    return Setting(roles, s.source)


def _check_hosts(s: Setting, _: pytest.Config) -> Setting:
    return Setting(_split(s.value) if s.value else (), s.source)


MIN_TIMEOUT = 0.5  # below this every host would be "unreachable"


def _check_timeout(s: Setting, _: pytest.Config) -> Setting:
    try:
        value = float(s.value)
    except (TypeError, ValueError):
        raise _usage(s, "timeout", f"{s.value!r} is not a number of seconds") from None
    if not MIN_TIMEOUT <= value <= 3600:
        raise _usage(
            s, "timeout", f"{s.value} is out of range ({MIN_TIMEOUT:g} <= seconds <= 3600)"
        )
    return Setting(value, s.source)


def _check_waivers(s: Setting, config: pytest.Config) -> Setting:
    if s.value is None:
        return s
    path = _path(s, config)
    if not path.exists():  # anything else that is no regular file: the loader says what
        raise _usage(s, "waivers", f"{path}: no such file")
    return Setting(str(path), s.source)


def _check_prometheus(s: Setting, config: pytest.Config) -> Setting:
    if s.value is None:
        return s
    path = _path(s, config)
    if not path.parent.is_dir():
        raise _usage(s, "prometheus", f"{path.parent}: no such directory")
    return Setting(str(path), s.source)


def _check_baseline(s: Setting, config: pytest.Config) -> Setting:
    if s.value is None:
        return s
    # made by --write-baseline; the config-gate phase needs it to exist (afterboot.checks.phases)
    return Setting(str(_path(s, config)), s.source)


_CHECKERS: dict[str, Callable[[Setting, pytest.Config], Setting]] = {
    "inventory": _check_inventory,
    "phase": _check_phase,
    "roles": _check_roles,
    "hosts": _check_hosts,
    "timeout": _check_timeout,
    "waivers": _check_waivers,
    "prometheus": _check_prometheus,
    "baseline": _check_baseline,
}


def resolve_settings(config: pytest.Config) -> Settings:
    values: dict[str, Setting] = {}
    for opt in _OPTIONS:
        setting = _resolve(config, opt)
        checker = _CHECKERS.get(opt.dest)
        values[opt.dest] = checker(setting, config) if checker else setting
    return Settings(
        list_checks=bool(config.getoption("afterboot_list_checks")),
        list_hosts=bool(config.getoption("afterboot_list_hosts")),
        **values,
    )


def settings(config: pytest.Config) -> Settings:
    """The resolved settings of this run (for other plugins and fixtures)."""
    return config.stash[settings_key]


reports_dir_key = pytest.StashKey[Path]()


def _reports_dir(config: pytest.Config) -> Path:
    value = (
        config.getoption("afterboot_reports_dir")
        or os.environ.get("AFTERBOOT_REPORTS_DIR")
        or config.getini("afterboot_reports_dir")
        or "reports"
    )
    path = Path(os.path.expanduser(str(value)))
    return path if path.is_absolute() else config.rootpath / path


def reports_dir(config: pytest.Config) -> Path:
    """Where summary.json, remediation.sh (and the other report files) go."""
    return config.stash.get(reports_dir_key, None) or _reports_dir(config)
