"""Speed to lead in the stores: each rep's untouched open leads (`RepLoads.untouched`) and its
pipeline intake over a period (`LeadStore.pipeline_value`), over every store (the `store` fixture)."""

import numpy as np
import pytest

from solver.online.store import RepLoads
from tests.online.test_store_contract import assigned, at, lead, unassigned

REPS = ["R1", "R2", "R3"]


def untouched(s) -> list[int]:
    return s.loads(REPS).untouched.tolist()


def decide(s, rep_by_lead: dict[int, str], minutes: float = 0) -> None:
    """Accept leads L<i> (value 100 + i) and assign each to its rep at `at(minutes)`."""
    for i in rep_by_lead:
        s.accept(lead(i, effort=2), at(minutes))
    s.decide([assigned(f"L{i}", rep) for i, rep in rep_by_lead.items()], at(minutes))


def test_untouched_follows_assign_touch_release_and_reassign(store):
    decide(store, {1: "R1", 2: "R1", 3: "R2", 4: "R1"})
    loads = store.loads(REPS)
    assert loads.count.tolist() == [3, 1, 0] and loads.untouched.tolist() == [3, 1, 0]
    assert loads.effort.tolist() == [6, 2, 0]

    assert store.touch("L1", at(1))
    assert not store.touch("L1", at(2))  # a second touch changes nothing
    assert untouched(store) == [2, 1, 0] and store.loads(REPS).count.tolist() == [3, 1, 0]

    assert store.release("L2", at(3))  # untouched and released: off the queue
    assert store.release("L1", at(3))  # touched and released: was off it already
    assert untouched(store) == [1, 1, 0] and store.loads(REPS).count.tolist() == [1, 1, 0]

    assert store.touch("L3", at(4))
    assert untouched(store) == [1, 0, 0]
    # a touched lead moved to another rep is untouched again (the new owner has not answered)
    assert store.reassign(assigned("L3", "R3"), "R2", at(5), None)
    assert untouched(store) == [1, 0, 1] and store.loads(REPS).count.tolist() == [1, 0, 1]
    # an untouched lead moved: off the old owner's queue, onto the new one's
    assert store.reassign(assigned("L4", "R2"), "R1", at(6), None)
    assert untouched(store) == [0, 1, 1]
    # every rep holding some (no alignment asked): the same numbers
    every = store.loads()
    assert dict(zip(every.rep_ids, every.untouched.tolist(), strict=True)) == {"R2": 1, "R3": 1}


def test_a_backlog_lead_placed_later_is_untouched(store):
    store.accept(lead(1), at(0))
    store.decide([unassigned("L1")], at(0))
    assert untouched(store) == [0, 0, 0]
    assert store.assign_waiting(assigned("L1", "R2"), at(5))
    assert untouched(store) == [0, 1, 0]


def test_untouched_rolls_back_with_the_transaction(store):
    decide(store, {1: "R1", 2: "R1", 3: "R2"})
    assert store.touch("L3", at(1))
    before = store.loads(REPS)
    counts = (before.count.tolist(), before.effort.tolist(), before.untouched.tolist())
    assert counts == ([2, 1, 0], [4, 2, 0], [2, 0, 0])
    with pytest.raises(RuntimeError), store.transaction():
        store.touch("L1", at(2))
        store.release("L2", at(2))
        store.reassign(assigned("L3", "R3"), "R2", at(2), None)
        decide(store, {4: "R3"}, minutes=2)
        assert untouched(store) == [0, 0, 2]
        raise RuntimeError("boom")
    after = store.loads(REPS)
    assert (after.count.tolist(), after.effort.tolist(), after.untouched.tolist()) == counts
    assert store.touch("L1", at(3))  # the rolled-back touch left it untouched
    assert untouched(store) == [1, 0, 0]


def test_without_takes_a_moved_lead_off_untouched_unless_it_was_touched():
    loads = RepLoads(["R1", "R2"], np.array([3, 1]), np.array([5, 1]), np.array([2, 1]))
    moved = loads.without(0, 2)  # the default: a stale lead, untouched by definition
    assert (moved.count.tolist(), moved.effort.tolist(), moved.untouched.tolist()) == ([2, 1], [3, 1], [1, 1])
    assert loads.without(0, 2, untouched=False).untouched.tolist() == [2, 1]
    assert loads.untouched.tolist() == [2, 1]  # a copy: the store's arrays are left alone


def test_pipeline_value_counts_the_period_intake_of_current_owners(store):
    decide(store, {1: "R1", 2: "R2"}, minutes=0)  # values 101, 102
    decide(store, {3: "R1", 4: "R1", 5: "R2"}, minutes=10)  # values 103, 104, 105
    assert store.pipeline_value(REPS, at(0)).tolist() == [308.0, 207.0, 0.0]
    assert store.pipeline_value(REPS, at(5)).tolist() == [207.0, 105.0, 0.0]
    assert store.pipeline_value(REPS, at(10)).tolist() == [207.0, 105.0, 0.0]  # at `since` counts
    assert store.pipeline_value(REPS, at(11)).tolist() == [0.0, 0.0, 0.0]

    assert store.release("L3", at(12))  # released: still the rep's intake of the period
    assert store.touch("L4", at(12))
    assert store.pipeline_value(REPS, at(5)).tolist() == [207.0, 105.0, 0.0]

    # moved: counted for its new owner only, from the move's time
    assert store.reassign(assigned("L1", "R3"), "R1", at(20), None)
    assert store.pipeline_value(REPS, at(0)).tolist() == [207.0, 207.0, 101.0]
    assert store.pipeline_value(REPS, at(15)).tolist() == [0.0, 0.0, 101.0]
    assert store.pipeline_value(["R3", "R9", "R1"], at(5)).tolist() == [101.0, 0.0, 207.0]  # aligned


def test_pipeline_value_leaves_out_leads_without_an_owner_and_rolled_back_ones(store):
    store.accept(lead(1), at(0))
    store.accept(lead(2), at(0))
    store.decide([unassigned("L1"), unassigned("L2")], at(0))
    assert store.close_waiting(unassigned("L2"), at(1))  # closed while waiting: no owner
    assert store.pipeline_value(REPS, at(0)).tolist() == [0.0, 0.0, 0.0]
    assert store.assign_waiting(assigned("L1", "R2"), at(30))  # from the backlog: decided at 30
    assert store.pipeline_value(REPS, at(20)).tolist() == [0.0, 101.0, 0.0]
    with pytest.raises(RuntimeError), store.transaction():
        decide(store, {3: "R1"}, minutes=40)
        store.reassign(assigned("L1", "R3"), "R2", at(40), None)
        raise RuntimeError("boom")
    assert store.pipeline_value(REPS, at(20)).tolist() == [0.0, 101.0, 0.0]


def test_pipeline_value_and_intake_hold_when_a_callers_clock_goes_back(store):
    """The memory store binary-searches its assignment log while it is in time order; a
    decision stamped earlier than the last one must not hide any entry."""
    decide(store, {1: "R1"}, minutes=10)  # value 101
    decide(store, {2: "R2"}, minutes=20)  # value 102
    decide(store, {3: "R1"}, minutes=5)  # value 103, stamped before the others
    assert store.pipeline_value(REPS, at(0)).tolist() == [204.0, 102.0, 0.0]
    assert store.pipeline_value(REPS, at(6)).tolist() == [101.0, 102.0, 0.0]
    assert sorted(rep for rep, _ in store.intake(at(0))) == ["R1", "R1", "R2"]
    assert [rep for rep, _ in store.intake(at(15))] == ["R2"]
