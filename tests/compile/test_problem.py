"""Compiling records into arrays: each rule alone, the expected value, fairness math."""

from __future__ import annotations

import numpy as np
import pytest

from solver.compile import fairness
from solver.compile.problem import compile_problem
from solver.domain.model import Lead, Policy, Rep


@pytest.mark.parametrize(
    ("rep", "lead", "eligible"),
    [
        (Rep(id="r", capacity=1), Lead(id="l", value=1), True),  # no restriction at all
        (Rep(id="r", capacity=1, territories=("EU",)), Lead(id="l", value=1, territory="EU"), True),
        (Rep(id="r", capacity=1, territories=("EU",)), Lead(id="l", value=1, territory="US"), False),
        (Rep(id="r", capacity=1, territories=("*",)), Lead(id="l", value=1, territory="US"), True),  # * = any
        (Rep(id="r", capacity=1, territories=("EU",)), Lead(id="l", value=1), False),  # empty lead field
        (Rep(id="r", capacity=1), Lead(id="l", value=1, territory="US"), True),  # empty rep list
        (Rep(id="r", capacity=1, segments=("SMB",)), Lead(id="l", value=1, segment="ENT"), False),
        (Rep(id="r", capacity=1, segments=("SMB", "ENT")), Lead(id="l", value=1, segment="ENT"), True),
        (Rep(id="r", capacity=1, available=False), Lead(id="l", value=1), False),  # unavailable
        # industry and product are off by default: a mismatch does not block
        (Rep(id="r", capacity=1, industries=("fin",)), Lead(id="l", value=1, industry="retail"), True),
    ],
)
def test_each_rule_alone(rep: Rep, lead: Lead, eligible: bool) -> None:
    problem = compile_problem([rep], [lead], Policy())
    assert bool(problem.eligible[0, 0]) is eligible


# Speed to lead off: these tests check the static match score (speed has its own tests).
NO_SPEED = {"enabled": False}

def test_hard_industry_and_product_rules() -> None:
    rep = Rep(id="r", capacity=1, industries=("fin",), products=("core",))
    policy = Policy(rules={"industry": "hard", "product": "hard"})
    ok = Lead(id="a", value=1, industry="fin", product="core")
    wrong_product = Lead(id="b", value=1, industry="fin", product="edge")
    problem = compile_problem([rep], [ok, wrong_product], policy)
    assert problem.eligible[:, 0].tolist() == [True, False]


def test_soft_rule_discounts_profit_per_broken_rule() -> None:
    rep = Rep(id="r", capacity=1, territories=("EU",), segments=("SMB",))
    lead = Lead(id="l", value=100, territory="US", segment="ENT")
    policy = Policy(rules={"territory": "soft", "segment": "soft"}, soft_penalty=0.25, speed=NO_SPEED)
    problem = compile_problem([rep], [lead], policy)
    assert problem.eligible[0, 0]
    assert problem.profit[0, 0] == pytest.approx(100 * 0.75 * 0.75)
    assert problem.value[0, 0] == pytest.approx(100)


def test_expected_value_is_value_score_and_both_skills() -> None:
    rep = Rep(id="r", capacity=1, skills={"fin": 1.5, "core": 0.8})
    leads = [Lead(id="a", value=200, score=0.5, industry="fin", product="core"),
             Lead(id="b", value=200, score=0.5, industry="retail", product="")]
    problem = compile_problem([rep], leads, Policy(speed=NO_SPEED))
    np.testing.assert_allclose(problem.value[:, 0], [200 * 0.5 * 1.5 * 0.8, 100.0])


def test_owner_rule_modes() -> None:
    reps = [Rep(id="a", capacity=1), Rep(id="b", capacity=1)]
    lead = Lead(id="l", value=100, owner_id="b")
    hard = compile_problem(reps, [lead], Policy())
    assert hard.forced.tolist() == [1]
    soft = compile_problem(reps, [lead], Policy(rules={"account_owner": "soft"}, soft_penalty=0.5,
                                                speed=NO_SPEED))
    assert soft.forced.tolist() == [-1]
    np.testing.assert_allclose(soft.profit[0], [50.0, 100.0])
    off = compile_problem(reps, [lead], Policy(rules={"account_owner": "off"}))
    assert off.forced.tolist() == [-1] and off.penalty_factor is None


def test_capacity_is_what_is_left_and_never_negative() -> None:
    reps = [Rep(id="a", capacity=5, open_leads=2), Rep(id="b", capacity=1, open_leads=3)]
    problem = compile_problem(reps, [Lead(id="l", value=1)], Policy())
    assert problem.capacity.tolist() == [3, 0]


def test_shares_follow_quota_weight_over_available_reps() -> None:
    reps = [Rep(id="a", capacity=1, quota_weight=1), Rep(id="b", capacity=1, quota_weight=3),
            Rep(id="c", capacity=1, quota_weight=4, available=False)]
    problem = compile_problem(reps, [Lead(id="l", value=1)], Policy())
    np.testing.assert_allclose(problem.share, [0.25, 0.75, 0.0])


def test_account_groups_join_parent_and_subsidiaries() -> None:
    leads = [Lead(id="1", value=1, account_id="P"), Lead(id="2", value=1, account_id="S", parent_account_id="P"),
             Lead(id="3", value=1, account_id="X"), Lead(id="4", value=1)]
    problem = compile_problem([Rep(id="r", capacity=9)], leads, Policy(rules={"account_grouping": True}))
    group = problem.group.tolist()
    assert group[0] == group[1] != group[2]
    assert group[3] == -1


# --- fairness math, hand-computed ----------------------------------------------------


def test_jain_gini_max_deviation_by_hand() -> None:
    share = np.array([0.5, 0.25, 0.25])
    fair = np.array([10.0, 5.0, 5.0])
    assert fairness.jain_index(fair, share) == pytest.approx(1.0)
    assert fairness.gini(fair, share) == pytest.approx(0.0)
    assert fairness.max_deviation(fair, share) == pytest.approx(0.0)
    skewed = np.array([20.0, 0.0, 0.0])  # x = load/share = [40, 0, 0]
    assert fairness.jain_index(skewed, share) == pytest.approx(1 / 3)
    assert fairness.gini(skewed, share) == pytest.approx(2 / 3)
    assert fairness.max_deviation(skewed, share) == pytest.approx(0.5)


def test_penalty_and_marginal_cost_agree() -> None:
    load = np.array([3.0, 1.0])
    target = np.array([2.0, 2.0])
    before = fairness.penalty(load, target, 2.0, 10.0)
    assert before == pytest.approx(2 * 10 * (1 / 2 + 1 / 2))
    step = fairness.marginal_cost(load, target, 1.0, 2.0, 10.0)
    for j in range(2):
        after = load.copy()
        after[j] += 1
        assert step[j] == pytest.approx(fairness.penalty(after, target, 2.0, 10.0) - before)
