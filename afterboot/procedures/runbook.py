"""Remediation procedures as data: loaded from YAML, rendered with a failed check's findings.

Plain module (no hooks). Our procedures live in ``afterboot/procedures/data/*.yaml``, one mapping
``CHECK-ID -> procedure`` per check module; a site adds or overrides them with its own
directories (ini ``afterboot_procedures``), merged over ours key by key, so a site file
holding only ``SVC-003: {runbook: https://wiki/..., contact: "#oncall-compute"}`` keeps our
steps and adds its links. A step ``{include: NAME}`` stands for the steps of the block NAME
of ``_blocks.yaml`` (ours, then each site directory's). A procedure's tier is its check's
(the ``check`` marker), not written here.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from afterboot.checks.findings import Finding
from afterboot.errors import one_line, shown
from afterboot.inputfile import read_text
from afterboot.inventory.model import HostSpec
from afterboot.procedures.hostcommands import adapt, spec_for
from afterboot.yamlines import bounded_load

OURS = Path(__file__).resolve().parent / "data"
BLOCKS = "_blocks.yaml"  # named step blocks a procedure includes: {include: NAME}
# libyaml's safe loader where PyYAML has it (the procedures are read on every run)
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
SEVERITIES = ("blocker", "critical", "normal", "minor")
DEFAULT_SEVERITY = "critical"
SCOPES = ("host", "cloud")
RUN_ON = ("operator", "host")
_FIELDS = {
    "title", "severity", "why", "guide", "steps", "depends_on", "logs",
    "from_message", "runbook", "contact",
}  # fmt: skip
# {name}, {name|default}; {name*} (or {name*|default}) is a list: separate shell words.
_PLACEHOLDER = re.compile(r"\{(\w+)(\*)?(?:\|([^{}]*))?\}")
_LIST_SEP = re.compile(r"[\s,]+")
_LONG_OPTION = re.compile(r"--[a-z][a-z-]*")  # a word of a list may be a plain long option
_STEP_KEYS = {
    "text", "run", "host", "at", "host_from", "historical", "when", "guard", "verified_by",
    "cause",
}  # fmt: skip


class ProcedureError(ValueError):
    """A procedure file that cannot be accepted; the message is one line."""

    def __init__(self, message: str) -> None:
        super().__init__(one_line(message))


@dataclass(frozen=True)
class Step:
    text: str
    run: str = ""
    at: str = "operator"  # where ``run`` is typed: the operator's shell or the host (ssh)
    historical: str = ""  # the Ops Guide's command where today's differs
    when: tuple[tuple[str, str], ...] = ()  # only for findings with these values ("!x": not x)
    guard: str = ""  # what must be true before ``run`` is safe (destructive/disruptive steps)
    verified_by: tuple[str, ...] = ()  # the checks that establish the guard, where there are
    cause: tuple[str, ...] = ()  # only when the evidence names one of these causes (signature IDs)
    host_from: str = "host"  # at: host -- the finding field naming the host to ssh to

    def applies(self, values: Mapping[str, str]) -> bool:
        return all(
            values.get(k, "") != v[1:] if v.startswith("!") else values.get(k, "") == v
            for k, v in self.when
        )


@dataclass(frozen=True)
class Dependency:
    check: str
    scope: str = "cloud"  # host: only the same host is blocked; cloud: every dependent


@dataclass(frozen=True)
class Procedure:
    id: str
    title: str
    severity: str
    why: str
    guide: str
    steps: tuple[Step, ...]
    depends_on: tuple[Dependency, ...] = ()
    logs: tuple[str, ...] = ()
    from_message: tuple[str, ...] = ()
    runbook: str = ""
    contact: str = ""
    source: str = ""


@dataclass(frozen=True)
class RenderedStep:
    text: tuple[str, ...]
    commands: tuple[str, ...]
    historical: tuple[str, ...]
    guard: tuple[str, ...] = ()
    verified_by: tuple[str, ...] = ()
    cause: str = ""

    def guard_line(self) -> str:
        """The precondition as one line (``""`` for a step without one)."""
        if not self.guard:
            return ""
        checked = f" (verified by {', '.join(self.verified_by)})" if self.verified_by else ""
        if len(self.guard) == 1:
            return " ".join(self.guard[0].split()) + checked
        # each finding's guard a sentence of its own (two run together read as one)
        sentences = [" ".join(g.split()).rstrip(".;, ") for g in self.guard if g.strip()]
        joined = ". ".join(s[:1].upper() + s[1:] for s in sentences) + "."
        return joined + checked


def words(value: str) -> list[str]:
    """A list value (``"storage1, storage2"``) as its items."""
    return [w for w in _LIST_SEP.split(value) if w]


def word(name: str, value: str) -> str:
    """``value`` as one shell word; one that starts with ``-`` would be read as an option,
    so it is left for a human to fill (``<name: starts with a dash>``)."""
    return f"<{name}: starts with a dash>" if value.startswith("-") else shlex.quote(value)


def fill(template: str, values: Mapping[str, str], quote: bool = False) -> str:
    """``{host}`` and friends filled; ``{name|default}`` falls back to its default; an
    unknown placeholder without one stays visible as ``<name>``.

    With ``quote`` (a ``run`` command) every filled-in value is one shell word
    (:func:`shlex.quote`), and a list placeholder ``{name*}`` gives each item of the value
    (split on commas and blanks) as a word of its own (a plain ``--long-option`` is kept).
    Defaults and ``<name>`` are the template's own text and stay as written. A value that
    starts with ``-`` would be read as an option: it shows as ``<name: starts with a
    dash>``, to be filled by hand."""

    def one(m: re.Match[str]) -> str:
        name, is_list, default = m.group(1), m.group(2), m.group(3)
        value = values.get(name)
        if not value:
            return default if default is not None else f"<{name}>"
        if not quote:
            return value
        if is_list:
            return " ".join(w if _LONG_OPTION.fullmatch(w) else word(name, w) for w in words(value))
        return word(name, value)

    return _PLACEHOLDER.sub(one, template)


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(i for i in items if i))


def command_line(
    step: Step, values: Mapping[str, str], hosts: Mapping[str, HostSpec] | None = None
) -> str:
    """The step's ``run`` filled in; an ``at: host`` one adapted to the host it runs on
    (``hosts``: the inventory's, by name; see :mod:`afterboot.procedures.hostcommands`)
    and given ``ssh``."""
    if not step.run:
        return ""
    spec = spec_for(hosts, values.get("host", ""))  # the finding's host
    if spec is not None and spec.kolla_inventory:  # what kolla-ansible -i is given
        values = {"kolla_inventory": spec.kolla_inventory, **values}
    cmd = fill(step.run, values, quote=True)
    if step.at != "host":
        return cmd
    host = values.get(step.host_from)
    cmd = adapt(cmd, spec_for(hosts, host or ""))
    target = word(step.host_from, host) if host else f"<{step.host_from}>"
    return f"ssh {target} -- {shlex.quote(cmd)}"


def render(
    proc: Procedure,
    findings: Sequence[Finding],
    causes: Sequence[str] = (),
    hosts: Mapping[str, HostSpec] | None = None,
) -> tuple[RenderedStep, ...]:
    """Every step filled once per finding it applies to (``when``), identical lines kept
    once, order kept; without findings every step is shown, unfilled. ``hosts`` (the
    inventory's, by name) adapt each ``at: host`` command to its host.

    A step with a ``cause`` shows only when the evidence named that cause (``causes``,
    signature IDs), and then comes first: the fitting remedy before the generic chain."""
    values = [f.values() for f in findings]
    fitting = [s for s in proc.steps if set(s.cause) & set(causes)]
    generic = [s for s in proc.steps if not s.cause]
    out = []
    for s in (*fitting, *generic):
        mine = [v for v in values if s.applies(v)] if values else [{}]
        if mine:
            out.append(
                RenderedStep(
                    _unique(fill(s.text, v) for v in mine),
                    _unique(command_line(s, v, hosts) for v in mine),
                    _unique(fill(s.historical, v) for v in mine),
                    _unique(fill(s.guard, v) for v in mine),
                    s.verified_by,
                    next((c for c in causes if c in s.cause), ""),
                )
            )
    return tuple(out)


def message_findings(proc: Procedure, message: str, host: str, limit: int = 50) -> list[Finding]:
    """Findings read from a failure message by the procedure's ``from_message`` regexes."""
    out: list[Finding] = []
    for pattern in proc.from_message:
        for m in re.finditer(pattern, message):
            extra = {k: v for k, v in m.groupdict().items() if v}
            found_host = extra.pop("host", "") or host
            out.append(Finding(subject=extra.get("subject", ""), host=found_host, extra=extra))
            if len(out) >= limit:
                return out
    return list({repr(f.to_dict()): f for f in out}.values())


def _text(data: Mapping[str, Any], key: str, where: str, required: bool = True) -> str:
    value = data.get(key, "")
    if required and not value:
        raise ProcedureError(f"{where}: missing {key!r}")
    if not isinstance(value, str | int):
        raise ProcedureError(f"{where}: {key!r} must be text")
    return str(value).strip()


def _ids(raw: Any, key: str, where: str) -> tuple[str, ...]:
    """An ID or a list of IDs (``verified_by``, ``cause``)."""
    if not raw:
        return ()
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, Sequence) or not all(isinstance(v, str) for v in items):
        raise ProcedureError(f"{where}: {key!r} is an ID or a list of them")
    return tuple(str(v).strip() for v in items)


def _step(raw: Any, where: str) -> Step:
    if isinstance(raw, str):
        return Step(raw.strip())
    if not isinstance(raw, Mapping) or "text" not in raw:
        raise ProcedureError(
            f"{where}: a step needs 'text' (and optional run or host, at, host_from, historical, "
            "when, guard, verified_by, cause)"
        )
    unknown = set(raw) - _STEP_KEYS
    if unknown:
        raise ProcedureError(f"{where}: unknown step key {shown(sorted(map(str, unknown))[0])}")
    if "host" in raw:  # ``host: COMMAND``: ``run: COMMAND`` typed on the host (``at: host``)
        if "run" in raw or "at" in raw:
            raise ProcedureError(
                f"{where}: a step has 'host: COMMAND' or 'run' (and 'at'), not both"
            )
        raw = {**raw, "run": raw["host"], "at": "host"}
    when = raw.get("when") or {}
    if not isinstance(when, Mapping):
        raise ProcedureError(f"{where}: 'when' maps finding fields to values")
    at = str(raw.get("at", "operator"))
    if at not in RUN_ON:
        raise ProcedureError(f"{where}: 'at' must be one of {', '.join(RUN_ON)}")
    if "host_from" in raw and (at != "host" or not re.fullmatch(r"\w+", str(raw["host_from"]))):
        raise ProcedureError(f"{where}: 'host_from' names the host field of an 'at: host' step")
    verified = _ids(raw.get("verified_by"), "verified_by", where)
    if verified and not raw.get("guard"):
        raise ProcedureError(f"{where}: 'verified_by' needs the 'guard' it verifies")
    return Step(
        str(raw["text"]).strip(),
        str(raw.get("run", "")).strip(),
        at,
        str(raw.get("historical", "")).strip(),
        tuple((str(k), str(v)) for k, v in when.items()),
        " ".join(str(raw.get("guard", "")).split()),
        verified,
        _ids(raw.get("cause"), "cause", where),
        str(raw.get("host_from", "host")).strip(),
    )


def _dependency(raw: Any, where: str) -> Dependency:
    if isinstance(raw, str):
        return Dependency(raw)
    if not isinstance(raw, Mapping) or "check" not in raw:
        raise ProcedureError(f"{where}: depends_on entries are IDs or {{check, scope}}")
    scope = str(raw.get("scope", "cloud"))
    if scope not in SCOPES:
        raise ProcedureError(f"{where}: scope must be one of {', '.join(SCOPES)}")
    return Dependency(str(raw["check"]), scope)


def _expand(
    steps: Iterable[Any], blocks: Mapping[str, Any], where: str, chain: tuple[str, ...] = ()
) -> list[tuple[Any, str]]:
    """The steps, each ``{include: NAME}`` replaced by block NAME's steps (blocks may
    include blocks), with where each comes from. ``{include: NAME, with: {key: value}}``
    fills the block's ``{key}`` with ``value`` as it is included; its other placeholders
    are filled from each finding, as in any step."""
    out: list[tuple[Any, str]] = []
    here = f"{where}: block {shown(chain[-1])}" if chain else where
    for raw in steps:
        if not isinstance(raw, Mapping) or "include" not in raw:
            out.append((raw, here))
            continue
        name, given = raw["include"], raw.get("with") or {}
        if (
            not set(raw) <= {"include", "with"}
            or not isinstance(name, str)
            or not isinstance(given, Mapping)
            or not all(isinstance(v, (str, int)) for v in given.values())
        ):
            raise ProcedureError(
                f"{here}: an include step is {{include: <block name>}}, with an optional "
                "{with: {<placeholder>: <value>}}"
            )
        if name in chain:
            raise ProcedureError(f"{here}: include cycle {' -> '.join((*chain, name))}")
        if name not in blocks:
            raise ProcedureError(f"{here}: include of unknown block {shown(name)} (see {BLOCKS})")
        expanded = _expand(blocks[name], blocks, where, (*chain, name))
        if given:
            values = {str(k): str(v) for k, v in given.items()}
            unused = [k for k in values if not any(f"{{{k}}}" in repr(s) for s, _ in expanded)]
            if unused:
                hole = shown(unused[0], quoted=False)
                raise ProcedureError(f"{here}: block {shown(name)} has no {{{hole}}} to fill")
            expanded = [(_filled(s, values), w) for s, w in expanded]
        out.extend(expanded)
    return out


def _filled(raw: Any, values: Mapping[str, str]) -> Any:
    """A block's step with ``{key}`` replaced by ``values[key]`` in every text it holds."""
    if isinstance(raw, str):
        for key, value in values.items():
            raw = raw.replace(f"{{{key}}}", value)
        return raw
    if isinstance(raw, Mapping):
        return {k: _filled(v, values) for k, v in raw.items()}
    if isinstance(raw, list):
        return [_filled(v, values) for v in raw]
    return raw


def _named(check_id: str) -> str:
    """A check ID as a message names it: as it is, unless it is long or strange."""
    return check_id if len(check_id) <= 40 and check_id.isprintable() else shown(check_id)


def parse(
    check_id: str, data: Mapping[str, Any], source: str, blocks: Mapping[str, Any] | None = None
) -> Procedure:
    where = f"{source}: {_named(check_id)}"
    if "tier" in data:
        raise ProcedureError(f"{where}: 'tier' is the check's, set by its marker (tier=N)")
    unknown = set(data) - _FIELDS
    if unknown:
        raise ProcedureError(f"{where}: unknown key {shown(sorted(map(str, unknown))[0])}")
    # most procedures are critical: only the others say their severity
    severity = _text(data, "severity", where, required=False) or DEFAULT_SEVERITY
    if severity not in SEVERITIES:
        raise ProcedureError(f"{where}: severity {shown(severity)} not in {', '.join(SEVERITIES)}")
    steps = tuple(_step(s, w) for s, w in _expand(data.get("steps") or (), blocks or {}, where))
    if not steps:
        raise ProcedureError(f"{where}: needs at least one step")
    for pattern in data.get("from_message") or ():
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ProcedureError(f"{where}: bad from_message regex: {exc}") from None
    return Procedure(
        id=check_id,
        title=_text(data, "title", where),
        severity=severity,
        why=_text(data, "why", where),
        guide=_text(data, "guide", where),
        steps=steps,
        depends_on=tuple(_dependency(d, where) for d in data.get("depends_on") or ()),
        logs=tuple(str(p) for p in data.get("logs") or ()),
        from_message=tuple(str(p) for p in data.get("from_message") or ()),
        runbook=_text(data, "runbook", where, required=False),
        contact=_text(data, "contact", where, required=False),
        source=source,
    )


def _read(path: Path, what: str = "check IDs to procedures") -> dict[str, Any]:
    """A YAML mapping; a site's file is bounded against aliases that expand without end
    (ours are data of this package, read on every run: loaded as they are)."""
    ours = path.parent == OURS
    try:
        text = path.read_text() if ours else read_text(path)  # a site's: a bounded file
        data = (yaml.load(text, Loader=_LOADER) if ours else bounded_load(text, _LOADER)) or {}
    except OSError as exc:
        raise ProcedureError(f"{path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ProcedureError(f"{path}: not UTF-8 text") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ProcedureError(f"{where}: invalid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise ProcedureError(f"{path}: {exc}") from None
    if not isinstance(data, dict):
        raise ProcedureError(f"{path}: must map {what}")
    return data


def _blocks(directory: Path) -> dict[str, list[Any]]:
    """The directory's named step blocks (``_blocks.yaml``), if it has them."""
    path = directory / BLOCKS
    if not path.is_file():
        return {}
    blocks = _read(path, "block names to lists of steps")
    for name, steps in blocks.items():
        if not isinstance(steps, list) or not steps:
            raise ProcedureError(f"{path}: block {shown(name)} must be a list of steps")
    return {str(name): steps for name, steps in blocks.items()}


def load(site_dirs: Sequence[Path] = ()) -> dict[str, Procedure]:
    """Our procedures, then each site directory's merged over them (key by key)."""
    raw: dict[str, dict[str, Any]] = {}
    sources: dict[str, str] = {}
    blocks: dict[str, list[Any]] = {}
    for directory in (OURS, *site_dirs):
        if not directory.is_dir():
            raise ProcedureError(f"{directory}: procedures directory not found")
        blocks.update(_blocks(directory))
        for path in sorted(directory.glob("*.yaml")):
            if path.name.startswith("_"):
                continue  # _blocks.yaml, _evidence.yaml and other non-procedure data
            for check_id, entry in _read(path).items():
                if not isinstance(entry, dict):
                    raise ProcedureError(f"{path}: {_named(str(check_id))}: must be a mapping")
                raw.setdefault(str(check_id), {}).update(entry)
                sources[str(check_id)] = str(path)
    book = {cid: parse(cid, data, sources[cid], blocks) for cid, data in raw.items()}
    for proc in book.values():
        for step in proc.steps:
            unknown = [c for c in step.verified_by if c not in book]
            if unknown:
                raise ProcedureError(
                    f"{proc.source}: {proc.id}: verified_by names unknown check {shown(unknown[0])}"
                )
    return book


def data_file(name: str) -> dict[str, Any]:
    """A non-procedure data file of ours (``_evidence.yaml``)."""
    return _read(OURS / name)
