"""afterboot's options: one group, one precedence chain (CLI > environment > ini > default).

Every resolved value remembers where it came from, and the report header prints both, so
an audit trail shows which inventory, cloud and phase a run used.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from afterboot.errors import shown

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
    """Every option of a run, resolved once (CLI > environment > ini > default)."""

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
    reports_dir: Setting = Setting(Path("reports"), "default")
    compare: Setting = Setting(None, "default")
    snapshot_file: Setting = Setting(None, "default")
    settle: Setting = Setting(None, "default")
    procedures: Setting = Setting((), "default")
    write_baseline: Setting = Setting(None, "default")
    blocking: Setting = Setting(True, "default")
    from_snapshot: Setting = Setting((), "default")
    shard: Setting = Setting(None, "default")
    pass_deadline: Setting = Setting(600.0, "default")
    kolla_globals: Setting = Setting(None, "default")

    def inventory_paths(self) -> list[str]:
        """The inventory's sources, in order (``inventory`` holds them comma-joined, as
        Ansible's ANSIBLE_INVENTORY does)."""
        value = self.inventory.value
        return str(value).split(",") if value else []

    def audited(self) -> dict[str, Setting]:
        """The options that choose what a run judges, as the header and the run's manifest
        show them (:data:`AUDITED`)."""
        return {name: getattr(self, name) for name in AUDITED}

    def header(self) -> list[str]:
        def show(name: str, s: Setting) -> str:
            v = s.value
            if name == "shard" and v:
                v = f"{v[0]}/{v[1]}"
            elif isinstance(v, tuple):
                v = ",".join(v) if v else "(none)" if name == "from_snapshot" else "(all)"
            elif v is None:
                v = "(none)"
            elif isinstance(v, float):
                v = f"{v:g}"
            return f"{v} (from {s.source})"

        flags = {o.dest: o.flag.removeprefix("--") for o in OPTIONS}
        return [
            "afterboot: "
            + ", ".join(f"{flags[name]}={show(name, s)}" for name, s in self.audited().items())
        ]


settings_key = pytest.StashKey[Settings]()


@dataclass(frozen=True)
class Option:
    """One option: its flag, environment variable and ini key (each optional), and how its
    value is checked once resolved."""

    dest: str
    flag: str
    env: str
    ini: str
    help: str
    default: Any = None
    action: str = "store"  # append (repeatable), store_true (a switch)
    metavar: str | None = None
    ini_type: str | None = None  # pytest's ini types: "paths", "bool"
    env_help: str = ""  # how the environment variable is read, where it is not the value
    cli_dest: str = ""  # the parser's dest where it is not afterboot_<dest>
    fallback_env: str = ""  # read after the ini, before the default (another tool's variable)

    @property
    def parser_dest(self) -> str:
        return self.cli_dest or f"afterboot_{self.dest}"


def _opt(*args: Any, **kwargs: Any) -> Option:
    return Option(*args, **kwargs)


# Every option of afterboot, in the order ``pytest --help`` lists them.
OPTIONS = (
    _opt("inventory", "--inventory", "AFTERBOOT_INVENTORY", "afterboot_inventory",
         "inventory: afterboot YAML, or an Ansible inventory (INI, YAML, a directory, a "
         "dynamic inventory); repeatable, merged in order as Ansible merges its sources",
         action="append", metavar="INVENTORY",
         env_help="env AFTERBOOT_INVENTORY (comma-separated), ini afterboot_inventory, else "
         "env ANSIBLE_INVENTORY (comma-separated; a missing source skipped, as Ansible does)",
         fallback_env="ANSIBLE_INVENTORY"),
    _opt("os_cloud", "--os-cloud", "OS_CLOUD", "afterboot_os_cloud",
         "cloud name in clouds.yaml (else OS_* variables are used)", metavar="OS_CLOUD"),
    _opt("phase", "--phase", "AFTERBOOT_PHASE", "afterboot_phase",
         f"why the suite runs, selects the checks: {', '.join(PHASES)}", "post-reboot",
         metavar="PHASE"),
    _opt("roles", "--role", "AFTERBOOT_ROLE", "afterboot_role",
         "check only hosts with these roles, and their checks: an Ansible --limit pattern "
         "(compute,network; *storage*; compute:!cmp01; compute:&rack1), repeatable",
         action="append", metavar="ROLE"),
    _opt("hosts", "--host", "AFTERBOOT_HOST", "afterboot_host",
         "check only these hosts: an Ansible --limit pattern of host, group and role names "
         "(cmp*; compute:!cmp01; ~ctl0[12]), repeatable", action="append",
         metavar="HOST"),
    _opt("timeout", "--timeout", "AFTERBOOT_TIMEOUT", "afterboot_timeout",
         "seconds any remote call may take (connect, command, API, database)", "10",
         metavar="TIMEOUT"),
    _opt("waivers", "--waivers", "AFTERBOOT_WAIVERS", "afterboot_waivers",
         "YAML file of accepted failures: check ID (+ host, offender) -> justification, "
         "owner, expires", metavar="FILE"),
    _opt("prometheus", "--prometheus", "AFTERBOOT_PROMETHEUS", "afterboot_prometheus",
         "write a node_exporter textfile (*.prom) of every check's outcome to this file",
         metavar="FILE"),
    _opt("baseline", "--baseline", "AFTERBOOT_BASELINE", "afterboot_baseline",
         "directory of the reviewed configuration baseline the config-gate phase compares "
         "with (written by --write-baseline)", metavar="DIR"),
    _opt("list_checks", "--list-checks", "", "",
         "print the check catalog (ID, tier, roles, phases, title) and exit; touches no cloud",
         False, action="store_true"),
    _opt("list_hosts", "--list-hosts", "", "",
         "print every host of --inventory (address, port, user, connection, roles and "
         "where each came from) and exit; touches no host", False, action="store_true"),
    _opt("reports_dir", "--reports-dir", "AFTERBOOT_REPORTS_DIR", "afterboot_reports_dir",
         "where summary.json and remediation.sh go", "reports", metavar="DIR"),
    _opt("compare", "--compare", "AFTERBOOT_COMPARE", "afterboot_compare",
         "compare with this earlier reports/snapshot.json (taken with "
         "--phase=pre-maintenance): run the before/after checks and mark each failure new "
         "or already failing", metavar="FILE"),
    _opt("snapshot_file", "--snapshot-file", "", "",
         "with --compare: judge this saved reports/snapshot.json as 'now' instead of "
         "reading the cloud (only the before/after checks; no host, no API)", metavar="FILE"),
    _opt("settle", "--settle", "AFTERBOOT_SETTLE", "",
         "wait up to SECONDS for failing checks to come back (re-read and re-judged, "
         "backing off from 2 to 15 s) before the verdict", metavar="SECONDS"),
    _opt("procedures", "--procedures", "AFTERBOOT_PROCEDURES", "afterboot_procedures",
         "site procedure directories merged over ours, repeatable", (), action="append",
         metavar="DIR", ini_type="paths",
         env_help="env AFTERBOOT_PROCEDURES (os.pathsep-separated), ini afterboot_procedures"),
    _opt("write_baseline", "--write-baseline", "", "",
         "read every host's service configuration (in scope of --role/--host) and write "
         "the reviewed-baseline files of --phase=config-gate to DIR; judges nothing",
         metavar="DIR"),
    _opt("from_snapshot", "--from-snapshot", "AFTERBOOT_FROM_SNAPSHOT", "",
         "judge every selected check from these saved reports/snapshot.json files "
         "(comma-separated, repeatable; shards of one run are merged) instead of reading "
         "the cloud: no host, no API", (), action="append", metavar="FILE"),
    _opt("shard", "--shard", "AFTERBOOT_SHARD", "",
         "read only shard i of N of the inventory's hosts (i/N; the cloud-wide reads in "
         "shard 1), to judge all shards' snapshots together with --from-snapshot",
         metavar="I/N"),
    _opt("pass_deadline", "--pass-deadline", "AFTERBOOT_PASS_DEADLINE", "afterboot_pass_deadline",
         "seconds the collection pass may take in all: hosts not begun by then are not "
         "read (could not run); a larger fleet is read in shards (--shard)", "600",
         metavar="SECONDS"),
    _opt("blocking", "--no-blocking", "AFTERBOOT_NO_BLOCKING", "afterboot_blocking",
         "run and fail dependents of a failed check instead of skipping them as blocked",
         True, action="store_true", ini_type="bool",
         env_help="env AFTERBOOT_NO_BLOCKING=1, ini afterboot_blocking = false",
         cli_dest="afterboot_no_blocking"),
    _opt("kolla_globals", "--kolla-globals", "AFTERBOOT_KOLLA_GLOBALS", "afterboot_kolla_globals",
         "kolla-ansible's globals.yml, for a kolla-ansible or kayobe inventory: its "
         "kolla_container_engine and enable_* flags (which services, so which roles, each "
         "host has), and the image tags KOLLA-002 holds containers to", metavar="FILE"),
)  # fmt: skip
# What the header and the run's manifest (summary.json, JUnit, Allure) show: the options
# that choose what a run judges.
AUDITED = (
    "inventory", "os_cloud", "phase", "roles", "hosts", "timeout", "waivers", "prometheus",
    "baseline", "kolla_globals", "from_snapshot", "shard",
)  # fmt: skip
_TRUE = {"1", "true", "yes", "on"}


def resolve(config: pytest.Config, opt: Option) -> Setting:
    """One option's value and its source: the CLI, else the environment, else the ini file,
    else the default."""
    cli = config.getoption(opt.parser_dest, None)
    if opt.dest == "blocking":  # a switch that turns it off, an environment variable too
        if cli:
            return Setting(False, opt.flag)
        env = os.environ.get(opt.env)
        if env:
            return Setting(env.lower() not in _TRUE, f"${opt.env}")
        return Setting(bool(config.getini(opt.ini)), f"ini {opt.ini}")
    if cli:
        return Setting(cli, opt.flag)
    env = os.environ.get(opt.env) if opt.env else None
    if env:
        return Setting(env, f"${opt.env}")
    ini = config.getini(opt.ini) if opt.ini else None
    if ini:
        return Setting(ini, f"ini {opt.ini}")
    fallback = os.environ.get(opt.fallback_env) if opt.fallback_env else None
    if fallback:
        return Setting(fallback, f"${opt.fallback_env}")
    return Setting(opt.default, "default")


def _split(value: Any) -> tuple[str, ...]:
    parts: list[str] = []
    for item in value if isinstance(value, list) else [value]:
        parts.extend(p.strip() for p in str(item).split(",") if p.strip())
    return tuple(dict.fromkeys(parts))


def _usage(setting: Setting, name: str, problem: str) -> pytest.UsageError:
    return pytest.UsageError(f"{name} (from {setting.source}): {problem}")


def _path(s: Setting, config: pytest.Config, name: str) -> Path:
    path = Path(os.path.expanduser(str(s.value)))
    if not path.is_absolute():
        from_ini = s.source.startswith("ini ") and config.inipath is not None
        base = config.inipath.parent if from_ini and config.inipath else Path.cwd()
        path = base / path
    return _usable(s, name, path)


def _usable(s: Setting, name: str, path: Path) -> Path:
    """``path``, unless the system refuses the name itself (too long, a NUL byte, a loop of
    links): then one usage line, as for a file that does not exist."""
    try:
        os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        pass
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise _usage(s, name, f"{shown(str(path))}: {reason}") from None
    return path


def _sources(value: Any) -> list[str]:
    """Comma-separated sources (every --inventory given), in order; a path that exists
    with a comma in it stays whole."""
    found: list[str] = []
    for item in value if isinstance(value, list) else [value]:
        text = os.path.expanduser(str(item))
        found += [text] if "," in text and Path(text).exists() else text.split(",")
    return [f.strip() for f in found if f.strip()]


def _check_inventory(s: Setting, config: pytest.Config) -> Setting:
    """Every source a path that exists (a file, a directory with group_vars/..., a dynamic
    inventory), absolute, comma-joined; ANSIBLE_INVENTORY's missing ones are skipped, as
    Ansible skips them (openstack-ansible's rc file names an optional one)."""
    if s.value is None:
        return s
    paths: list[str] = []
    skipped: list[str] = []
    for source in _sources(s.value):
        path = _path(Setting(source, s.source), config, "inventory")
        if "," in str(path):
            raise _usage(s, "inventory", f"{path}: a comma in a path cannot be told from two")
        if not path.exists():
            if s.source == "$ANSIBLE_INVENTORY":
                skipped.append(str(path))
                continue
            raise _usage(s, "inventory", f"{path}: no such file or directory")
        paths.append(str(path))
    if not paths:
        raise _usage(
            s, "inventory", f"{', '.join(skipped) or '(empty)'}: no such file or directory"
        )
    source = f"{s.source} (missing, skipped: {', '.join(skipped)})" if skipped else s.source
    return Setting(",".join(dict.fromkeys(paths)), source)


def _check_kolla_globals(s: Setting, config: pytest.Config) -> Setting:
    if s.value is None:
        return s
    path = _path(s, config, "kolla-globals")
    if not path.is_file():
        raise _usage(s, "kolla-globals", f"{path}: no such file")
    return Setting(str(path), s.source)


def _check_phase(s: Setting, _: pytest.Config) -> Setting:
    if s.value not in PHASES:
        raise _usage(s, "phase", f"unknown phase {shown(s.value)}; choose from {', '.join(PHASES)}")
    return s


def _check_roles(s: Setting, _: pytest.Config) -> Setting:
    """Ansible --limit patterns (afterboot.inventory.limits): judged against the
    inventory, or the role names without one, once the inventory is loaded."""
    return Setting(_split(s.value) if s.value else (), s.source)


def _check_hosts(s: Setting, _: pytest.Config) -> Setting:
    return Setting(_split(s.value) if s.value else (), s.source)


MIN_TIMEOUT = 0.5  # below this every host would be "unreachable"


def _check_timeout(s: Setting, _: pytest.Config) -> Setting:
    try:
        value = float(s.value)
    except (TypeError, ValueError):
        raise _usage(s, "timeout", f"{shown(s.value)} is not a number of seconds") from None
    if not MIN_TIMEOUT <= value <= 3600:
        raise _usage(
            s, "timeout", f"{value:g} is out of range ({MIN_TIMEOUT:g} <= seconds <= 3600)"
        )
    return Setting(value, s.source)


def _check_waivers(s: Setting, config: pytest.Config) -> Setting:
    if s.value is None:
        return s
    path = _path(s, config, "waivers")
    if not path.exists():  # anything else that is no regular file: the loader says what
        raise _usage(s, "waivers", f"{path}: no such file")
    return Setting(str(path), s.source)


def _check_prometheus(s: Setting, config: pytest.Config) -> Setting:
    if s.value is None:
        return s
    path = _path(s, config, "prometheus")
    if not path.parent.is_dir():
        raise _usage(s, "prometheus", f"{path.parent}: no such directory")
    return Setting(str(path), s.source)


def _check_baseline(s: Setting, config: pytest.Config) -> Setting:
    if s.value is None:
        return s
    # made by --write-baseline; the config-gate phase needs it to exist (afterboot.checks.phases)
    return Setting(str(_path(s, config, "baseline")), s.source)


def _check_reports_dir(s: Setting, config: pytest.Config) -> Setting:
    path = Path(os.path.expanduser(str(s.value)))
    return Setting(path if path.is_absolute() else config.rootpath / path, s.source)


def _check_settle(s: Setting, config: pytest.Config) -> Setting:
    if s.value is None:
        return s
    try:
        value = float(s.value)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 86400 or value != value:
        raise _usage(
            s, "settle", f"{shown(s.value)} is not a number of seconds (0 <= seconds <= 86400)"
        )
    if config.getoption("numprocesses", None) or hasattr(config, "workerinput"):
        raise _usage(s, "settle", "--settle runs in one process; drop -n (pytest-xdist)")
    return Setting(value, s.source)


def _check_procedures(s: Setting, config: pytest.Config) -> Setting:
    if s.source.startswith("ini "):  # pytest made them absolute, from the ini file's place
        return Setting(tuple(_usable(s, "procedures", Path(p)) for p in s.value), s.source)
    given = str(s.value).split(os.pathsep) if s.source.startswith("$") else s.value or ()
    paths = (_usable(s, "procedures", Path(p).absolute()) for p in given if p)
    return Setting(tuple(p.resolve() for p in paths), s.source)


def _check_write_baseline(s: Setting, config: pytest.Config) -> Setting:
    return Setting(_path(s, config, "write-baseline") if s.value else None, s.source)


def _check_pass_deadline(s: Setting, _: pytest.Config) -> Setting:
    try:
        value = float(s.value)
    except (TypeError, ValueError):
        value = -1.0
    if not 1 <= value <= 86400:
        raise _usage(s, "pass-deadline", f"{shown(str(s.value), 40)} is not 1 to 86400 seconds")
    return Setting(value, s.source)


def _check_from_snapshot(s: Setting, config: pytest.Config) -> Setting:
    files = _split(s.value) if s.value else ()
    if not files:
        return Setting((), s.source)
    for flag, dest in (
        ("--settle", "afterboot_settle"),
        ("--snapshot-file", "afterboot_snapshot_file"),
        ("--write-baseline", "afterboot_write_baseline"),
        ("--shard", "afterboot_shard"),
        ("--inventory", "afterboot_inventory"),
    ):
        if config.getoption(dest, None):
            why = "the snapshots hold their inventory" if flag == "--inventory" else "it reads"
            raise _usage(s, "from-snapshot", f"judges saved snapshots: not with {flag} ({why})")
    return Setting(
        tuple(str(_path(Setting(f, s.source), config, "from-snapshot")) for f in files), s.source
    )


_SHARD = re.compile(r"([1-9][0-9]{0,3})/([1-9][0-9]{0,3})")


def parse_shard(value: str) -> tuple[int, int]:
    """``i/N`` as (i, N), 1 <= i <= N <= 9999; ValueError saying what it should be."""
    m = _SHARD.fullmatch(value.strip())
    if not m or not 1 <= int(m.group(1)) <= int(m.group(2)):
        raise ValueError(f"{shown(value, 40)} is not i/N with 1 <= i <= N (e.g. 2/4)")
    return int(m.group(1)), int(m.group(2))


def _check_shard(s: Setting, _: pytest.Config) -> Setting:
    if not s.value:
        return Setting(None, s.source)
    try:
        return Setting(parse_shard(str(s.value)), s.source)
    except ValueError as exc:
        raise _usage(s, "shard", str(exc)) from None


_CHECKERS: dict[str, Callable[[Setting, pytest.Config], Setting]] = {
    "inventory": _check_inventory,
    "phase": _check_phase,
    "roles": _check_roles,
    "hosts": _check_hosts,
    "timeout": _check_timeout,
    "waivers": _check_waivers,
    "prometheus": _check_prometheus,
    "baseline": _check_baseline,
    "reports_dir": _check_reports_dir,
    "settle": _check_settle,
    "procedures": _check_procedures,
    "write_baseline": _check_write_baseline,
    "from_snapshot": _check_from_snapshot,
    "shard": _check_shard,
    "pass_deadline": _check_pass_deadline,
    "kolla_globals": _check_kolla_globals,
}


def resolve_settings(config: pytest.Config) -> Settings:
    """Every option, resolved once, checked once (a bad value: one usage error line)."""
    values: dict[str, Any] = {}
    for opt in OPTIONS:
        setting = resolve(config, opt)
        checker = _CHECKERS.get(opt.dest)
        values[opt.dest] = checker(setting, config) if checker else setting
    values["list_checks"] = bool(values["list_checks"].value)
    values["list_hosts"] = bool(values["list_hosts"].value)
    return Settings(**values)


def settings(config: pytest.Config) -> Settings:
    """The settings of this run, resolved on first use (whichever plugin asks first)."""
    resolved = config.stash.get(settings_key, None)
    if resolved is None:
        resolved = config.stash[settings_key] = resolve_settings(config)
    return resolved


def reports_dir(config: pytest.Config) -> Path:
    """Where summary.json, remediation.sh (and the other report files) go."""
    return Path(settings(config).reports_dir.value)
