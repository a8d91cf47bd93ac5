"""Response and handling minutes learned from a ledger; the decay curve fitted to outcomes."""

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from solver.compile.speed import half_life_decay as decay
from solver.decode.reasons import ReasonCode
from solver.decode.result import Assignment
from solver.domain.io import load_reps, write_atomic
from solver.domain.model import Lead, Rep
from solver.domain.speed import Speed
from solver.online.memory_store import MemoryStore
from solver.sim.response_learn import (
    fit_decay,
    learn_response,
    outcome_times,
    reps_file_csv,
    touch_episodes,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
# rep id -> (true response minutes, true handling minutes)
TRUTH = {"R1": (5.0, 3.0), "R2": (20.0, 8.0), "R3": (60.0, 15.0), "R4": (10.0, 30.0)}


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=float(minutes))


def assigned(lead_id: str, rep_id: str) -> Assignment:
    return Assignment(lead_id, rep_id, "assigned", "test", 1.0, "flow", ReasonCode.PLACED_BY_RANK)


def simulate_ledger(store, truth=TRUTH, leads_per_rep=300, seed=7, outcomes=False):
    """Each rep works its untouched leads first in, first out: a lead finding the rep with nothing
    untouched is touched `response` x noise later; one finding others waiting, `handling` x noise
    after the rep's previous touch (noise lognormal, median 1). Returns the actions written."""
    rng = np.random.default_rng(seed)
    actions = []  # (minute, order, kind, lead id, rep id)
    for r, (rep_id, (response, handling)) in enumerate(sorted(truth.items())):
        arrivals = np.cumsum(rng.exponential(1.2 * (response + handling), leads_per_rep))
        last_touch = -math.inf
        for i, a in enumerate(arrivals):
            lead_id = f"{rep_id}-{i}"
            if last_touch <= a:
                touch = a + response * rng.lognormal(0, 0.5)
            else:
                touch = last_touch + handling * rng.lognormal(0, 0.5)
            last_touch = touch
            actions += [(a, r, "decide", lead_id, rep_id), (touch, r, "touch", lead_id, rep_id),
                        (touch + 30, r, "release", lead_id, rep_id)]
            if outcomes:
                won = rng.random() < 0.4 * decay(touch - a, 30.0, 0.2)
                actions.append((touch + 60, r, "won" if won else "lost", lead_id, rep_id))
    for minute, _, kind, lead_id, rep_id in sorted(actions):
        if kind == "decide":
            store.accept(Lead(id=lead_id, value=100.0), at(minute))
            store.decide([assigned(lead_id, rep_id)], at(minute))
        elif kind == "touch":
            store.touch(lead_id, at(minute))
        elif kind == "release":
            store.release(lead_id, at(minute))
        else:
            store.record_outcome(lead_id, at(minute), kind)
    return actions


def reps(*ids: str) -> list[Rep]:
    return [Rep(id=i, capacity=50) for i in ids]


def test_the_learner_recovers_each_reps_response_and_handling():
    store = MemoryStore()
    simulate_ledger(store)
    learned = learn_response(store, reps(*TRUTH), Speed())
    for rep_id, (response, handling) in TRUTH.items():
        got = learned.reps[rep_id]
        assert got.response_n > 30 and got.handling_n > 30
        # the raw medians within 15%, the shrunk ones (5 pseudo-observations) within 20%
        assert got.response_raw == pytest.approx(response, rel=0.15), rep_id
        assert got.handling_raw == pytest.approx(handling, rel=0.15), rep_id
        assert got.response_minutes == pytest.approx(response, rel=0.2), rep_id
        assert got.handling_minutes == pytest.approx(handling, rel=0.2), rep_id
    updated = learned.apply(reps(*TRUTH, "NEW"))
    assert updated[0].response_minutes == learned.reps["R1"].response_minutes
    assert (updated[-1].response_minutes, updated[-1].handling_minutes) == (
        learned.team_response_minutes, learned.team_handling_minutes)


def test_a_rep_with_one_observation_is_pulled_most_of_the_way_to_the_team():
    store = MemoryStore()
    simulate_ledger(store, {"R1": (10.0, 5.0), "R2": (12.0, 6.0)}, leads_per_rep=200)
    store.accept(Lead(id="solo", value=1.0), at(0))
    store.decide([assigned("solo", "SOLO")], at(0))
    store.touch("solo", at(600))  # ten hours: far from the team
    learned = learn_response(store, reps("R1", "R2", "SOLO"), Speed())
    solo, team = learned.reps["SOLO"], learned.team_response_minutes
    assert solo.response_n == 1 and solo.response_raw == 600.0
    pulled = (math.log1p(solo.response_raw) - math.log1p(solo.response_minutes)) / (
        math.log1p(solo.response_raw) - math.log1p(team))
    assert pulled == pytest.approx(5 / 6, abs=0.01)  # k = 5 pseudo-observations against one
    assert solo.handling_n == 0 and solo.handling_minutes == learned.team_handling_minutes


def test_an_empty_ledger_gives_the_policys_defaults():
    speed = Speed(response_minutes=7, handling_minutes=12)
    learned = learn_response(MemoryStore(), reps("A", "B"), speed)
    assert learned.touches == 0 and learned.ledger_reps == frozenset()
    assert (learned.team_response_minutes, learned.team_handling_minutes) == (7.0, 12.0)
    assert [(r.response_minutes, r.handling_minutes) for r in learned.apply(reps("A", "B"))] == [
        (7.0, 12.0), (7.0, 12.0)]
    assert learned.reps["A"].response_raw is None and learned.reps["A"].response_n == 0


def test_the_untouched_queue_follows_moves_releases_and_touches():
    store = MemoryStore()
    for i in range(5):
        store.accept(Lead(id=f"L{i}", value=1.0), at(0))
    store.decide([assigned("L0", "A")], at(0))
    store.decide([assigned("L1", "A")], at(1))  # one ahead (L0)
    store.release("L0", at(2))  # released untouched: censored, leaves A's queue
    store.decide([assigned("L2", "A")], at(3))  # one ahead (L1)
    store.reassign(assigned("L1", "B"), "A", at(4), None)  # L1 moves to B: A holds L2 only
    store.decide([assigned("L3", "A")], at(5))  # one ahead (L2)
    store.touch("L2", at(6))
    store.touch("L3", at(9))  # waiting since 5, before the touch at 6: a 3-minute handling gap
    store.touch("L1", at(10))  # B had nothing else: a 6-minute response
    store.decide([assigned("L4", "A")], at(20))
    store.touch("L4", at(22))  # A's queue was empty: a response, not a handling gap
    ep = touch_episodes(store.history())
    got = {(str(r), float(e)): (int(q), float(d), None if np.isnan(h) else float(h))
           for r, e, q, d, h in zip(ep.rep_id, ep.entered - T0.timestamp() / 60, ep.ahead, ep.delay,
                                    ep.handling, strict=True)}
    assert got == {("A", 3.0): (1, 3.0, None), ("A", 5.0): (1, 4.0, 3.0), ("B", 4.0): (0, 6.0, None),
                   ("A", 20.0): (0, 2.0, None)}
    assert ep.reps_seen == {"A", "B"}


def test_fit_decay_recovers_a_known_half_life():
    rng = np.random.default_rng(11)
    n = 20_000
    minutes = rng.lognormal(math.log(30), 1.5, n)
    won = rng.random(n) < 0.35 * decay(minutes, 45.0, 0.2)
    fit = fit_decay(minutes, won)
    assert fit.supported and fit.gain > 10
    assert fit.half_life_minutes == pytest.approx(45.0, rel=0.25)
    assert fit.floor == pytest.approx(0.2, abs=0.08)
    assert fit.base_rate == pytest.approx(0.35, rel=0.15)
    assert fit.speed(Speed()).half_life_minutes == fit.half_life_minutes


def test_fit_decay_with_scores_recovers_the_half_life():
    rng = np.random.default_rng(12)
    n = 20_000
    minutes, score = rng.lognormal(math.log(30), 1.5, n), rng.uniform(0.5, 1.5, n)
    won = rng.random(n) < 0.3 * score * decay(minutes, 20.0, 0.1)
    fit = fit_decay(minutes, won, score)
    assert fit.supported and fit.half_life_minutes == pytest.approx(20.0, rel=0.25)


def test_fit_decay_without_enough_outcomes_or_a_decay_keeps_the_policys_curve():
    few = fit_decay([1.0, 2.0, 3.0], [True, False, True])
    assert not few.supported and few.note.startswith("not enough outcomes")
    assert few.speed(Speed(half_life_minutes=12)) == Speed(half_life_minutes=12)
    rng = np.random.default_rng(3)
    flat = fit_decay(rng.lognormal(3, 1, 2000), rng.random(2000) < 0.3)  # speed does not matter
    assert not flat.supported and "do not show a decay" in flat.note


def test_outcomes_from_a_ledger_feed_the_fit():
    store = MemoryStore()
    simulate_ledger(store, leads_per_rep=600, outcomes=True)
    minutes, won = outcome_times(store.leads(), store.history())
    assert minutes.size == 4 * 600 and 0 < won.mean() < 0.5
    fit = fit_decay(minutes, won)
    assert fit.leads == minutes.size and fit.log_likelihood >= fit.flat_log_likelihood


@pytest.mark.filterwarnings("ignore:.*unknown columns")
def test_the_reps_file_round_trips_with_the_learned_minutes(tmp_path):
    rep = Rep(id="A", capacity=3, territories=("US", "CA"), skills={"saas": 1.2}, attributes={"lang": "en;fr"},
              response_minutes=4.5, handling_minutes=9.0)
    path = tmp_path / "reps.csv"
    write_atomic(path, reps_file_csv([rep, Rep(id="B", capacity=1, attributes={"lang": ""})]))
    back = load_reps(path)
    assert back[0] == rep and back[1].response_minutes is None


def test_a_night_between_assignment_and_touch_is_not_learned_as_slowness():
    """Given at 16:50 to a rep working 09:00-17:00 (UTC) and touched at 09:05 the next morning:
    15 working minutes, not 16 hours (the router adds the wait for the shift itself)."""
    store = MemoryStore()
    day = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday
    for i, (given, touched) in enumerate([((16, 50), (9, 5)), ((10, 0), (10, 15))]):
        lead_id = f"L{i}"
        store.accept(Lead(id=lead_id, value=100.0), day + timedelta(hours=given[0], minutes=given[1]))
        store.decide([assigned(lead_id, "R1")], day + timedelta(hours=given[0], minutes=given[1]))
        store.touch(lead_id, day + timedelta(days=1 - i, hours=touched[0], minutes=touched[1]))
        day += timedelta(days=2)
    office = [Rep(id="R1", capacity=50, working_hours="09:00-17:00")]
    learned = learn_response(store, office, prior_observations=1e-9)
    assert learned.reps["R1"].response_raw == pytest.approx(15.0, abs=0.01)
    always = learn_response(store, reps("R1"), prior_observations=1e-9)  # no hours: wall-clock
    assert always.reps["R1"].response_raw > 60


def test_scores_keep_better_leads_quicker_touch_from_passing_for_speed():
    """The router sends better leads to faster reps: with no decay at all, a fit without scores
    finds a steep one; with the scores, the half-life is far longer (no decay to speak of)."""
    rng = np.random.default_rng(3)
    score = rng.uniform(0.2, 1.0, 5000)
    minutes = 60 * (1.2 - score) * rng.lognormal(0, 0.3, 5000)
    won = rng.random(5000) < 0.5 * score  # speed does not matter
    blind = fit_decay(minutes, won)
    fair = fit_decay(minutes, won, score)
    assert blind.supported and blind.half_life_minutes < 30
    assert fair.half_life_minutes > 5 * blind.half_life_minutes
    assert fair.gain < blind.gain / 20
