"""kolla's containers run the images the deployment expects (hosts whose inventory says
``service_manager: container``).

An upgrade pulls new images, then recreates each container; one that stopped halfway
leaves containers on the old image (their image name already resolves to the new one on
the host) or a host whose containers run two releases. Both look healthy to
``docker ps``/``podman ps`` and to the service checks: the processes run.
"""

from __future__ import annotations

import pytest

from afterboot.checks.findings import Findings
from afterboot.domains.containers import ContainerRead, Drift, mixed_tags, parse, stale
from afterboot.transport.connections import Remote


def _containers_of(host: Remote) -> ContainerRead:
    return parse(host.read("containers").stdout, host.name)


def _name(
    findings: Findings, host: Remote, read: ContainerRead, drift: Drift, **fields: str
) -> None:
    """One container on an image the deployment does not expect, as a finding (``fields``:
    what it says, expected and actual, and the check's own)."""
    c = drift.container
    findings.add(
        c.name,
        host=host.name,
        container=c.name,
        image=c.image_name,
        engine=read.engine or "docker",
        project=c.project,
        **fields,
    )


@pytest.mark.managed_by("container")
@pytest.mark.check("KOLLA-001", tier=4, settles=False)
@pytest.mark.reads("containers")
def test_containers_run_the_image_their_name_resolves_to(host: Remote, findings: Findings) -> None:
    """Every container runs the image its image name resolves to on the host now."""
    read = _containers_of(host)
    for drift in stale(read):
        c = drift.container
        said = (
            f"{c.name} runs image {drift.actual[:12]}, {c.image_name} is "
            f"{drift.expected[:12]} on {host.name} now (pulled, container not recreated)"
        )
        expected, actual = drift.expected[:12], drift.actual[:12]
        _name(findings, host, read, drift, said=said, expected=expected, actual=actual)
    findings.assert_none(f"containers on an old image on {host.name}: ", sep=", ")


@pytest.mark.managed_by("container")
@pytest.mark.check("KOLLA-002", tier=4, settles=False)
@pytest.mark.reads("containers")
def test_kolla_containers_of_a_host_run_one_release(host: Remote, findings: Findings) -> None:
    """The kolla containers of a host all run images of one tag (no partial upgrade)."""
    read = _containers_of(host)
    for drift in mixed_tags(read):
        c = drift.container
        said = f"{c.name} runs tag {drift.actual}, the others on {host.name} {drift.expected}"
        _name(
            findings,
            host,
            read,
            drift,
            said=said,
            expected=drift.expected,
            actual=drift.actual,
            tag=drift.expected,
        )
    findings.assert_none(f"kolla containers on another release on {host.name}: ", sep=", ")
