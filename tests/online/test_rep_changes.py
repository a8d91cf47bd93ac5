"""Rep changes from the console: checked at the edge, replayed over the reps file in order."""

import pytest

from solver.domain.errors import InputError
from solver.domain.model import Policy, Rep
from solver.online.rep_changes import apply_changes, check_change


def row(rep_id: str, **change: object) -> dict:
    return {"rep_id": rep_id, "change": change}


@pytest.mark.parametrize("change, field", [
    ({}, ""),  # nothing to change
    ({"colour": "red"}, "colour"),  # not a field
    ({"available": "no"}, "available"),  # not a boolean
    ({"capacity": -1}, "capacity"),  # below 0
    ({"capacity": None}, "capacity"),  # capacity cannot be lifted
    ({"capacity": True}, "capacity"),  # a boolean is no count
    ({"cap_per_day": 2.5}, "cap_per_day"),  # not whole
])
def test_bad_changes_name_the_field(change, field):
    with pytest.raises(InputError) as caught:
        check_change(change)
    assert (caught.value.field or "") == field


def test_changes_replay_in_order_over_the_file():
    reps = [Rep(id="A", capacity=5), Rep(id="B", capacity=5)]
    policy = Policy()
    out, after = apply_changes(reps, policy, [
        row("A", available=False), row("B", capacity=9), row("A", available=True), row("A", cap_per_day=3),
        row("GONE", available=False)])  # a rep the file no longer has: skipped
    assert [(r.id, r.available, r.capacity) for r in out] == [("A", True, 5), ("B", True, 9)]
    assert after.caps.for_rep("A").per_day == 3 and after.caps.for_rep("B").per_day is None
    _, lifted = apply_changes(reps, after, [row("A", cap_per_day=None)])
    assert lifted.caps.for_rep("A").per_day is None
    assert apply_changes(reps, policy, []) == (reps, policy)
