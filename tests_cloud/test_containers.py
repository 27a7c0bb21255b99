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
from afterboot.domains.containers import (
    ContainerRead,
    Drift,
    parse,
    release_tags,
    stale,
)
from afterboot.inventory.kollatags import KollaTags
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
def test_kolla_containers_of_a_host_run_one_release(
    host: Remote, kolla_tags: KollaTags | None, findings: Findings
) -> None:
    """The kolla containers of a host all run the deployment's one image tag (no partial
    upgrade).

    The tag is the one ``--kolla-globals`` gives each container (its own ``<name>_tag``,
    its service's ``<service>_tag``, ``openstack_tag``, else derived from
    ``openstack_release``), whatever most of them run; without it, the tag most of them
    run. Where no tag is run by most and globals.yml says none, which is odd is not known:
    the host is named with every container's tag, no container called odd."""
    read = _containers_of(host)
    releases = release_tags(read, kolla_tags)
    for drift in releases.drift:
        c = drift.container
        said = (
            f"{c.name} runs tag {drift.actual}, expected {drift.expected} ({drift.basis})"
            if drift.basis
            else f"{c.name} runs tag {drift.actual}, the others on {host.name} {drift.expected}"
        )
        _name(
            findings,
            host,
            read,
            drift,
            said=said,
            expected=drift.expected,
            actual=drift.actual,
            tag=drift.expected,
            basis=drift.basis or "most of the kolla containers of the host run it",
            state="off-intended" if drift.basis else "minority",
        )
    for tie in releases.ties:
        on = ", ".join(f"{name} on {tag}" for name, tag in tie)
        tagged = sorted(set(tag for _, tag in tie))
        findings.add(
            "no majority",
            host=host.name,
            expected="one tag, run by most of its kolla containers",
            actual=", ".join(tagged),
            engine=read.engine or "docker",
            state="no-majority",
            tie=on,
            said=f"no majority: {on}",
        )
    findings.assert_none(f"kolla containers on another release on {host.name}: ", sep=", ")
