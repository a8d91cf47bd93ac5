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
