"""The fault matrix as data: every lab fault has its row, and batching never puts two
faults together whose effects could be mistaken for each other (no lab needed)."""

from __future__ import annotations

from lab import faults
from tests.matrix.expectations import EXPECTATIONS
from tests.matrix.harness import Expect, Outcome, batches, conflict, verdict, waits


def test_every_lab_fault_has_exactly_one_row() -> None:
    names = [e.fault for e in EXPECTATIONS]
    assert len(names) == len(set(names))
    assert set(names) == set(faults.REGISTRY), (
        f"no row: {sorted(set(faults.REGISTRY) - set(names))}; "
        f"no fault: {sorted(set(names) - set(faults.REGISTRY))}"
    )


def test_rows_name_an_offender_and_a_root_among_their_failures() -> None:
    for exp in EXPECTATIONS:
        assert exp.fails, exp.fault
        assert exp.remedy, exp.fault
        assert any(f.split("@")[0] == exp.root for f in exp.fails), exp.fault


def test_a_batch_holds_no_two_faults_in_conflict() -> None:
    for batch in batches(EXPECTATIONS):
        for i, a in enumerate(batch):
            assert not any(conflict(a, b) for b in batch[i + 1 :]), [e.fault for e in batch]
    assert sum(len(b) for b in batches(EXPECTATIONS)) == len(EXPECTATIONS)


def test_faults_that_wait_share_the_first_batches() -> None:
    """A record going down or a process proven hung costs a minute: the faults that wait
    are batched first, so their waits overlap in a few batches instead of one each."""
    groups = batches(EXPECTATIONS)
    waiting = [any(waits(e) for e in b) for b in groups]
    assert waiting == sorted(waiting, reverse=True), waiting
    assert sum(waiting) <= 4, [[e.fault for e in b] for b in groups if any(map(waits, b))]
    for exp in EXPECTATIONS:  # a record is "binary@host" as the API names it
        assert all(r.count("@") >= 1 and r.split("@")[0] for r in exp.down), exp.fault


def test_conflicts() -> None:
    a = Expect("a", fails=("SVC-003@c1",), root="SVC-003", remedy=("x",), footprint=("c1",))
    b = Expect("b", fails=("SVC-003@c2",), root="SVC-003", remedy=("y",), footprint=("c2",))
    # root "SVC-003" without a host meets b's SVC-003@c2: not together
    assert conflict(a, b)
    c = Expect("c", fails=("NOVA-008@c2",), root="NOVA-008", remedy=("z",), footprint=("c2",))
    assert conflict(b, c)  # same host touched
    d = Expect("d", fails=("CONF-001",), root="CONF-001", remedy=("w",), may_fail=("SVC-003",))
    assert conflict(a, d)  # d's consequence could pass for a's failure
    s1 = Expect("s1", fails=("SVC-004@ctl",), root="SVC-004", remedy=("p",), shares=True)
    s2 = Expect("s2", fails=("SVC-004@ctl",), root="SVC-004", remedy=("q",), shares=True)
    assert not conflict(s1, s2)  # each is told apart by its remedy
    assert conflict(s1, Expect("s3", fails=("SVC-004@ctl",), root="SVC-004", remedy=("r",)))
    assert conflict(a, Expect("e", fails=("X-001",), root="X-001", remedy=("v",), alone=True))


def _outcome(**kw: object) -> Outcome:
    base: dict[str, object] = {"exit_code": 1, "summary": True}
    base.update(kw)
    return Outcome(**base)  # type: ignore[arg-type]


A = Expect(
    "a@compute1",
    fails=("SVC-003@compute1",),
    root="SVC-003",
    remedy=("compute1",),
    may_fail=("NOVA-002",),
    footprint=("compute1",),
)
B = Expect(
    "b@storage1",
    fails=("SWIFT-003@storage1",),
    root="SWIFT-003",
    remedy=("storage1",),
    footprint=("storage1",),
)


def _good(**kw: object) -> Outcome:
    fields: dict[str, object] = {
        "failed": {"SVC-003@compute1", "SWIFT-003@storage1"},
        "start_here": {"SVC-003"},
        "tiers": {"SVC-003": 1, "SWIFT-003": 4},
        "remediation": {"SVC-003": "on compute1", "SWIFT-003": "on storage1"},
    }
    fields.update(kw)
    return _outcome(**fields)


def test_a_strict_verdict_passes_a_run_that_said_exactly_the_right_thing() -> None:
    assert verdict([A, B], _good()) == {"a@compute1": [], "b@storage1": []}


def test_a_run_without_summary_or_with_a_usage_error_is_no_evidence() -> None:
    crashed = _outcome(summary=False, exit_code=4, output="ERROR: bad option\n")
    problems = verdict([A], crashed)["a@compute1"]
    assert any("no summary.json (exit 4): ERROR: bad option" in p for p in problems)
    assert any("exit status 4" in p for p in problems)
    assert _outcome(exit_code=3).unsound(healthy=False) == ["exit status 3, not 1 or 2"]
    assert _outcome(exit_code=0).unsound(healthy=True) == []
    assert _outcome(exit_code=0, summary=False).unsound(healthy=True)


def test_a_broken_check_is_never_the_expected_failure() -> None:
    outcome = _good(failed={"SWIFT-003@storage1"}, broken={"SVC-003@compute1"})
    problems = verdict([A, B], outcome)["a@compute1"]
    assert "SVC-003@compute1 did not fail" in problems
    assert any(p.startswith("bug in the check SVC-003@compute1") for p in problems)


def test_a_consequence_is_allowed_on_its_faults_hosts_only() -> None:
    here = _good(failed={"SVC-003@compute1", "SWIFT-003@storage1", "NOVA-002@compute1"})
    assert verdict([A, B], here)["a@compute1"] == []
    there = _good(failed={"SVC-003@compute1", "SWIFT-003@storage1", "NOVA-002@compute2"})
    assert any(
        "unrelated failures: NOVA-002@compute2" in p for p in verdict([A, B], there)["a@compute1"]
    )
    alone = Expect(
        "x",
        fails=("X-001",),
        root="X-001",
        remedy=("r",),
        may_fail=("NOVA-002",),
        footprint=("controller",),
        alone=True,
    )
    anywhere = _outcome(
        failed={"X-001@", "NOVA-002@compute2"},
        start_here={"X-001"},
        tiers={"X-001": 1},
        remediation={"X-001": "r"},
    )
    assert verdict([alone], anywhere) == {"x": []}


def test_could_not_run_is_excused_only_where_a_fault_blinds() -> None:
    blind = Expect(
        "b2@storage1",
        fails=("SWIFT-003@storage1",),
        root="SWIFT-003",
        remedy=("storage1",),
        footprint=("storage1",),
        blinds=True,
    )
    ok = _good(could_not_run={"SWIFT-006@storage1"})
    assert verdict([A, blind], ok)["a@compute1"] == []
    far = _good(could_not_run={"SWIFT-006@compute2"})
    assert any(
        "unrelated failures: SWIFT-006@compute2" in p
        for p in verdict([A, blind], far)["a@compute1"]
    )
    assert any("unrelated" in p for p in verdict([A, B], ok)["a@compute1"])  # nobody blinds
    # a consequence a fault allows may end could-not-run too (it reads through what broke)
    consequence = _good(could_not_run={"NOVA-002@compute1"})
    assert verdict([A, B], consequence)["a@compute1"] == []
    elsewhere = _good(could_not_run={"NOVA-002@compute2"})
    assert any("unrelated" in p for p in verdict([A, B], elsewhere)["a@compute1"])


def test_every_batch_starts_at_its_lowest_root() -> None:
    wrong = _good(start_here={"SWIFT-003"})
    assert "summary starts at ['SWIFT-003'], not SVC-003" in verdict([A, B], wrong)["a@compute1"]
    unrelated = _good(start_here={"SVC-003", "DB-001"})
    assert any("unrelated ['DB-001']" in p for p in verdict([A, B], unrelated)["b@storage1"])


def test_a_control_plane_faults_consequences_reach_every_host() -> None:
    api = Expect(
        "neutron-server-stopped",
        fails=("SVC-004@controller",),
        root="SVC-004",
        remedy=("controller",),
        may_fail=("NOVA-010",),
        footprint=("controller", "neutron-server"),
    )
    outcome = _outcome(
        failed={"SVC-004@controller"},
        could_not_run={"NOVA-010@compute1"},
        start_here={"SVC-004"},
        tiers={"SVC-004": 15},
        remediation={"SVC-004": "controller"},
    )
    assert verdict([api], outcome) == {"neutron-server-stopped": []}


def test_a_failure_rooted_in_another_service_must_be_blocked_by_that_root() -> None:
    row = Expect(
        "accounts-stopped",
        fails=("SVC-007@storage1",),
        blocked=("SWIFT-001",),
        root="SVC-007",
        remedy=("storage1",),
        footprint=("storage1",),
    )
    fields: dict[str, object] = {
        "failed": {"SVC-007@storage1"},
        "start_here": {"SVC-007"},
        "tiers": {"SVC-007": 2},
        "remediation": {"SVC-007": "on storage1"},
    }
    right = _outcome(
        **fields, blocked={"SWIFT-001@"}, blocked_by={"SWIFT-001@": "SVC-007 on storage1"}
    )
    assert verdict([row], right) == {"accounts-stopped": []}
    still_failed = _outcome(**{**fields, "failed": {"SVC-007@storage1", "SWIFT-001@"}})
    problems = verdict([row], still_failed)["accounts-stopped"]
    assert "SWIFT-001 was not blocked by its root" in problems
    wrong = _outcome(**fields, blocked={"SWIFT-001@"}, blocked_by={"SWIFT-001@": "SVC-008"})
    assert "SWIFT-001 blocked by ['SVC-008'], not by SVC-007" in verdict([row], wrong)[row.fault]
