"""`leadsolver assign` (the ledger-less batch) names the cap that stopped a lead, as the router
does, and an explanation tells a tie from a lost one (both said "capacity" / "used this rep's room
elsewhere" while the rep had room)."""

from solver.decode.batch import assign
from solver.domain.model import Lead, Policy, Rep

REPS = [Rep(id="R1", capacity=5)]
LEADS = [Lead(id="X1", value=100.0), Lead(id="X2", value=200.0), Lead(id="X3", value=50.0)]


def test_a_lead_stopped_by_a_daily_cap_says_which_cap_in_its_reason_summary_and_explanation():
    policy = Policy.model_validate({"caps": {"default": {"per_day": 1}}})
    result = assign(REPS, LEADS, policy)
    placed = [a for a in result.assignments if a.rep_id]
    assert [a.lead_id for a in placed] == ["X2"]  # one lead a day, the most valuable
    for a in result.assignments:
        if a.rep_id is None:
            assert a.reason.startswith("cap: all 1 eligible reps reached a cap") and "per_day" in a.reason, a
            assert a.reason_code == "cap_reached"
    assert result.summary is not None and result.summary.counts.unassigned_by_reason == {"cap": 2}
    why_not = result.explain("X1").alternatives[0].why_not
    assert why_not == "cap: its per_day cap is reached (its room went to other leads of the batch)"


def test_an_explanations_headline_is_the_cap_its_reason_names():
    # the reason said "cap: ... (per_day)", the explanation's why "capacity: ... at capacity"
    # though the rep had room (capacity 5, one lead): only its per_day cap was reached
    policy = Policy.model_validate({"caps": {"default": {"per_day": 1}}})
    result = assign(REPS, LEADS, policy)
    for a in result.assignments:
        if a.rep_id is None:
            explained = result.explain(a.lead_id)
            assert explained.why == a.reason
            assert explained.why.startswith("cap: ") and "per_day" in explained.why


def test_without_caps_a_full_rep_is_still_at_capacity():
    result = assign([Rep(id="R1", capacity=1)], LEADS)
    assert {a.reason.split(":")[0] for a in result.assignments if a.rep_id is None} == {"capacity"}
    assert result.explain("X1").alternatives[0].why_not.startswith("at capacity")
    assert result.explain("X1").why == "capacity: all 1 eligible reps are at capacity"


def test_an_equally_good_rep_with_room_is_a_tie_not_a_lost_seat():
    twins = [Rep(id="R1", capacity=5), Rep(id="R2", capacity=5)]
    policy = Policy.model_validate({"fairness": {"weight": 0}, "speed": {"enabled": False}})
    result = assign(twins, [Lead(id="X1", value=900.0)], policy)
    (other,) = result.explain("X1").alternatives
    assert other.rep.free_capacity == 5
    assert other.why_not == "the same value as the rep chosen: a tie, either was optimal"
