"""The urgent fast path's latency when routing rules, teams and a fallback decide a lead's row.

    python benchmarks/fast_path/rules.py --reps 1000 [--leads 3000] [--repeats 2] [--out FILE]

A policy with routing rules (or accounts, a fallback, or team caps) makes the
urgent path compile the lead as a one-lead batch (`compile_problem`'s rule step,
`solver.online.single.routed_row`) instead of `LeadScorer`'s direct row, so
rules apply to urgent leads exactly as to batches. This measures what that
costs, beside `latency.py`'s figure for a policy without them (the scorer),
with the same stream and warm-up: two teams, three rules (an admission by
value, an exclusion by industry, a soft preference by segment) and a
no-rule-match fallback to a review queue.
"""

from __future__ import annotations

from datetime import UTC, datetime

from latency import main

from solver.domain.model import Policy

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def rules_policy(rep_ids: list[str]) -> Policy:
    half = len(rep_ids) // 2
    return Policy.model_validate({
        "teams": [{"id": "enterprise", "members": rep_ids[:half]},
                  {"id": "inside", "members": rep_ids[half:]}],
        "routing_rules": [
            {"name": "big to enterprise", "when": "value >= 30000",
             "then": {"admit": {"team": "enterprise"}}},
            {"name": "no finance for inside", "when": {"industry": "finance"},
             "then": {"exclude": {"team": "inside"}}},
            {"name": "MM to inside", "when": {"segment": "MM"}, "then": {"prefer": {"team": "inside"}},
             "weight": 0.2},
        ],
        "fallback": {"no_rule_match": {"queue": "review"}, "queues": ["review"]},
    })


if __name__ == "__main__":
    main(rules_policy, leads=3000, repeats=2)
