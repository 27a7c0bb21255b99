"""The configuration baseline: what a known-good cloud's hosts run, per role, kept in git.

Written by ``pytest --write-baseline=DIR`` from the hosts' ``configs`` read, judged by
CONF-002 (``--phase=config-gate``). Plain functions, no pytest: :func:`build` makes a
role's baseline from the hosts' parsed files, :func:`compare` lists the differences of a
live cloud, :func:`write` and :func:`load` keep it as YAML::

    DIR/baseline.yaml                      schema, the secrets' salt, each role's hosts
    DIR/<role>/etc/nova/nova.conf.yaml     hosts, options, host_specific

``options`` holds what every host of the role agrees on (section -> option -> value; a
repeated option is a list); ``host_specific`` holds options meant to differ (``my_ip``,
``host``...) or found different, with each host's value (``null``: not set there), and the
gate compares each host with its own. Secrets are salted PBKDF2 digests (the salt is kept
and reused, so writing again on an unchanged cloud changes nothing: sorted keys, no
timestamps); their values are never written, compared or shown.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from afterboot.domains.config import HOST_SPECIFIC, is_secret, parse_ini
from afterboot.errors import one_line, shown
from afterboot.inputfile import read_text
from afterboot.redact import is_secret_name, redact, remember_option
from afterboot.yamlines import FastLoader, bounded_load

SCHEMA = 1
META = "baseline.yaml"
DIGEST = "pbkdf2-sha256"
ITERATIONS = 100_000
SECRET_PREFIX = "pbkdf2:"
ROLE_CHANGED = "role changed, not in baseline: update the baseline in the same merge request"
HOST_DRIFTED = "host drifted: re-deploy its config"

Value = str | list[str]  # one value, or every value of a repeated option in file order
FileOptions = dict[str, dict[str, Value]]  # section -> option -> value
HostFiles = Mapping[str, FileOptions | None]  # path -> options (None: no such file)


class BaselineError(ValueError):
    """A baseline directory that cannot be read; the message is one line naming the file."""

    def __init__(self, message: str) -> None:
        super().__init__(one_line(message))


@dataclass(frozen=True)
class Salt:
    salt: str
    iterations: int = ITERATIONS

    @classmethod
    def new(cls) -> Salt:
        return cls(secrets.token_hex(16))


@lru_cache(maxsize=4096)
def _pbkdf2(value: str, salt: str, iterations: int) -> str:
    raw = hashlib.pbkdf2_hmac("sha256", value.encode(), bytes.fromhex(salt), iterations)
    return SECRET_PREFIX + raw.hex()[:32]


def secret_digest(value: Value, salt: Salt) -> str:
    """A secret as its salted digest (equal values, equal digests under one salt)."""
    text = value if isinstance(value, str) else json.dumps(value)
    return _pbkdf2(text, salt.salt, salt.iterations)


def is_digest(value: object) -> bool:
    return isinstance(value, str) and value.startswith(SECRET_PREFIX)


def _secret(option: str, values: list[str]) -> bool:
    return (
        is_secret(option)
        or any(is_secret_name(option, v) for v in values)
        or any(redact(v) != v for v in values)
    )


def file_options(text: str, source: str, salt: Salt) -> FileOptions:
    """A config file as the baseline keeps it: every option, secrets as salted digests.

    Raises :class:`ConfigSyntaxError` for a file oslo.config would refuse."""
    kept: FileOptions = {}
    for section, options in parse_ini(text, source).items():
        for option, found in options.items():
            value: Value = found[0] if len(found) == 1 else list(found)
            if _secret(option, found):
                for one in found:
                    remember_option(option, one)  # masked wherever it shows up later
                value = secret_digest(value, salt)
            kept.setdefault(section, {})[option] = value
    return kept


# -- a role's baseline -------------------------------------------------------------------


@dataclass
class FileBaseline:
    """One configuration file of a role: the hosts that have it, what they agree on, and
    the options each host has its own value for."""

    hosts: list[str]
    options: dict[str, dict[str, Value]] = field(default_factory=dict)
    host_specific: dict[str, dict[str, dict[str, Value | None]]] = field(default_factory=dict)

    def as_data(self) -> dict[str, Any]:
        return {
            "hosts": sorted(self.hosts),
            "options": self.options,
            "host_specific": self.host_specific,
        }


RoleBaseline = dict[str, FileBaseline]  # path -> file


def build(hosts: Mapping[str, HostFiles]) -> RoleBaseline:
    """A role's baseline from each host's files: options the hosts holding a file agree
    on, and host-specific ones (known to differ, or found different) per host."""
    paths = sorted({p for files in hosts.values() for p, opts in files.items() if opts is not None})
    role: RoleBaseline = {}
    for path in paths:
        having: dict[str, FileOptions] = {}
        for h, files in sorted(hosts.items()):
            opts = files.get(path)
            if opts is not None:  # an empty file is a file
                having[h] = opts
        fb = FileBaseline(sorted(having))
        keys = sorted({(s, o) for opts in having.values() for s, sec in opts.items() for o in sec})
        for section, option in keys:
            values = {h: opts.get(section, {}).get(option) for h, opts in having.items()}
            distinct = {json.dumps(v) for v in values.values()}
            if option in HOST_SPECIFIC or len(distinct) > 1:
                fb.host_specific.setdefault(section, {})[option] = dict(sorted(values.items()))
            else:
                value = next(iter(values.values()))
                assert value is not None
                fb.options.setdefault(section, {})[option] = value
        role[path] = fb
    return role


# -- differences -------------------------------------------------------------------------


@dataclass(frozen=True)
class Difference:
    """One host's departure from the baseline; ``verdict`` is ``role-changed`` or
    ``host-drifted``. Secret values are never held: ``baseline``/``live`` say
    ``(secret)``/``changed``."""

    host: str
    file: str
    section: str
    option: str
    what: str  # changed, added, removed, file missing, file added, host not in baseline
    baseline: str
    live: str
    verdict: str

    @property
    def advice(self) -> str:
        return ROLE_CHANGED if self.verdict == "role-changed" else HOST_DRIFTED

    @property
    def where(self) -> str:
        at = f" [{self.section}] {self.option}" if self.option else ""
        return f"{self.file}{at}"

    def sentence(self) -> str:
        """One line for a report; no ``option: value`` shape, which reads as a secret."""
        if self.what in ("file missing", "file added", "host not in baseline"):
            return f"{self.host} {self.where} {self.what} ({self.advice})"
        return (
            f"{self.host} {self.where} {self.what}: baseline {self.baseline}, "
            f"live {self.live} ({self.advice})"
        )


def show(value: Value | None, secret: bool = False, changed: bool = False) -> str:
    """A value as a report may show it: secrets never, only whether they changed."""
    if value is None:
        return "(unset)"
    if secret or is_digest(value):
        return "changed" if changed else "(secret)"
    return value if isinstance(value, str) else json.dumps(value)


_UNKNOWN = object()  # a host-specific option of a host the baseline does not know


def _want(fb: FileBaseline, host: str, section: str, option: str) -> object:
    if option in fb.options.get(section, {}):
        return fb.options[section][option]
    per_host = fb.host_specific.get(section, {}).get(option)
    if per_host is not None:
        return per_host.get(host, _UNKNOWN)
    return None


def _verdict(changed: Mapping[str, object], compared: Iterable[str], uniform: bool) -> str:
    hosts = set(compared)
    same = len({json.dumps(v, default=str) for v in changed.values()}) == 1
    whole = bool(hosts) and set(changed) == hosts and (same or not uniform)
    return "role-changed" if whole else "host-drifted"


def compare(
    base: RoleBaseline, role_hosts: Iterable[str], live: Mapping[str, HostFiles]
) -> list[Difference]:
    """Every difference between the hosts' live files and the role's baseline.

    ``role_hosts`` are the hosts the baseline was written from (a host not among them is
    compared on what the role agrees on, and named once per file as not in the baseline).
    A difference every host read shares (the same new value) is ``role-changed``: a
    deliberate change not yet in the baseline; else each differing host ``host-drifted``.
    """
    known = set(role_hosts)
    hosts = sorted(live)
    found: list[Difference] = []
    paths = sorted(set(base) | {p for h in hosts for p, o in live[h].items() if o is not None})
    for path in paths:
        fb = base.get(path)
        expected = {h: fb is not None and (h in fb.hosts or h not in known) for h in hosts}
        present = {h: live[h].get(path) is not None for h in hosts}
        odd = {h: present[h] for h in hosts if expected[h] != present[h]}
        verdict = _verdict(odd, hosts, uniform=True) if odd else ""
        for h in sorted(odd):
            what = "file added" if present[h] else "file missing"
            found.append(Difference(h, path, "", "", what, "", "", verdict))
        if fb is None:
            continue
        both = [h for h in hosts if expected[h] and present[h]]
        for h in both:
            if h not in known:
                found.append(
                    Difference(h, path, "", "", "host not in baseline", "", "", "host-drifted")
                )
        keys = {(s, o) for s, sec in fb.options.items() for o in sec}
        keys |= {(s, o) for s, sec in fb.host_specific.items() for o in sec}
        for h in both:
            keys |= {(s, o) for s, sec in (live[h].get(path) or {}).items() for o in sec}
        for section, option in sorted(keys):
            changed: dict[str, Value | None] = {}
            wants: dict[str, object] = {}
            for h in both:
                want = _want(fb, h, section, option)
                if want is _UNKNOWN:
                    continue
                have = (live[h].get(path) or {}).get(section, {}).get(option)
                if want != have:
                    changed[h], wants[h] = have, want
            if not changed:
                continue
            specific = option in fb.host_specific.get(section, {})
            compared = [h for h in both if _want(fb, h, section, option) is not _UNKNOWN]
            verdict = _verdict(changed, compared, uniform=not specific)
            for h, have in sorted(changed.items()):
                want = wants[h]
                secret = is_digest(want) or is_digest(have)
                what = "added" if want is None else "removed" if have is None else "changed"
                found.append(
                    Difference(
                        h,
                        path,
                        section,
                        option,
                        what,
                        show(want if isinstance(want, str | list) else None, secret),
                        show(have, secret, changed=True),
                        verdict,
                    )
                )
    return found


# -- on disk -------------------------------------------------------------------------------


def _dump(data: dict[str, Any]) -> str:
    """YAML with the top-level keys in the order given, everything below sorted."""
    return "".join(
        yaml.safe_dump(
            {key: value}, sort_keys=True, default_flow_style=False, allow_unicode=True, width=1000
        )
        for key, value in data.items()
    )


def file_name(root: Path, role: str, path: str) -> Path:
    return root / role / (path.lstrip("/") + ".yaml")


def write(
    root: Path, roles: Mapping[str, tuple[list[str], RoleBaseline]], salt: Salt
) -> list[Path]:
    """Write each role's baseline (its hosts and files) under ``root``; files of a written
    role that it no longer has are removed, other roles are kept. Returns what was written."""
    root.mkdir(parents=True, exist_ok=True)
    meta_path = root / META
    kept_roles: dict[str, list[str]] = {}
    if meta_path.is_file():
        with_roles = _roles(_meta(meta_path), meta_path)
        kept_roles = {r: h for r, h in with_roles.items() if r not in roles}
    written: list[Path] = []
    for role, (hosts, files) in sorted(roles.items()):
        kept_roles[role] = sorted(hosts)
        wanted = {file_name(root, role, p) for p in files}
        role_dir = root / role
        if role_dir.is_dir():
            for old in sorted(role_dir.rglob("*.yaml")):
                if old not in wanted:
                    old.unlink()
        for path, fb in sorted(files.items()):
            target = file_name(root, role, path)
            target.parent.mkdir(parents=True, exist_ok=True)
            header = (
                f"# afterboot configuration baseline: role {role}, {path}\n"
                "# written by `pytest --write-baseline`; review a change to it like code.\n"
            )
            target.write_text(header + _dump(fb.as_data()))
            written.append(target)
    meta = {
        "schema": SCHEMA,
        "secrets": {"digest": DIGEST, "iterations": salt.iterations, "salt": salt.salt},
        "roles": dict(sorted(kept_roles.items())),
    }
    meta_path.write_text(
        "# afterboot configuration baseline (`pytest --write-baseline=DIR`): the salt of the\n"
        "# secrets' digests is kept so that writing again on an unchanged cloud changes nothing.\n"
        + _dump(meta)
    )
    return [meta_path, *written]


def _meta(path: Path) -> dict[str, Any]:
    try:
        data = bounded_load(read_text(path), FastLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        said = str(exc).splitlines() or [type(exc).__name__]
        raise BaselineError(f"{path}: {said[0]}") from None
    except RecursionError:
        raise BaselineError(f"{path}: nested too deeply") from None
    if not isinstance(data, dict):
        raise BaselineError(f"{path}: not a baseline written by --write-baseline")
    return data


def _names(value: object) -> list[str] | None:
    """A list of host names as the baseline writes it (None, an empty list), else None."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
        return None
    return [str(v) for v in value]


def _roles(meta: dict[str, Any], path: Path) -> dict[str, list[str]]:
    """``roles``: each role with the hosts it was written from."""
    roles = meta.get("roles") or {}
    if not isinstance(roles, dict):
        raise BaselineError(f"{path}: roles must map a role to its hosts")
    out: dict[str, list[str]] = {}
    for role, hosts in roles.items():
        names = _names(hosts)
        if names is None:
            raise BaselineError(f"{path}: roles: {shown(role)}: hosts must be a list of names")
        out[str(role)] = names
    return out


def existing_salt(root: Path) -> Salt | None:
    """The salt of a baseline already in ``root`` (None if there is none)."""
    if not (root / META).is_file():
        return None
    return load(root).salt


@dataclass(frozen=True)
class Baseline:
    root: Path
    salt: Salt
    roles: dict[str, list[str]]  # role -> the hosts it was written from

    def role(self, role: str) -> RoleBaseline:
        """The role's files (empty when the baseline has none)."""
        base: RoleBaseline = {}
        role_dir = self.root / role
        if not role_dir.is_dir():
            return base
        for f in sorted(role_dir.rglob("*.yaml")):
            path = "/" + str(f.relative_to(role_dir))[: -len(".yaml")]
            data = _meta(f)
            hosts = _names(data.get("hosts"))
            if hosts is None:
                raise BaselineError(f"{f}: hosts must be a list of names")
            base[path] = FileBaseline(
                hosts,
                _sections(data.get("options"), f, "options"),
                _sections(data.get("host_specific"), f, "host_specific", per_host=True),
            )
        return base


def _value(v: object, where: Path) -> Value:
    if isinstance(v, list) and all(isinstance(x, str) for x in v):
        return [str(x) for x in v]
    if isinstance(v, str):
        return v
    raise BaselineError(f"{where}: value {shown(v)} is not a string (quote it)")


def _mapping(data: object, where: str) -> dict[Any, Any]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise BaselineError(f"{where} must be a mapping, not {shown(data)}")
    return data


def _sections(data: object, f: Path, key: str, per_host: bool = False) -> dict[str, Any]:
    """``options`` (section -> option -> value) or ``host_specific`` (section -> option ->
    host -> value or null), every level checked."""
    out: dict[str, Any] = {}
    for section, options in _mapping(data, f"{f}: {key}").items():
        where = f"{f}: {key}: [{shown(section, quoted=False)}]"
        for option, v in _mapping(options, where).items():
            if per_host:
                hosts = _mapping(v, f"{where} {shown(option, quoted=False)}")
                out.setdefault(str(section), {})[str(option)] = {
                    str(h): None if x is None else _value(x, f) for h, x in hosts.items()
                }
            else:
                out.setdefault(str(section), {})[str(option)] = _value(v, f)
    return out


MAX_ITERATIONS = 1_000_000  # ten times ours: each secret of every host is hashed so often


def load(root: Path) -> Baseline:
    """The baseline in ``root``; :class:`BaselineError` (one line) when it is not one."""
    meta_path = root / META
    if not meta_path.exists():  # a FIFO, a device, a directory: _meta says what it is
        raise BaselineError(
            f"{root}: no {META}; write a baseline with `pytest --write-baseline={root}`"
        )
    meta = _meta(meta_path)
    schema = meta.get("schema")
    if type(schema) is not int or schema != SCHEMA:  # not True, not 1.0
        raise BaselineError(f"{meta_path}: schema {shown(schema)}, expected {SCHEMA}")
    sec = meta.get("secrets") or {}
    if (
        not isinstance(sec, dict)
        or sec.get("digest") != DIGEST
        or not isinstance(sec.get("salt"), str)
    ):
        raise BaselineError(f"{meta_path}: secrets: needs digest {DIGEST} and a salt")
    iterations = sec.get("iterations", ITERATIONS)
    if isinstance(iterations, str) and re.fullmatch(r"[0-9]{1,7}", iterations):
        iterations = int(iterations)
    try:
        bytes.fromhex(sec["salt"])
    except ValueError:
        raise BaselineError(f"{meta_path}: secrets: salt must be hex") from None
    if type(iterations) is not int or not 1 <= iterations <= MAX_ITERATIONS:
        raise BaselineError(
            f"{meta_path}: secrets: iterations {shown(iterations)} is not a number from 1 to "
            f"{MAX_ITERATIONS}"
        )
    return Baseline(root, Salt(sec["salt"], iterations), _roles(meta, meta_path))


def live_files(
    texts: Mapping[str, str], paths: Iterable[str], salt: Salt
) -> dict[str, FileOptions | None]:
    """A host's files (``path -> text`` as its configs read holds them) as baseline
    options; a file it does not have is None. Raises :class:`ConfigSyntaxError`."""
    return {p: file_options(texts[p], p, salt) if p in texts else None for p in paths}
