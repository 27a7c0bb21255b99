"""The fault matrix as data: every lab fault has its row, and batching never puts two
faults together whose effects could be mistaken for each other (no lab needed)."""

from __future__ import annotations

from lab import faults
from tests.matrix.expectations import EXPECTATIONS
from tests.matrix.harness import Expect, batches, conflict


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
