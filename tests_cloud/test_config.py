"""Configuration management (Ops Guide: "configuration management"): the same effective
configuration for a service on every host of a role, and, as the CI gate of configuration
changes, the same as a reviewed baseline. Secrets are compared by digest, never shown."""

from __future__ import annotations

from collections import Counter

import pytest

from afterboot.checks.findings import Findings
from afterboot.checks.phases import gate_baseline
from afterboot.domains.baseline import FileOptions, compare, live_files
from afterboot.domains.config import (
    ROLE_CONFIGS,
    ConfigSyntaxError,
    Option,
    UnparsableConfig,
    config_text,
    host_config,
    show,
)
from afterboot.errors import CouldNotRun
from afterboot.inventory.load import scoped_inventory
from afterboot.reads.answers import Answers, every_answer
from afterboot.transport.connections import Connections, Remote


@pytest.mark.check(
    "CONF-001",
    tier=4,
    roles=("compute", "controller", "block-storage", "object-storage", "object-storage-proxy"),
    settles=False,
)
@pytest.mark.reads("configs")
@pytest.mark.parametrize("role", sorted(ROLE_CONFIGS))
def test_role_config_consistent(role: str, connections: Connections, findings: Findings) -> None:
    """Every host of a role has the same effective configuration (host-specific options
    such as ``host`` and ``my_ip`` excluded); a file that does not parse on a host is a
    finding naming host, file and line, a host whose configuration could not be read makes
    the check could-not-run (it is not a host that agrees)."""
    got = every_answer(connections.with_role(role), lambda remote: host_config(remote, role))
    for host, exc in sorted(got.failed.items()):
        if isinstance(exc, UnparsableConfig):
            findings.add(
                f"{exc.file} [-] (the file)",
                host=host,
                actual="unparsable",
                option=f"{exc.file} (does not parse)",
                file=exc.file,
                what="unparsable",
                said=f"{host}: {exc.problem} (its service refuses it)",
            )
    unread = {h: e for h, e in got.failed.items() if not isinstance(e, UnparsableConfig)}
    configs = got.values
    if len(configs) < 2 and not got.failed:
        pytest.skip(f"fewer than two {role} hosts with its configuration")
    diffs = _differences(configs, findings) if len(configs) >= 2 else []
    if unread and not findings:
        raise Answers(failed=unread).unanswered(f"{role} configuration")
    note = f" ({Answers(failed=unread).unanswered('not compared').what})" if unread else ""
    findings.assert_none(f"{role} hosts differ{note}: " if diffs else f"{role} hosts: ")


def _differences(configs: dict[str, dict[Option, str]], findings: Findings) -> list[str]:
    """Each option whose value differs between hosts, one finding per odd host."""
    options = sorted(set().union(*configs.values()))
    diffs = []
    for opt in options:
        values = {host: cfg.get(opt) for host, cfg in configs.items()}
        if len(set(values.values())) > 1:
            fname, section, name = opt
            shown = ", ".join(f"{h}={show(v)}" for h, v in sorted(values.items()))
            diffs.append(f"{fname} [{section}] {name}: {shown}")
            # the hosts that differ from the majority; on a tie every host is named
            common = Counter(values.values()).most_common()
            tie = common[0][1] == common[1][1]
            odd = sorted(h for h, v in values.items() if tie or v != common[0][0])
            for h in odd:
                findings.add(
                    f"{fname} [{section}] {name}",
                    host=h,
                    actual=show(values[h]),
                    option=f"{fname} [{section}] {name}",
                    said=f"{fname} [{section}] {name}: {shown}",
                )
    return diffs


@pytest.mark.check(
    "CONF-002",
    tier=4,
    roles=("compute", "controller", "block-storage", "object-storage", "object-storage-proxy"),
    phases=("config-gate",),
    title="Every host of a role runs the configuration of the reviewed baseline.",
    settles=False,
)
@pytest.mark.reads("configs")
@pytest.mark.parametrize("role", sorted(ROLE_CONFIGS))
def test_config_matches_baseline(
    role: str, connections: Connections, pytestconfig: pytest.Config, findings: Findings
) -> None:
    """Every host of a role runs the configuration of the reviewed baseline (``--baseline``,
    written by ``--write-baseline``): each difference names host, file, section, option,
    both values (a secret only as "changed") and whether the whole role changed (a change
    not yet in the baseline) or one host drifted."""
    baseline = gate_baseline(pytestconfig)
    if baseline is None:
        pytest.skip("only in --phase=config-gate (with --baseline)")
    inv = scoped_inventory(pytestconfig)
    names = inv.names(role) if inv is not None else []
    if not names:
        pytest.skip(f"the inventory declares no {role} host in scope")
    files = ROLE_CONFIGS[role]
    unparsable: dict[str, str] = {}

    def live(remote: Remote) -> dict[str, FileOptions | None] | None:
        texts = {p: t for p in files if (t := config_text(remote, p)) is not None}
        try:
            return live_files(texts, files, baseline.salt)
        except ConfigSyntaxError as exc:
            unparsable[remote.name] = str(exc)
            return None

    got = every_answer([connections[n] for n in names], live)
    answers = got.values
    for host, problem in sorted(unparsable.items()):
        findings.add(
            problem.split(":", 1)[0],
            host=host,
            actual="unparsable",
            said=f"{host} {problem} (its service refuses it: re-deploy its config)",
            what="unparsable",
            verdict="host-drifted",
        )
    if not answers and not unparsable:
        raise CouldNotRun(f"no {role} host answered with its configuration", ", ".join(names))
    unread = got.unanswered(f"{role} configuration") if got.failed else None
    if role not in baseline.roles:
        findings.add(
            role,
            actual="not in baseline",
            said=f"the baseline has no role {role}, yet {', '.join(sorted(answers))} "
            f"answered: write the baseline again (--write-baseline)",
            what="role not in baseline",
            verdict="role-changed",
        )
    else:
        for d in compare(baseline.role(role), baseline.roles[role], answers):
            findings.add(
                d.where,
                host=d.host,
                expected=d.baseline,
                actual=d.live,
                said=d.sentence(),
                file=d.file,
                section=d.section,
                option=d.option,
                what=d.what,
                verdict=d.verdict,
            )
    # a host whose configuration could not be read is not a host that matches
    if unread is not None and not findings:
        raise unread
    note = f" ({unread.what}: not compared)" if unread is not None else ""
    findings.assert_none(f"{role} configuration differs from the baseline{note}: ")
