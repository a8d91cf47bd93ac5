"""The router's batch explanations (issue 12 item 11): linear in the batch, the same as one by one."""

from solver.bench.synthetic import make_instance
from solver.compile.problem import Problem, compile_problem
from solver.decode.explain import explain_lead
from solver.domain.model import Policy
from solver.online.explain import batch_explanations
from solver.policies import solve


def test_a_batch_is_explained_with_one_count_of_capacity_and_loads(monkeypatch):
    inst = make_instance(300, 20, tightness=1.2, seed=3)
    problem = compile_problem(inst.reps, inst.leads, Policy())
    solution = solve(problem, "flow")
    expected = {problem.lead_ids[i]: explain_lead(problem, solution.owner, i, alternatives=2)
                for i in range(problem.n)}
    calls = {"used_capacity": 0, "loads": 0}
    for name in calls:
        original = getattr(Problem, name)

        def counted(self, owner, name=name, original=original):
            calls[name] += 1
            return original(self, owner)

        monkeypatch.setattr(Problem, name, counted)
    out = batch_explanations(problem, solution, problem.n)
    assert calls == {"used_capacity": 1, "loads": 1}  # was once per lead: quadratic at 50,000 leads
    assert len(out) == problem.n
    for lead_id, explanation in out.items():
        assert {k: v for k, v in explanation.items() if k != "batch"} == expected[lead_id]



def test_the_fast_path_explains_its_runners_up_by_the_score_it_maximised():
    """Random rows: the runners-up come best score first (the score `choose_rep` maximised), and
    each one's reason is what kept it out: no room, a price above its worth, or a lower score."""
    import numpy as np

    from solver.online.explain import fast_explanation
    from solver.online.fastpath import FairnessTerms, LeadRow, choose_rep, fast_scores

    rng = np.random.default_rng(7)
    for _ in range(300):
        m = int(rng.integers(2, 9))
        eligible = rng.random(m) < 0.7
        value = rng.uniform(1, 100, m)
        row = LeadRow(eligible, value, np.where(eligible, value, 0.0), -1)
        prices = rng.uniform(0, 30, m)
        free = rng.integers(0, 3, m)
        terms = FairnessTerms(rng.integers(0, 5, m).astype(float), rng.uniform(0.5, 4, m), 1.0)
        ids = [f"R{k}" for k in range(m)]
        j = choose_rep(row, 1, free, prices, terms, defer=True)
        out = fast_explanation(row, j, ids, prices, free=free, terms=terms, defer=True, alternatives=m)
        score = fast_scores(row, prices, terms)
        others = [int(k) for k in np.flatnonzero(eligible) if k != j]
        expected = sorted(others, key=lambda k: (-score[k], k))
        assert [a["rep_id"] for a in out["alternatives"]] == [ids[k] for k in expected]
        assert (out["chosen"] is None) == (j < 0)
        for alt in out["alternatives"]:
            k = ids.index(alt["rep_id"])
            if free[k] < 1:
                assert alt["why_not"].startswith("at capacity")
            elif row.profit[k] < prices[k]:
                assert alt["why_not"].startswith("priced out")
            else:  # room and worth its price: the fast path chose a rep scoring at least as much
                assert j >= 0 and score[j] >= score[k] and alt["why_not"].startswith("lower score")
        short = fast_explanation(row, j, ids, prices, free=free, terms=terms, defer=True)
        assert short["alternatives"] == out["alternatives"][:2]


def test_the_fast_path_reason_is_its_code_s_one_text_for_any_rank_count_price_and_path():
    """`fast_reason` fills the code's text from numbered fields (faster than keywords): the same
    text, byte for byte, as `ReasonCode.FAST_PATH.reason` with keywords, and the same code."""
    import numpy as np

    from solver.decode.reasons import ReasonCode
    from solver.online.explain import FAST_PATH_LABEL, fast_reason
    from solver.online.fastpath import LeadRow

    rng = np.random.default_rng(3)
    for _ in range(300):
        m = int(rng.integers(1, 40))
        eligible = rng.random(m) < 0.6
        eligible[0] = True
        value = rng.random(m) * 10 ** rng.integers(0, 7)
        profit = np.where(eligible, value, 0.0)
        prices = rng.random(m) * 10 ** rng.integers(0, 7) * (rng.random() < 0.8)
        j = int(rng.choice(np.flatnonzero(eligible)))
        for path in (FAST_PATH_LABEL, "moved to"):
            reason = fast_reason(LeadRow(eligible, value, profit, -1), j, prices, path)
            rank = int(np.count_nonzero(profit > profit[j] + 1e-9)) + 1
            expected = ReasonCode.FAST_PATH.reason(path=path, rank=rank, eligible=int(eligible.sum()),
                                                   price=float(prices[j]))
            assert str(reason) == str(expected)
            assert reason.code is ReasonCode.FAST_PATH
