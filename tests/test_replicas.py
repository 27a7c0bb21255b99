"""Reference selection for replicated files (rings, swift.conf): afterboot/domains/replicas.py."""

from __future__ import annotations

import pytest

from afterboot.checks.findings import Finding
from afterboot.domains.replicas import (
    ABSENT,
    AGREE,
    BUILDER_ODD,
    NODE_ODD,
    STALE_MAJORITY,
    TIE,
    choose_reference,
)
from afterboot.procedures.runbook import load, render

A, B = "a" * 32, "b" * 32
PROXY = {"proxy1"}


def test_all_agree() -> None:
    v = choose_reference({"proxy1": A, "storage1": A, "storage2": A}, PROXY)
    assert (v.kind, v.reference, v.odd, v.ok) == (AGREE, "proxy1", (), True)


def test_one_storage_node_odd_takes_the_builder_of_the_majority_as_reference() -> None:
    v = choose_reference({"proxy1": A, "storage1": A, "storage2": B, "storage3": A}, PROXY)
    assert (v.kind, v.reference, v.checksum, v.odd) == (NODE_ODD, "proxy1", A, ("storage2",))
    assert "3 of 4 hosts" in v.explanation
    assert "ring-builder host agrees" in v.explanation


def test_builder_odd_while_every_node_agrees_is_never_the_reference() -> None:
    v = choose_reference({"proxy1": B, "storage1": A, "storage2": A, "storage3": A}, PROXY)
    assert v.kind == BUILDER_ODD
    assert v.odd == ("proxy1",)
    assert v.reference == "storage1"
    assert v.checksum == A
    assert "inspect its builder" in v.explanation
    assert "never spread" in v.explanation


def test_a_tie_names_no_reference() -> None:
    v = choose_reference({"storage1": A, "storage2": B})
    assert (v.kind, v.reference, v.checksum) == (TIE, "", "")
    assert v.odd == ("storage1", "storage2")
    assert v.explanation.startswith("A tie, no majority")


def test_a_tie_with_the_builder_on_one_side_still_names_no_reference() -> None:
    v = choose_reference({"proxy1": A, "storage1": A, "storage2": B, "storage3": B}, PROXY)
    assert (v.kind, v.reference) == (TIE, "")


def test_missing_file_on_a_host_makes_it_odd() -> None:
    sums = {"proxy1": A, "storage1": A, "storage2": "missing", "storage3": None}
    v = choose_reference(sums, PROXY)
    assert (v.kind, v.reference, v.odd) == (NODE_ODD, "proxy1", ("storage2", "storage3"))
    assert "missing on storage2, storage3" in v.explanation
    fields = v.findings("object.ring.gz", sums)
    assert [f["actual"] for f in fields] == ["missing", "missing"]


def test_missing_on_the_builder_is_builder_odd() -> None:
    v = choose_reference({"proxy1": "missing", "storage1": A, "storage2": A}, PROXY)
    assert (v.kind, v.odd) == (BUILDER_ODD, ("proxy1",))


def test_no_host_holds_the_file() -> None:
    v = choose_reference({"storage1": "missing", "storage2": None})
    assert (v.kind, v.reference, v.odd) == (ABSENT, "", ("storage1", "storage2"))


def test_a_newer_ring_on_the_minority_is_not_overwritten_by_the_majority() -> None:
    sums = {"proxy1": A, "storage1": A, "storage2": A, "storage3": B}
    versions = {"proxy1": 11, "storage1": 11, "storage2": 11, "storage3": 12}
    v = choose_reference(sums, PROXY, versions)
    assert (v.kind, v.reference, v.odd) == (STALE_MAJORITY, "", ("storage3",))
    assert "version 12 > 11" in v.explanation
    # an older odd ring is an ordinary odd node
    older = choose_reference(sums, PROXY, {**versions, "storage3": 10})
    assert (older.kind, older.reference) == (NODE_ODD, "proxy1")


def test_findings_carry_the_fields_the_procedure_selects_by() -> None:
    sums = {"proxy1": A, "storage1": A, "storage2": B}
    (f,) = choose_reference(sums, PROXY).findings("object.ring.gz", sums)
    assert f == {
        "said": "object.ring.gz on storage2 (node-odd: bbbbbbbb, reference aaaaaaaa from proxy1)",
        "subject": "/etc/swift/object.ring.gz",
        "host": "storage2",
        "expected": A,
        "actual": B,
        "verdict": NODE_ODD,
        "file": "object.ring.gz",
        "ring": "object",
        "reference": "proxy1",
        "hosts": "storage2",
        "builder": "proxy1",
        "explanation": f["explanation"],
    }
    conf = choose_reference({"proxy1": A, "storage1": B, "storage2": B}, PROXY)
    assert conf.findings("swift.conf", {"proxy1": A})[0]["ring"] == ""


def _swift002(sums: dict[str, str | None], versions: dict[str, int] | None = None) -> str:
    """SWIFT-002's rendered commands for the verdict on ``object.ring.gz``."""
    verdict = choose_reference(sums, PROXY, versions)
    found = []
    for fields in verdict.findings("object.ring.gz", sums):
        f = dict(fields)
        found.append(
            Finding(f.pop("subject"), f.pop("host"), f.pop("expected"), f.pop("actual"), f)
        )
    steps = render(load()["SWIFT-002"], found)
    return "\n".join(c for s in steps for c in s.commands)


def test_swift002_copies_from_the_majority_only_when_a_node_is_odd() -> None:
    cmds = _swift002({"proxy1": A, "storage1": A, "storage2": B})
    assert "scp -3 proxy1:/etc/swift/object.ring.gz storage2:/tmp/object.ring.gz" in cmds
    assert f"ssh storage2 -- 'md5sum /tmp/object.ring.gz | grep -q {A} && sudo install -b" in cmds


def test_swift002_inspects_an_odd_builder_and_copies_nothing_to_the_nodes() -> None:
    cmds = _swift002({"proxy1": B, "storage1": A, "storage2": A})
    assert "scp" not in cmds
    assert "ssh proxy1 -- 'cd /etc/swift && sudo swift-ring-builder object.builder" in cmds
    assert "storage1:" not in cmds
    assert "storage2:" not in cmds


@pytest.mark.parametrize(
    ("sums", "versions"),
    [
        ({"storage1": A, "storage2": B}, None),
        ({"proxy1": A, "storage1": A, "storage2": A, "storage3": B}, {"storage3": 9, "proxy1": 8}),
        ({"storage1": None, "storage2": "missing"}, None),
    ],
    ids=["tie", "stale-majority", "absent"],
)
def test_swift002_copies_nothing_on_a_tie_a_newer_minority_or_no_copy(
    sums: dict[str, str | None], versions: dict[str, int] | None
) -> None:
    cmds = _swift002(sums, versions)
    assert cmds
    assert "scp" not in cmds
    assert "install" not in cmds
