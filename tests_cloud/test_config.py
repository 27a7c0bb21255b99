"""Configuration management (Ops Guide: "configuration management"): the same effective
configuration for a service on every host of a role, and, as the CI gate of configuration
changes, the same as a reviewed baseline. Secrets are compared by digest, never shown."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from fixtures.config import ROLE_CONFIGS, effective, host_config, is_secret, show
from fixtures.connections import Connections, each_answer
from plugins.findings import Findings


@pytest.mark.check(
    "CONF-001",
    tier=4,
    roles=("compute", "controller", "block-storage", "object-storage", "object-storage-proxy"),
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
)
@pytest.mark.reads("configs")
@pytest.mark.parametrize("role", sorted(ROLE_CONFIGS))
def test_config_matches_baseline(
    role: str, connections: Connections, pytestconfig: pytest.Config
) -> None:
    """Every host of a role matches the reviewed baseline (``afterboot_baseline`` ini:
    a directory holding ``<role>/etc/...`` files); secrets only where the baseline gives
    their ``sha256:`` digest."""
    base_dir = pytestconfig.getini("afterboot_baseline")
    if not base_dir:
        pytest.skip("no reviewed baseline declared (ini afterboot_baseline)")
    root = pytestconfig.rootpath / str(base_dir) / role
    baseline = {}
    for path in ROLE_CONFIGS[role]:
        f = root / path.lstrip("/")
        if f.is_file():
            baseline.update(effective(f.read_text(), Path(path).name))
    if not baseline:
        pytest.skip(f"the baseline has no {role} configuration ({root})")
    diffs = []
    for remote in connections.with_role(role):
        cfg = host_config(remote, role) or {}
        for opt, want in sorted(baseline.items()):
            if is_secret(opt[2]) and not want.startswith("sha256:"):
                continue
            have = cfg.get(opt)
            if have != want:
                diffs.append(
                    f"{remote.name} {opt[0]} [{opt[1]}] {opt[2]}: baseline "
                    f"{show(want)}, host {show(have)}"
                )
    assert not diffs, "configuration differs from the baseline: " + "; ".join(diffs[:20])
