"""KOLLA-002's tag: the one ``--kolla-globals`` gives each container (kolla-ansible's
derivation: ``<container>_tag``, ``<service>_tag``, ``openstack_tag``, then
``openstack_release``), whatever most containers run; without it the majority, and a tie
said as a tie. The recorded partial upgrade (``tests/samples/kolla``): nova_libvirt on
2024.1, nova_compute, nova_ssh and cron on 2023.1."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pytest

import tests_cloud.test_containers as container_checks
from afterboot.checks.findings import Finding, Findings, item_findings
from afterboot.domains import containers as kc
from afterboot.errors import InputError
from afterboot.inventory.deployers import read_kolla_globals
from afterboot.inventory.kollatags import KollaTags, kolla_tags
from afterboot.procedures import runbook
from tests.test_kolla_containers import PARTIAL, FakeRemote, kolla_host

CHECK = container_checks.test_kolla_containers_of_a_host_run_one_release
OLD, NEW = "2023.1-debian-bookworm", "2024.1-debian-bookworm"


def _tags(tmp_path: Path, text: str) -> KollaTags:
    path = tmp_path / "globals.yml"
    path.write_text(text)
    return kolla_tags(read_kolla_globals(path))


def _tied() -> str:
    """Two kolla containers, one tag each (as the lab's partial upgrade leaves compute2)."""
    lines = [line for line in PARTIAL.split("\n") if not line.startswith(("nova_ssh\t", "cron\t"))]
    return "\n".join(lines)


def _judge(text: str, tags: KollaTags | None) -> tuple[str, list[Finding]]:
    item = cast(pytest.Item, SimpleNamespace(stash=pytest.Stash()))
    remote = FakeRemote(kolla_host(), {"containers": text})
    with pytest.raises(AssertionError) as failed:
        CHECK(remote, tags, Findings(item))  # type: ignore[arg-type]
    return str(failed.value), item_findings(item)


def _remedy(found: list[Finding]) -> str:
    steps = runbook.render(runbook.load()["KOLLA-002"], found)
    return "\n".join(line for s in steps for line in (*s.text, *s.commands))


# -- kolla-ansible's derivation --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "container", "tag", "variable"),
    [
        (f"openstack_tag: {NEW}\n", "cron", NEW, "openstack_tag"),
        # the image naming since Zed: release, distribution, its version, suffix
        (
            "openstack_release: '2024.1'\nkolla_base_distro: debian\n"
            "kolla_base_distro_version: bookworm\n",
            "cron",
            NEW,
            "openstack_release",
        ),
        ("openstack_release: 2024.1\n", "cron", "2024.1-*-*", "openstack_release"),  # a float
        (
            "openstack_release: yoga\nopenstack_tag_suffix: -x\n",
            "cron",
            "yoga-x",
            "openstack_release",
        ),
        (
            "openstack_tag: \"{{ openstack_release }}-custom\"\nopenstack_release: '2024.1'\n",
            "cron",
            "2024.1-custom",
            "openstack_tag",
        ),
        (f"openstack_tag: {NEW}\nnova_tag: {OLD}\n", "nova_libvirt", OLD, "nova_tag"),
        (f"openstack_tag: {NEW}\nnova_tag: {OLD}\n", "cron", NEW, "openstack_tag"),
        (
            f'nova_tag: {OLD}\nnova_libvirt_tag: "{{{{ nova_tag }}}}"\nopenstack_tag: {NEW}\n',
            "nova_libvirt",
            OLD,
            "nova_libvirt_tag",
        ),
    ],
)
def test_the_tag_is_derived_as_kolla_ansible_derives_it(
    tmp_path: Path, text: str, container: str, tag: str, variable: str
) -> None:
    intended = _tags(tmp_path, text).of(container, container.split("_")[0])
    assert intended is not None
    assert (intended.tag, intended.variable) == (tag, variable)
    assert intended.basis == f"globals.yml {variable}"


def test_a_derived_tag_matches_any_distribution_it_does_not_name(tmp_path: Path) -> None:
    intended = _tags(tmp_path, "openstack_release: '2024.1'\n").of("cron", "cron")
    assert intended is not None
    assert intended.matches(NEW)
    assert intended.matches("2024.1-rocky-9")
    assert not intended.matches(OLD)
    assert not intended.matches("2024.1")


@pytest.mark.parametrize(
    "text",
    ["", "enable_cinder: yes\n", "kolla_base_distro: rocky\n"],
    ids=["empty", "other", "distro"],
)
def test_without_a_tag_or_the_release_no_tag_is_known(tmp_path: Path, text: str) -> None:
    assert _tags(tmp_path, text).of("cron", "cron") is None


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (
            "enable_cinder: yes\nopenstack_tag: [a, b]\n",
            2,
            "openstack_tag ['a', 'b'] is not an image tag",
        ),
        ("nova_tag: true\n", 1, "nova_tag True is not an image tag"),
        ("openstack_tag: ''\n", 1, "openstack_tag is empty"),
        ('openstack_tag: "2024.1\\e[31m"\n', 1, "is not an image tag"),
        (
            "openstack_tag: \"{{ lookup('env', 'TAG') }}\"\n",
            1,
            "is a template afterboot cannot resolve",
        ),
        ('openstack_tag: "{% if x %}a{% endif %}"\n', 1, "is a template afterboot cannot resolve"),
        ('openstack_tag: "{{ nova_tag }}"\nnova_tag: "{{ openstack_tag }}"\n', 0, "in a cycle"),
        (
            'openstack_tag: "{{ openstack_release }}/../x"\nopenstack_release: a\n',
            1,
            "not an image tag",
        ),
    ],
    ids=["list", "bool", "empty", "escape", "lookup", "statement", "cycle", "slash"],
)
def test_a_hostile_globals_yml_is_one_line_naming_file_and_line(
    tmp_path: Path, text: str, line: int, words: str
) -> None:
    path = tmp_path / "globals.yml"
    path.write_text(text)
    with pytest.raises(InputError) as got:
        kolla_tags(read_kolla_globals(path))
    said = str(got.value)
    assert "\n" not in said
    assert "\x1b" not in said
    assert said.startswith(f"{path}:{line}: " if line else f"{path}")
    assert words in said


def test_an_unreadable_globals_yml_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "globals.yml"
    path.write_bytes(b"openstack_tag: \xff\xfe\n")
    with pytest.raises(InputError) as got:
        kolla_tags(read_kolla_globals(path))
    assert str(got.value).startswith(str(path))
    assert "\n" not in str(got.value)


# -- KOLLA-002 judged ------------------------------------------------------------------------


def test_without_globals_the_majority_rule_is_unchanged() -> None:
    said, found = _judge(PARTIAL, None)
    assert said.endswith(f"nova_libvirt runs tag {NEW}, the others on compute2 {OLD}")
    (finding,) = found
    assert (finding.subject, finding.extra["state"]) == ("nova_libvirt", "minority")
    assert "kolla-ansible -i <inventory> upgrade --limit compute2 --tags nova" in _remedy(found)


def test_globals_decide_against_the_majority(tmp_path: Path) -> None:
    """globals.yml names the new release: the three containers still on the old one are
    odd, nova_libvirt (alone on the new one) is not."""
    said, found = _judge(PARTIAL, _tags(tmp_path, f"openstack_tag: {NEW}\n"))
    assert [f.subject for f in found] == ["cron", "nova_compute", "nova_ssh"]
    assert f"nova_compute runs tag {OLD}, expected {NEW} (globals.yml openstack_tag)" in said
    assert "nova_libvirt" not in said
    remedy = _remedy(found)
    assert f"expected {NEW}: globals.yml openstack_tag" in remedy
    assert "upgrade --limit compute2 --tags nova" in remedy
    assert "upgrade --limit compute2 --tags cron" in remedy


def test_a_service_override_is_respected(tmp_path: Path) -> None:
    """nova pinned to the old release on purpose (nova_tag): only cron, on the old one
    while the deployment's is the new one, is odd; nova_libvirt, on the new one, too."""
    tags = _tags(tmp_path, f"openstack_tag: {NEW}\nnova_tag: {OLD}\n")
    said, found = _judge(PARTIAL, tags)
    assert {f.subject: f.extra["basis"] for f in found} == {
        "cron": "globals.yml openstack_tag",
        "nova_libvirt": "globals.yml nova_tag",
    }
    assert f"nova_libvirt runs tag {NEW}, expected {OLD} (globals.yml nova_tag)" in said
    # all on the tags globals.yml gives: nothing odd
    item = cast(pytest.Item, SimpleNamespace(stash=pytest.Stash()))
    pinned = _tags(tmp_path, f"openstack_tag: {OLD}\nnova_libvirt_tag: {NEW}\n")
    CHECK(FakeRemote(kolla_host(), {"containers": PARTIAL}), pinned, Findings(item))  # type: ignore[arg-type]
    assert item_findings(item) == []


def test_a_tie_without_globals_is_said_as_a_tie_and_names_no_container() -> None:
    said, found = _judge(_tied(), None)
    assert said.endswith(f"no majority: nova_compute on {OLD}, nova_libvirt on {NEW}")
    (finding,) = found
    assert finding.extra["state"] == "no-majority"
    assert "container" not in finding.extra
    remedy = _remedy(found)
    assert f"({'nova_compute on ' + OLD}, nova_libvirt on {NEW})" in remedy
    assert "--kolla-globals" in remedy
    assert "kolla-ansible -i <inventory> upgrade --limit compute2" in remedy
    assert "--tags" not in remedy  # no container sent onto a guessed tag
    assert "most of them" not in remedy
    assert kc.release_tags(kc.parse(_tied())) == (
        [],
        [[("nova_compute", OLD), ("nova_libvirt", NEW)]],
    )


def test_a_tie_with_globals_is_decided_by_them(tmp_path: Path) -> None:
    said, found = _judge(_tied(), _tags(tmp_path, f"openstack_tag: {NEW}\n"))
    assert [f.subject for f in found] == ["nova_compute"]
    assert "no majority" not in said
