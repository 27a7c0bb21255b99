"""Safety of the procedures: every destructive or disruptive step carries its guard, and
every generated command is valid, quoted shell whatever the findings hold."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from afterboot.checks.findings import Finding
from afterboot.procedures.runbook import Procedure, ProcedureError, Step, load, render
from afterboot.procedures.text import procedure_text
from afterboot.reports.reportfiles import script, summary_data
from afterboot.verdict.entries import Entry
from tests.test_remediation import CHECKS

PROCS = load()

# What destroys, moves, overwrites or disrupts, in a command (run or the guide's historical
# one). Broad on purpose: a false hit costs one guard sentence, a miss costs a cloud.
DESTRUCTIVE = [
    r"\bevacuate\b",
    r"\bmkfs",
    r"\b(?:delete|purge|destroy|undefine|wipe|zap)\b",
    r"--delete\b",
    r"\brm\s+-",
    r"\b(?:remove|rebalance|write_ring|set_weight)\b",
    r"reset-state|\bset\s+--state\b|--state\s",
    r"--force\b|\bforce_boot\b",
    r"\b(?:scp|rsync|cp|mv|install|dd|tee)\s",  # a file copied over another (rings!)
    r"\bupdate\s+\w+\s+set\b",  # SQL
    r"\b(?:restart|stop|reload)\b.*(?:\b(?:mariadb|mysql|galera|rabbitmq|memcached|ceph|apache2"
    r"|httpd|haproxy|keepalived|openvswitch|libvirt)|\{service)",  # a shared service, or any
    r"\bceph\.target\b|\bgalera_new_cluster\b|\brabbitmqctl\s+(?:stop_app|reset|forget|restart_vhost)",
    r"\bswift-init\s+(?:all|\w+-server)\s+(?:start|restart)",
    r"\breboot\b|\{action",  # an instance (or host) rebooted, hard or soft
    r"\bserver\s+(?:stop|start|migrate|resize|rebuild)\b",
    r"--live-migration\b|\blive-migration\b",
    r"\b(?:add|remove)\s+volume\b|volume-(?:detach|attach)",
    r"\bumount\b|qemu-nbd\s+-d\b|\bvirsh\s+(?:resume|destroy|undefine|reset)\b",
    r"\bmakestep\b",  # steps the clock
    r"--enable\b",  # sends work to a host again
    r"sudo\s+-u\s+\w+\s+-H\s+\S+",  # a second copy of a daemon in the foreground
    # kolla: (re)creates and restarts containers; a container stopped, removed or restarted
    r"\bkolla-ansible\b.*\b(?:deploy|deploy-containers|reconfigure|upgrade|stop|destroy)\b",
    r"(?:\b(?:docker|podman)|\{engine\})\s+(?:restart|stop|kill|rm|rmi)\b",
]
# The same in a step's prose, where the command is left to the operator.
DESTRUCTIVE_TEXT = [
    r"\bevacuat", r"\bre-?attach", r"\bdelete\b", r"\bremove\b", r"\brelease\b", r"\bformat",
    r"\bunmount", r"\bdestroy",
]  # fmt: skip


def _hits(step: Step) -> list[str]:
    commands = f"{step.run}\n{step.historical}"
    return [p for p in DESTRUCTIVE if re.search(p, commands)] + [
        p for p in DESTRUCTIVE_TEXT if re.search(p, step.text, re.IGNORECASE)
    ]


def _steps() -> list[tuple[str, int, Step]]:
    return [(p.id, n, s) for p in PROCS.values() for n, s in enumerate(p.steps, 1)]


def test_the_destructive_patterns_find_the_known_dangerous_steps() -> None:
    def hit(run: str) -> bool:
        return bool(_hits(Step("t", run)))

    for run in [
        "openstack server evacuate x",
        "sudo mkfs.xfs /dev/sdb",
        "sudo umount -l /srv/node/d1",
        "cinder reset-state --state available v",
        "scp /etc/swift/object.ring.gz st-01:/etc/swift/",
        "sudo systemctl restart rabbitmq-server",
        "sudo systemctl restart {service}",
        "openstack server reboot --hard u",
        "sudo rabbitmqctl stop_app",
        "nova-manage placement audit --delete",
        "sudo -u nova -H nova-compute",
        "kolla-ansible -i <inventory> reconfigure --limit {host} --tags {project}",
        "sudo {engine} restart {container}",
    ]:
        assert hit(run), run
    for run in [
        "sudo systemctl restart nova-api",
        "swift-recon --md5",
        "openstack server show u",
        "sudo {engine} logs --tail 60 {container}",
    ]:
        assert not hit(run), run


def test_every_destructive_or_disruptive_step_has_a_guard() -> None:
    unguarded = [
        f"{cid} step {n}: {s.run or s.text} (matches {_hits(s)[0]!r})"
        for cid, n, s in _steps()
        if _hits(s) and not s.guard
    ]
    assert not unguarded, "destructive steps without a guard:\n" + "\n".join(unguarded)


def test_guards_are_checkable_sentences_and_verified_by_names_checks() -> None:
    for cid, n, s in _steps():
        if s.guard:
            assert s.guard.startswith("only "), f"{cid} step {n}: a guard starts with 'only'"
            assert len(s.guard) > 40, f"{cid} step {n}: a guard says what to verify"
        assert all(c in PROCS for c in s.verified_by), f"{cid} step {n}"


def test_a_site_cannot_name_an_unknown_check_as_verifier(tmp_path: Path) -> None:

    (tmp_path / "site.yaml").write_text(
        "NOVA-009:\n  steps:\n    - {text: t, run: openstack server evacuate x, "
        "guard: only when..., verified_by: NOPE-001}\n"
    )
    with pytest.raises(ProcedureError, match="unknown check 'NOPE-001'"):
        load([tmp_path])


def _entry(proc: Procedure, findings: list[Finding]) -> Entry:
    return Entry(
        proc.id, CHECKS[proc.id], f"tests_cloud/t.py::t[{proc.id}]", findings=tuple(findings)
    )


def test_the_guard_is_written_above_its_command_in_remediation_sh() -> None:
    proc = PROCS["NOVA-009"]
    uuid = "6f0c1d2e-1111-2222-3333-444455556666"
    fenced = Finding(uuid, "cmp-01", extra={"uuid": uuid, "fenced": "yes"})
    text = script([_entry(proc, [fenced])], PROCS, {})
    lines = text.splitlines()
    at = lines.index(f"openstack server evacuate {uuid}")
    assert lines[at - 1].startswith("# GUARD, before the command below: only when ")
    assert "fenced" in lines[at - 1]
    assert "(verified by " in lines[at - 1]


def test_an_instance_still_running_is_never_evacuated() -> None:
    """NOVA-009 on a host whose hypervisor still runs the instance (nova-compute hung):
    restart nova-compute, no evacuate command at all."""
    proc = PROCS["NOVA-009"]
    uuid = "6f0c1d2e-1111-2222-3333-444455556666"
    running = Finding(
        uuid,
        "cmp-01",
        extra={"uuid": uuid, "fenced": "no", "state": "its domain instance-1 is running"},
    )
    text = script([_entry(proc, [running])], PROCS, {})
    assert "evacuate" not in text.replace("do not evacuate", "")
    assert "systemctl restart nova-compute" in text


def test_the_guard_is_in_the_terminal_text_and_summary_json() -> None:

    proc = PROCS["SWIFT-003"]
    finding = Finding("/srv/node/d1", "st-01", extra={"mount": "/srv/node/d1", "device": "d1"})
    text = procedure_text(proc, proc.id, [finding], tier=CHECKS[proc.id])
    mkfs = next(i for i, line in enumerate(text.splitlines()) if "mkfs" in line)
    assert text.splitlines()[mkfs - 1].strip().startswith("guard: only ")
    data = summary_data([_entry(proc, [finding])], PROCS, {})
    steps = data["checks"][0]["steps"]
    assert any(s["guard"].startswith("only ") and "mkfs" in s["commands"][0] for s in steps)


# Hostile findings: what a host name, a file or an error text could hold.
MARK = "AFTERBOOT_PWNED"
HOSTILE = [
    "storage1, storage2",
    "two words",
    'it\'s quoted "twice"',
    "a;b && c | d",
    f"$(echo {MARK}1 > {MARK}1)",
    f"`echo {MARK}2 > {MARK}2`",
    f"x\necho {MARK}3 > {MARK}3",
    "-oProxyCommand=sh",
    "{uuid}",
    "Authorization: Bearer a'b",  # a secret masked in a quoted word
    "password=x'y",
]


def _hostile_findings(proc: Procedure) -> list[Finding]:
    names = {
        m.group(1)
        for s in proc.steps
        for t in (s.text, s.run, s.historical, s.guard)
        for m in re.finditer(r"\{(\w+)", t)
    } | {"host", "uuid", "hosts", "service", "file", "verdict", "ring", "reference", "builder"}
    out = []
    for value in HOSTILE:
        extra = {k: value for k in sorted(names)}
        out.append(Finding(value, value, value, value, extra))
    # and findings that select every 'when' branch, with hostile values elsewhere
    for s in proc.steps:
        if s.when:
            chosen = {k: v.lstrip("!") + ("x" if v.startswith("!") else "") for k, v in s.when}
            extra = {k: HOSTILE[4] for k in sorted(names)} | chosen
            out.append(Finding(HOSTILE[4], HOSTILE[3], extra=extra))
    return out


def _all_entries() -> list[Entry]:
    return [_entry(p, _hostile_findings(p)) for p in PROCS.values()]


def _unquoted(line: str) -> str:
    """``line`` without what single quotes and backslashes protect: what the shell could
    still expand (double-quoted text stays, as ``$(...)`` runs inside it)."""
    out, i, state = [], 0, ""
    while i < len(line):
        c = line[i]
        if state == "'":
            state = "" if c == "'" else state
        elif c == "\\":
            i += 1
        elif state == '"':
            state = "" if c == '"' else state
            out.append(c)
        elif c in "'\"":
            state = c
        else:
            out.append(c)
        i += 1
    return "".join(out)


def test_the_quote_scanner_sees_what_the_shell_expands() -> None:
    assert _unquoted("a '$(x)' \\$(y) \"$(z)\" 'it'\"'\"'s'") == 'a  (y) $(z)" \'"'


@pytest.fixture(scope="module")
def plan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("plan") / "remediation.sh"
    path.write_text(script(_all_entries(), PROCS, {"phase": "post-reboot"}))
    return path


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_remediation_sh_with_hostile_findings_parses(plan: Path) -> None:
    result = subprocess.run(["bash", "-n", str(plan)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_hostile_values_appear_only_quoted() -> None:
    hostile = ["$(echo", "`echo", "a;b", "&& c", "| d", "storage1,", "-oProxyCommand", "{uuid}"]
    commands = [
        c for e in _all_entries() for s in render(PROCS[e.check], e.findings) for c in s.commands
    ]
    assert len(commands) > 200
    for cmd in commands:
        for level in (cmd, *_remote(cmd)):
            bare = _unquoted(level)
            assert not [h for h in hostile if h in bare], f"unquoted hostile value in: {cmd}"


def _remote(cmd: str) -> list[str]:
    """The command an ``ssh HOST -- CMD`` line runs on the host (the second level)."""
    if not cmd.startswith("ssh "):
        return []
    words = shlex.split(cmd)
    return [words[-1]] if "--" in words else []


def test_lists_of_hosts_are_separate_words() -> None:
    found = [Finding(extra={"file": "object.ring.gz", "hosts": "storage1, storage2 "})]
    (cmd,) = render(PROCS["SWIFT-002"], found)[0].commands
    assert "for h in storage1 storage2; do" in cmd


def test_values_with_blanks_stay_one_word_unless_the_template_lists_them() -> None:
    found = [Finding(host="cmp-01", extra={"uuid": "u 1", "action": "reboot --hard"})]
    cmds = [c for s in render(PROCS["NOVA-005"], found) for c in s.commands]
    assert "openstack server reboot --hard 'u 1'" in cmds


def _source_in_sandbox(body: str, tmp_path: Path) -> list[str]:
    """``body`` sourced by a bash that finds no program at all (an empty PATH; every command
    is "not found", silently) in an empty directory; the marker files that appeared. A
    value that escaped its quotes still creates its marker through a redirection."""
    script_file = tmp_path / "plan.sh"
    script_file.write_text(body)
    (tmp_path / "bin").mkdir()
    bash = shutil.which("bash")
    assert bash is not None
    subprocess.run(
        [bash, "--noprofile", "--norc", "-c",
         f"command_not_found_handle() {{ :; }}; . {shlex.quote(str(script_file))}"],
        cwd=tmp_path,
        env={"PATH": str(tmp_path / "bin"), "HOME": str(tmp_path), "LC_ALL": "C"},
        capture_output=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    return sorted(n for n in os.listdir(tmp_path) if MARK in n)


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_the_sandbox_sees_a_value_that_escaped(tmp_path: Path) -> None:
    assert _source_in_sandbox(f"sudo ls {HOSTILE[4]}\n", tmp_path) == [f"{MARK}1"]


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_sourcing_the_plan_in_a_sandbox_never_runs_a_hostile_value(
    plan: Path, tmp_path: Path
) -> None:
    body = plan.read_text().replace("\nexit 1\n", "\n", 1)
    assert "\nexit 1\n" not in body  # the stop line is gone: every line is sourced
    assert _source_in_sandbox(body, tmp_path) == []


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("SVC-003: {steps: [{text: a, verified_by: HOST-001}]}", "'verified_by' needs the 'guard'"),
        ("SVC-003: {steps: [{text: a, guard: only x, verified_by: {a: b}}]}", "an ID or a list"),
        ("SVC-003: {steps: [{text: a, run: x, host_from: builder}]}", "'host_from' names"),
        ("SVC-003: {steps: [{text: a, cause: [1]}]}", "'cause' is an ID or a list"),
    ],
)
def test_bad_guards_and_selectors_are_one_line_errors(
    tmp_path: Path, yaml_text: str, message: str
) -> None:

    (tmp_path / "site.yaml").write_text(yaml_text + "\n")
    with pytest.raises(ProcedureError, match=message):
        load([tmp_path])


def test_host_from_sends_the_command_to_the_named_host() -> None:
    found = [Finding(extra={"verdict": "tie", "file": "object.ring.gz", "builder": "proxy1"})]
    cmds = [c for s in render(PROCS["SWIFT-002"], found) for c in s.commands]
    assert cmds[0].startswith("ssh proxy1 -- 'sudo swift-ring-builder /etc/swift/object.builder")


def test_an_instance_of_a_host_that_answers_is_never_evacuated() -> None:
    """NOVA-009 on a host that answers but does not run the instance (nova-compute died at
    its start): restart nova-compute, then the instance's hard reboot there, no evacuate."""
    proc = PROCS["NOVA-009"]
    uuid = "6f0c1d2e-1111-2222-3333-444455556666"
    stopped = Finding(
        uuid,
        "cmp-01",
        extra={
            "uuid": uuid,
            "fenced": "no",
            "running": "no",
            "state": "cmp-01 answers and runs no domain of it",
        },
    )
    text = script([_entry(proc, [stopped])], PROCS, {})
    assert "evacuate " not in text.replace("do not evacuate an instance", "")
    assert text.index("systemctl restart nova-compute") < text.index(
        f"openstack server reboot --hard {uuid}"
    )
    assert "answers and does not run" in text
    assert "not known to be dead" not in text  # the running instance's step is not shown
