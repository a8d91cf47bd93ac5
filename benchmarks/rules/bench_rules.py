"""Time ten routing rules at 1,000 leads x 200 reps against today's compile and flow, in one run.

    python benchmarks/rules/bench_rules.py [--repeats 9] [--out benchmarks/rules/results.json]

The instance is `make_instance(1000, 200, seed=1)` (the flow benchmark's) with
extra lead columns (employees, country, language, domain, amount, probability)
and rep attributes (countries, languages, region, domains), seeded. Ten rules
cover every kind: a team admit, an exclusion, two lead-field matches (country,
language), a derived segment, numeric ranges, a not_in, presence, a soft
prefer and a ranked prefer.

Each repeat times, back to back so both see the same machine load:
  today:  compile_problem with the instance's policy, then flow;
  rules:  compile_problem with the same policy plus the ten rules and two teams
          (one capped: flow routes its members through a team node), the reps
          and leads carrying the extra columns as attributes, then flow.
Both compile the reps from the records each time (as `leadsolver assign` does).
Reported: the median of the paired ratios rules/today for the whole flow run
(the issue's 1.3x bound), compile alone, and the rules' share of the compile.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from solver.bench.synthetic import make_instance
from solver.compile.problem import compile_problem
from solver.domain.rules import load_rule_set
from solver.policies import solve

COUNTRIES = ["US", "DE", "FR", "UK", "JP", "BR"]
LANGUAGES = ["en", "de", "fr", "ja", "pt"]
RULES: dict[str, Any] = {
    "teams": [{"id": "public", "member_filter": {"rep_attribute": "region", "in": ["gov"]}},
              {"id": "enterprise", "member_filter": {"rep_attribute": "region", "in": ["ent"]},
               "capacity": 300}],
    "derived": {"size": {"from": "employees", "thresholds": [[200, "SMB"], [2000, "MM"]], "above": "ENT"}},
    "routing_rules": [
        {"name": "public sector to its team", "when": {"industry": ["healthcare", "Public Sector"]},
         "then": {"admit": {"team": "public"}}},
        {"name": "country match", "then": {"admit": {"rep_attribute": "countries", "lead_field": "country"}}},
        {"name": "language match", "when": {"language": {"present": True}},
         "then": {"admit": {"rep_attribute": "languages", "lead_field": "language"}}},
        {"name": "no finance for the juniors", "when": {"industry": "finance"},
         "then": {"exclude": {"rep_attribute": "seniority", "in": ["0"]}}},
        {"name": "enterprise to its team", "when": {"size": "ENT", "amount": {"ge": 20000}},
         "then": {"admit": {"team": "enterprise"}}, "mode": "soft", "weight": 0.3},
        {"name": "likely deals to seniors", "when": "probability >= 20",
         "then": {"prefer": {"rep_attribute": "seniority", "in": [2, 3]}}, "weight": 0.2},
        {"name": "domain experts first", "when": {"domain": {"not_in": ["other"]}},
         "then": {"prefer": {"ranked": [{"rep_attribute": "domains", "in": ["fintech"]},
                                        {"team": "enterprise"}]}}, "weight": 0.2},
        {"name": "mid-size band", "when": {"employees": {"between": [200, 2000], "inclusive": "left"}},
         "then": {"exclude": {"rep_attribute": "region", "in": ["ent"]}}, "mode": "soft", "weight": 0.1},
        {"name": "small deals off the seniors", "when": {"amount": {"lt": 1000}},
         "then": {"exclude": {"rep_attribute": "seniority", "in": ["3"]}}, "mode": "soft", "weight": 0.1},
        {"name": "retail in DE to R00007", "when": {"industry": "retail", "country": "DE"},
         "then": {"prefer": {"reps": ["R00007"]}}, "weight": 0.05},
    ],
}


def extra_columns(n: int, m: int, seed: int) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Seeded extra lead columns and rep attributes (lists `;`-separated, as in a CSV export)."""
    rng = np.random.default_rng(seed)
    leads = {
        "employees": [str(int(x)) for x in rng.lognormal(6, 1.5, n)],
        "country": list(rng.choice(COUNTRIES, n)),
        "language": [x if rng.random() < 0.8 else "" for x in rng.choice(LANGUAGES, n)],
        "domain": list(rng.choice(["fintech", "retail", "other"], n)),
        "amount": [f"{x:.2f}" for x in rng.lognormal(9, 1, n)],
        "probability": [str(int(x)) for x in rng.uniform(0, 60, n)],
    }
    reps = {
        "countries": [";".join(rng.choice(COUNTRIES, 3, replace=False)) if rng.random() < 0.8 else "*"
                      for _ in range(m)],
        "languages": [";".join(rng.choice(LANGUAGES, 2, replace=False)) for _ in range(m)],
        "region": list(rng.choice(["gov", "ent", "commercial", "commercial"], m)),
        "domains": ["fintech" if rng.random() < 0.2 else "" for _ in range(m)],
    }
    return leads, reps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("results.json"))
    args = parser.parse_args()

    inst = make_instance(1000, 200, tightness=0.9, density=0.3, seed=1)
    lead_extra, rep_extra = extra_columns(len(inst.leads), len(inst.reps), seed=1)
    rule_set = load_rule_set(RULES)

    def today() -> tuple[float, float]:
        start = time.perf_counter()
        problem = compile_problem(inst.reps, inst.leads, inst.policy)
        compiled = time.perf_counter()
        solve(problem, "flow")
        return compiled - start, time.perf_counter() - start

    reps = [r.model_copy(update={"attributes": {k: col[j] for k, col in rep_extra.items()}})
            for j, r in enumerate(inst.reps)]
    leads = [lead.model_copy(update={"attributes": {k: col[i] for k, col in lead_extra.items()}})
             for i, lead in enumerate(inst.leads)]
    ruled_policy = inst.policy.model_copy(update={
        "teams": rule_set.teams, "derived": rule_set.derived, "routing_rules": rule_set.routing_rules})

    def with_rules() -> tuple[float, float, float, int]:
        start = time.perf_counter()
        problem = compile_problem(reps, leads, ruled_policy)
        compiled = time.perf_counter()
        placed = int((solve(problem, "flow").owner >= 0).sum())
        done = time.perf_counter()
        # The rules' own share: the same compile without them, on the same records (untimed above).
        compile_problem(reps, leads, inst.policy)
        plain = time.perf_counter() - done
        return compiled - start, done - start, compiled - start - plain, placed

    with_rules()  # warm both paths (imports, OR-Tools) before timing
    today()
    runs = []
    for _ in range(args.repeats):
        base, ruled = today(), with_rules()
        runs.append((base, ruled))
    result = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "load_average_1min": os.getloadavg()[0],
        "command": f"python benchmarks/rules/bench_rules.py --repeats {args.repeats}",
        "instance": "make_instance(1000, 200, tightness=0.9, density=0.3, seed=1) + 10 rules",
        "today_compile_s_median": statistics.median(b[0] for b, _ in runs),
        "today_flow_s_median": statistics.median(b[1] for b, _ in runs),
        "rules_s_median": statistics.median(r[2] for _, r in runs),
        "rules_compile_s_median": statistics.median(r[0] for _, r in runs),
        "rules_flow_s_median": statistics.median(r[1] for _, r in runs),
        "flow_ratio_median_of_paired": statistics.median(r[1] / b[1] for b, r in runs),
        "compile_ratio_median_of_paired": statistics.median(r[0] / b[0] for b, r in runs),
        # The bound without the solve getting faster on the pruned arcs: (today + rules) / today.
        "flow_ratio_if_solve_unchanged": statistics.median(1 + r[2] / b[1] for b, r in runs),
        "leads_placed_today": int((solve(compile_problem(inst.reps, inst.leads, inst.policy),
                                         "flow").owner >= 0).sum()),
        "leads_placed_with_rules": runs[0][1][3],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(f"flow with ten rules / today's flow: {result['flow_ratio_median_of_paired']:.3f}x "
          f"(compile alone: {result['compile_ratio_median_of_paired']:.3f}x)")


if __name__ == "__main__":
    main()
