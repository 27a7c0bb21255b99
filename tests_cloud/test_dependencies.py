"""Every dependency a host's configuration names answers from that host: the broker, the
database server, keystone, memcached, glance (the guide's "Determining Which Component Is
Broken", done for every endpoint at once)."""

from __future__ import annotations

import pytest

from afterboot.checks.catalog import WITH_CONFIG_GATE
from afterboot.checks.findings import Findings
from afterboot.domains.config import ROLE_CONFIGS
from afterboot.domains.dependencies import answers, named, why
from afterboot.errors import CouldNotRun
from afterboot.reads.hostreads import parts
from afterboot.transport.connections import Remote

CONFIGURED_ROLES = tuple(ROLE_CONFIGS)


@pytest.mark.check("DEP-001", tier=99, roles=CONFIGURED_ROLES, phases=WITH_CONFIG_GATE)
@pytest.mark.reads("configs", "dependencies")
def test_configured_dependencies_answer(host: Remote, findings: Findings) -> None:
    """Each endpoint the host's service configurations name (transport_url, [database]
    connection, auth_url, www_authenticate_uri, memcached_servers, api_servers) accepts a
    TCP connection from the host, within a few seconds.

    A transport_url of ``[oslo_messaging_notifications]`` (notifications sent to another
    broker) is probed as RPC's is, and named with its section."""
    deps, unparsable = named(parts(host.read("configs").stdout))
    # read even when nothing is to be probed: a probe that failed or answered garbage
    # says the host was not read as it is
    said = answers(host.read("dependencies").stdout, host.name)
    if not deps and not unparsable:
        pytest.skip(f"no service configuration on {host.name} names an endpoint")
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
    if unparsable:
        # what a configuration that does not parse names is not known (CONF-001 names it)
        raise CouldNotRun(
            f"host {host.name}: the endpoints of {', '.join(sorted(unparsable))} are not "
            "known: it does not parse",
            next(iter(unparsable.values()))[:200],
        )
