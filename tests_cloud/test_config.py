"""Configuration management (Ops Guide: "configuration management"): the same effective
configuration for a service on every host of a role, and, as the CI gate of configuration
changes, the same as a reviewed baseline. Secrets are compared by digest, never shown."""

from __future__ import annotations

from collections import Counter

import pytest

from fixtures.baseline import FileOptions, compare, live_files
from fixtures.config import ROLE_CONFIGS, ConfigSyntaxError, config_text, host_config, show
from fixtures.connections import Connections, Remote, each_answer
from fixtures.errors import CouldNotRun
from fixtures.inventory import scoped_inventory
from plugins.findings import Findings
from plugins.phases import gate_baseline


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
    such as ``host`` and ``my_ip`` excluded)."""
    configs = each_answer(connections.with_role(role), lambda remote: host_config(remote, role))
    if len(configs) < 2:
        pytest.skip(f"fewer than two {role} hosts with its configuration answered")
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
                )
    assert not diffs, (
        f"{role} hosts differ: "
        + "; ".join(diffs[:20])
        + (f" (+{len(diffs) - 20} more)" if len(diffs) > 20 else "")
    )


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

    answers = each_answer([connections[n] for n in names], live)
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
    findings.assert_none(f"{role} configuration differs from the baseline: ")
