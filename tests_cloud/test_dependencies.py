"""Every dependency a host's configuration names answers from that host: the broker, the
database server, keystone, memcached, glance (the guide's "Determining Which Component Is
Broken", done for every endpoint at once)."""

from __future__ import annotations

import pytest

from afterboot.checks.catalog import WITH_CONFIG_GATE
from afterboot.checks.findings import Findings
from afterboot.domains.config import ROLE_CONFIGS
from afterboot.domains.dependencies import answers, dependencies, why
from afterboot.errors import CouldNotRun
from afterboot.reads.hostreads import parts
from afterboot.transport.connections import Remote

CONFIGURED_ROLES = tuple(ROLE_CONFIGS)


@pytest.mark.check("DEP-001", tier=99, roles=CONFIGURED_ROLES, phases=WITH_CONFIG_GATE)
@pytest.mark.reads("dependencies")
def test_configured_dependencies_answer(host: Remote, findings: Findings) -> None:
    """Each endpoint the host's service configurations name (transport_url, [database]
    connection, auth_url, www_authenticate_uri, memcached_servers, api_servers) accepts a
    TCP connection from the host, within a few seconds."""
    deps = dependencies(parts(host.read("configs").stdout))
    if not deps:
        pytest.skip(f"no service configuration on {host.name} names an endpoint")
    said = answers(host.read("dependencies").stdout)
    unprobed = sorted({d.endpoint for d in deps if (d.host, d.port) not in said})
    if unprobed:
        raise CouldNotRun(f"host {host.name}: no probe answer for {', '.join(unprobed)}", "")
    for d in deps:
        status = said[(d.host, d.port)]
        if status == 0:
            continue
        findings.add(
            f"{d.file} [{d.section}] {d.option} -> {d.endpoint}",
            host=host.name,
            expected="answers",
            actual=why(status),
            file=d.file,
            section=d.section,
            option=d.option,
            endpoint=d.endpoint,
            target=d.host,
            port=str(d.port),
            said=f"{d.endpoint} ({d.file} [{d.section}] {d.option}): {why(status)}",
        )
    findings.assert_none(f"dependencies not answering from {host.name}: ", sep="; ")
