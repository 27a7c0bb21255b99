"""The projects' own upgrade-check oracles: ``<project>-status upgrade check`` and
``keystone-manage doctor``, read on the controllers and parsed.

Each project knows what its upgrade left undone better than any outside probe: cells v2
mappings, compute services too old for the new release, online data migrations not run,
removed options or drivers still configured, a policy file in the retired JSON format.
oslo.upgradecheck (every project's ``-status`` tool) prints one result per check,
*Success*, *Warning* or *Failure* with details, and exits with the worst one: 0, 1 or 2;
255 when the tool itself crashed. ``keystone-manage doctor`` prints one ``WARNING:``
paragraph per symptom it finds and exits 1 when it found any.

The reads (:mod:`afterboot.reads.hostreads`, ``upgrade_check_<project>`` and ``keystone_doctor``)
run the tool where the service runs (in its kolla container on a container host) and
end with the tool's exit status on a line of their own, so that 1 and 2 are answers here,
never a failed read, and 255, a crash, an unknown status or output not understood are
could-not-run, never an empty healthy answer. A tool that is not installed on a host is
said so (``absent``): a project whose tool no controller has is could-not-run, naming it.

Both output forms are parsed: oslo.upgradecheck's JSON (``--json``, one line: ``{"name":
"Upgrade Check Results", "checks": [{"check": ..., "result": 0|1|2, "details": ...}]}``)
and its table (``| Check: X | Result: Success | Details: ... |`` rows, details wrapped at
60 characters). nova-status rejects ``--json`` (its own command parser) and
placement-status ignores it: both are read as tables.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from afterboot.errors import CouldNotRun, shown
from afterboot.inventory.model import HostSpec
from afterboot.reads.hostreads import PART, HostRead, register
from afterboot.snapshot import ReadResult
from afterboot.transport.connections import Remote

SUCCESS, WARNING, FAILURE = 0, 1, 2
CODES = {SUCCESS: "Success", WARNING: "Warning", FAILURE: "Failure"}
_BY_NAME = {name: code for code, name in CODES.items()}
ERROR = 255  # oslo.upgradecheck: the tool crashed ("Error:" and a traceback on stdout)
# The read's own lines, after the tool's output
EXIT_MARK = f"{PART} exit "
ABSENT_MARK = f"{PART} absent"
NOTE_MARK = f"{PART} note "
# glance 32.0.0 and later: glance-status crashes in its sheepdog check ("no such option
# enabled_backends"): the option moved to glance.common.config (change Ia874d350), which
# glance/cmd/status.py does not import. Its checks are then run with that module imported,
# by the interpreter of glance-status itself, and the answer says so.
GLANCE_CRASH = "NoSuchOptError: no such option enabled_backends"
GLANCE_RERUN = (
    'import sys; sys.argv[0] = "glance-status"; import glance.common.config; '
    "from glance.cmd.status import main; sys.exit(main())"
)
GLANCE_NOTE = (
    "glance-status crashed on glance's own bug (NoSuchOptError: enabled_backends is "
    "registered by glance.common.config, which glance/cmd/status.py does not import); "
    "its checks were run with that module imported"
)


@dataclass(frozen=True)
class Project:
    """One project's upgrade-check tool, where it runs and how it is asked."""

    name: str  # nova
    tool: str  # nova-status
    container: str  # kolla's container that has the tool (nova_api)
    json: bool = False  # takes --json (oslo.upgradecheck's own command line)
    # the service's configuration files, passed as --config-file where they exist (the
    # tool's default is <project>.conf only: glance's is glance-api.conf, neutron's server
    # reads its ML2 plugin's too)
    configs: tuple[str, ...] = ()

    @property
    def read(self) -> str:
        return f"upgrade_check_{self.name}"

    @property
    def command(self) -> str:
        """The tool as an operator types it (the procedures' command)."""
        files = "".join(f" --config-file {f}" for f in self.configs)
        return f"{self.tool}{files} upgrade check"


PROJECTS: tuple[Project, ...] = (
    Project("keystone", "keystone-status", "keystone", json=True),
    Project(
        "glance",
        "glance-status",
        "glance_api",
        json=True,
        configs=("/etc/glance/glance-api.conf",),
    ),
    Project("placement", "placement-status", "placement_api"),
    Project(
        "neutron",
        "neutron-status",
        "neutron_server",
        json=True,
        configs=("/etc/neutron/neutron.conf", "/etc/neutron/plugins/ml2/ml2_conf.ini"),
    ),
    Project("cinder", "cinder-status", "cinder_api", json=True),
    Project("nova", "nova-status", "nova_api"),
)
BY_NAME: dict[str, Project] = {p.name: p for p in PROJECTS}
DOCTOR = Project("keystone", "keystone-manage", "keystone")
DOCTOR_READ = "keystone_doctor"
READS: tuple[str, ...] = (*(p.read for p in PROJECTS), DOCTOR_READ)


# -- the reads ---------------------------------------------------------------------------


def _config_args(spec: HostSpec, paths: Iterable[str]) -> str:
    """``set --`` to ``--config-file F`` for each file that exists where the tool runs (in
    its container, canonical paths; on the host, through the host's ``paths:``)."""
    inside = spec.service_manager == "container"
    files = " ".join(shlex.quote(p if inside else spec.path(p)) for p in paths)
    if not files:
        return "set --; "
    return f'set --; for f in {files}; do [ -f "$f" ] && set -- "$@" --config-file "$f"; done; '


def answer_or_fail(ok: str) -> str:
    """The tool's output and status line when its status is an answer (``ok``: a ``case``
    pattern); otherwise its output goes to stderr (where a failed read's error is read:
    oslo.upgradecheck prints its traceback on stdout) and the read fails with its status."""
    return (
        f'case $r in {ok}) printf \'%s\\n\' "$o"; echo "{EXIT_MARK}$r" ;; '
        '*) printf \'%s\\n\' "$o" >&2; exit "$r" ;; esac'
    )


def tool_present(tool: str) -> str:
    return f'command -v {tool} >/dev/null 2>&1 || {{ echo "{ABSENT_MARK}"; exit 0; }}; '


def script(name: str, spec: HostSpec) -> str:
    """The read of project ``name``'s upgrade check on this host (read-only: every check
    reads configuration and the database)."""
    project = BY_NAME[name]
    json_flag = " --json" if project.json else ""
    run = f'o=$({project.tool} "$@" upgrade check{json_flag}); r=$?; '
    rerun = ""
    if project.name == "glance":
        rerun = (
            f'if [ "$r" = {ERROR} ]; then case $o in *"{GLANCE_CRASH}"*) '
            f"p=$(sed -n '1s/^#! *//p' \"$(command -v {project.tool})\"); "
            f'echo "{NOTE_MARK}{GLANCE_NOTE}"; '
            f'o=$($p -c {shlex.quote(GLANCE_RERUN)} "$@" upgrade check{json_flag}); r=$? ;; '
            "esac; fi; "
        )
    return (
        tool_present(project.tool)
        + _config_args(spec, project.configs)
        + run
        + rerun
        + answer_or_fail("0|1|2")
    )


def doctor_script(spec: HostSpec) -> str:
    """The read of ``keystone-manage doctor`` (exit 1: symptoms found, or a crash)."""
    return tool_present(DOCTOR.tool) + f"o=$({DOCTOR.tool} doctor); r=$?; " + answer_or_fail("0|1")


# -- the answers -------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckResult:
    """One check of a project's upgrade checks."""

    check: str  # "Cells v2", "Worker counts configured"
    code: int  # SUCCESS, WARNING or FAILURE
    details: str = ""  # what the project says ("" for none)

    @property
    def result(self) -> str:
        return CODES[self.code]


@dataclass(frozen=True)
class UpgradeCheck:
    """A project's upgrade checks as one host answered them."""

    project: str
    tool: str
    installed: bool = True
    status: int = 0  # the tool's exit status: its worst result
    checks: tuple[CheckResult, ...] = ()
    note: str = ""  # how it was run, where not as written (glance's rerun)

    def with_code(self, code: int) -> tuple[CheckResult, ...]:
        return tuple(c for c in self.checks if c.code == code)

    @property
    def failures(self) -> tuple[CheckResult, ...]:
        return self.with_code(FAILURE)

    @property
    def warnings(self) -> tuple[CheckResult, ...]:
        return self.with_code(WARNING)


@dataclass(frozen=True)
class Symptom:
    """One symptom ``keystone-manage doctor`` found."""

    title: str  # its first sentence: "Debug mode should be set to False."
    detail: str = ""  # the rest of its paragraph, on one line


@dataclass(frozen=True)
class Doctor:
    installed: bool = True
    symptoms: tuple[Symptom, ...] = ()


@dataclass(frozen=True)
class Framed:
    """A read's stdout split into the tool's lines and the read's own marks."""

    lines: tuple[str, ...]
    absent: bool
    status: int | None
    note: str


def framed_output(stdout: str) -> Framed:
    lines, status, absent, note = [], None, False, ""
    for line in stdout.split("\n"):
        if line.startswith(EXIT_MARK):
            value = line[len(EXIT_MARK) :].strip()
            status = int(value) if value.isdigit() else -1
        elif line.rstrip() == ABSENT_MARK:
            absent = True
        elif line.startswith(NOTE_MARK):
            note = line[len(NOTE_MARK) :].strip()
        else:
            lines.append(line)
    return Framed(tuple(lines), absent, status, note)


def said_last(result: ReadResult, lines: Iterable[str] = ()) -> str:
    """What the tool said last (its error output's last line, else its output's), for a
    could-not-run reason."""
    for text in (result.stderr, "\n".join(lines)):
        last = [line.strip() for line in text.splitlines() if line.strip()]
        if last:
            return last[-1][:200]
    return ""


def _from_json(lines: Iterable[str]) -> list[CheckResult] | None:
    """The checks of oslo.upgradecheck's JSON line, or None where there is none."""
    for line in lines:
        text = line.strip()
        if not text.startswith("{"):
            continue
        try:
            data: Any = json.loads(text)
        except json.JSONDecodeError:
            continue
        if not isinstance(data, Mapping) or not isinstance(data.get("checks"), list):
            continue
        out = []
        for item in data["checks"]:
            if not isinstance(item, Mapping):
                raise ValueError(f"a check that is not an object: {str(item)[:60]}")
            name, code, details = item.get("check"), item.get("result"), item.get("details")
            if not isinstance(name, str) or not name.strip():
                raise ValueError(f"a check without a name: {str(item)[:80]}")
            if isinstance(code, bool) or code not in CODES:
                raise ValueError(f"check {shown(name)}: result {shown(code)} unknown")
            said = "" if details is None else str(details).strip()
            out.append(CheckResult(name.strip(), int(code), said))
        return out
    return None


def _table_rows(lines: Iterable[str]) -> list[list[str]]:
    """The cells of a one-column PrettyTable (``+---+`` rules, ``| text |`` lines), each
    row a list of its lines without the frame; lines outside the table are left out."""
    rows: list[list[str]] = []
    row: list[str] | None = None
    for raw in lines:
        line = raw.rstrip()
        if len(line) > 1 and line[0] == "+" and line[-1] == "+" and set(line) <= {"+", "-", "="}:
            if row:
                rows.append(row)
            row = []
        elif row is not None and len(line) > 1 and line[0] == "|" and line[-1] == "|":
            cell = line[1:-1]
            row.append((cell[1:] if cell.startswith(" ") else cell).rstrip())
    return rows


def _from_table(lines: Iterable[str]) -> list[CheckResult] | None:
    """The checks of oslo.upgradecheck's table, or None where there is no table."""
    rows = _table_rows(lines)
    if not rows:
        return None
    out = []
    for row in rows[1:]:  # the first row is the title ("Upgrade Check Results")
        if len(row) < 3 or not row[0].startswith("Check: ") or not row[1].startswith("Result: "):
            raise ValueError(f"a row not understood: {' / '.join(row)[:100]}")
        name = row[0][len("Check: ") :].strip()
        result = row[1][len("Result: ") :].strip()
        if result not in _BY_NAME:
            raise ValueError(f"check {shown(name)}: result {shown(result)} unknown")
        if not row[2].startswith("Details:"):
            raise ValueError(f"check {shown(name)}: no details line")
        first = row[2][len("Details:") :].strip()
        rest = [line.strip() for line in row[3:] if line.strip()]
        details = " ".join([first, *rest]).strip()
        if details == "None" and not rest:
            details = ""
        out.append(CheckResult(name, _BY_NAME[result], details))
    return out


def parse(result: ReadResult, project: Project, host: str) -> UpgradeCheck:
    """A project's upgrade check as ``host`` answered it (the read succeeded: see
    :meth:`ReadResult.require`); could-not-run where the answer is not understood."""
    where = f"host {host}: {project.tool} upgrade check"
    framed = framed_output(result.stdout)
    if framed.absent:
        return UpgradeCheck(project.name, project.tool, installed=False)
    if framed.status is None or framed.status not in CODES:
        raise CouldNotRun(f"{where}: no exit status in the read", said_last(result, framed.lines))
    try:
        checks = _from_json(framed.lines)
        if checks is None:
            checks = _from_table(framed.lines)
    except ValueError as exc:
        raise CouldNotRun(f"{where}: output not understood", str(exc)) from None
    if not checks:
        # an exit status without results: argparse refusing an option (its exit 2), a
        # crash before the table (exit 1), or a table with no check in it
        raise CouldNotRun(
            f"{where} printed no check results (exit {framed.status})",
            said_last(result, framed.lines),
        )
    worst = max(c.code for c in checks)
    if worst != framed.status:
        raise CouldNotRun(
            f"{where}: exit {framed.status}, but its worst result is {CODES[worst]}",
            said_last(result, framed.lines),
        )
    return UpgradeCheck(project.name, project.tool, True, framed.status, tuple(checks), framed.note)


def _symptoms(lines: Iterable[str]) -> list[Symptom]:
    """Each ``WARNING: <first line>`` paragraph of keystone-manage doctor: its title and
    the indented lines below it. Other lines (its log on stdout, ``Checking for ...``
    with --debug) end a paragraph and are left out."""
    found: list[tuple[str, list[str]]] = []
    body: list[str] | None = None
    for line in lines:
        if line.startswith("WARNING: "):
            body = []
            found.append((line[len("WARNING: ") :].strip(), body))
        elif body is not None and (not line.strip() or line[:1].isspace()):
            if line.strip():
                body.append(line.strip())
        else:
            body = None
    return [Symptom(title, " ".join(rest)) for title, rest in found if title]


def parse_doctor(result: ReadResult, host: str) -> Doctor:
    """``keystone-manage doctor`` as ``host`` answered it: its symptoms (exit 1), none
    (exit 0); a crash (a traceback; exit 1 without any symptom) is could-not-run."""
    where = f"host {host}: keystone-manage doctor"
    framed = framed_output(result.stdout)
    if framed.absent:
        return Doctor(installed=False)
    if framed.status not in (0, 1):
        raise CouldNotRun(f"{where}: no exit status in the read", said_last(result, framed.lines))
    symptoms = _symptoms(framed.lines)
    if "Traceback (most recent call last)" in result.stderr:
        raise CouldNotRun(f"{where} crashed (exit {framed.status})", said_last(result))
    if framed.status == 1 and not symptoms:
        raise CouldNotRun(f"{where} exited 1 without naming a symptom", said_last(result))
    if framed.status == 0 and symptoms:
        raise CouldNotRun(f"{where} named symptoms but exited 0", symptoms[0].title)
    return Doctor(True, tuple(symptoms))


def upgrade_check(remote: Remote, project: Project) -> UpgradeCheck:
    """The project's upgrade check as this controller read it (the collection pass)."""
    return parse(remote.read(project.read), project, remote.name)


def doctor(remote: Remote) -> Doctor:
    """``keystone-manage doctor`` as this controller read it (the collection pass)."""
    return parse_doctor(remote.read(DOCTOR_READ), remote.name)


# -- the reads this module judges (afterboot.reads.hostreads' registry) --------------

# the seven tools at once cost ~13 s of CPU (imports): ~4 s on a controller's cores, 12 to
# 19 s on the lab's two (the whole cloud beside them); bounded all the same
UPGRADE_CHECK_BUDGET_S = 45.0


def _upgrade_check(project: str) -> Callable[[HostSpec], str]:
    """The read of a project's ``<project>-status upgrade check`` (see :func:`script`)."""

    def read(spec: HostSpec) -> str:
        return script(project, spec)

    return read


def _keystone_doctor(spec: HostSpec) -> str:
    return doctor_script(spec)


register(
    # The projects' own upgrade checks and keystone's doctor (afterboot/domains/upgradecheck.py): a
    # Python tool each, 1 to 3 s, in the container of the service where it runs.
    HostRead(
        "upgrade_check_keystone",
        "keystone-status upgrade check (keystone's own upgrade checks, JSON)",
        _upgrade_check("keystone"),
        slow=True,
        budget=UPGRADE_CHECK_BUDGET_S,
        container="keystone",
    ),
    HostRead(
        "upgrade_check_glance",
        "glance-status upgrade check (glance's own upgrade checks, JSON)",
        _upgrade_check("glance"),
        slow=True,
        budget=UPGRADE_CHECK_BUDGET_S,
        container="glance_api",
    ),
    HostRead(
        "upgrade_check_placement",
        "placement-status upgrade check (placement's own upgrade checks, a table)",
        _upgrade_check("placement"),
        slow=True,
        budget=UPGRADE_CHECK_BUDGET_S,
        container="placement_api",
    ),
    HostRead(
        "upgrade_check_neutron",
        "neutron-status upgrade check (neutron's own upgrade checks, JSON)",
        _upgrade_check("neutron"),
        slow=True,
        budget=UPGRADE_CHECK_BUDGET_S,
        container="neutron_server",
    ),
    HostRead(
        "upgrade_check_cinder",
        "cinder-status upgrade check (cinder's own upgrade checks, JSON)",
        _upgrade_check("cinder"),
        slow=True,
        budget=UPGRADE_CHECK_BUDGET_S,
        container="cinder_api",
    ),
    HostRead(
        "upgrade_check_nova",
        "nova-status upgrade check (nova's own upgrade checks, a table)",
        _upgrade_check("nova"),
        slow=True,
        budget=UPGRADE_CHECK_BUDGET_S,
        container="nova_api",
    ),
    HostRead(
        "keystone_doctor",
        "keystone-manage doctor (the symptoms keystone finds in its own deployment)",
        _keystone_doctor,
        slow=True,
        budget=UPGRADE_CHECK_BUDGET_S,
        container="keystone",
    ),
)
