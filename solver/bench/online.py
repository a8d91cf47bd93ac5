r"""The online suite: random-order lead streams through the Router, against the offline optimum.

One cell is a synthetic instance and a seed. Its leads arrive in a random
order (seeded) and are routed by the production `Router`:

- `fast_path`: every lead urgent, decided on arrival by the dual-priced
  greedy fast path (prices re-learned on the router's own schedule);
- `batch_B`: normal leads, the buffer solved by the batch policy (flow) after
  every B arrivals, so the stream is cut into :math:`K = \lceil n / B \rceil`
  batches, each priced with the fast path's prices (a seat costs its price;
  a lead below every price waits).

Every mode is given the stream's length as its volume forecast (the
random-order model); the prices are learned from the leads seen, so the
first batch (or the first 16 urgent leads) is unpriced.

Each mode's total expected value is divided by the offline optimum (flow on
the whole stream at once). The theory it is printed next to (Feng and
Niazadeh, 2025, "Batching and optimal multi-stage bipartite allocations"):
one-by-one allocation cannot guarantee more than :math:`1 - 1/e` in the worst
case, and with K batches the best guarantee is :math:`1 - (1 - 1/K)^K`
(1/2 for K = 2, tending to 1 - 1/e). Those are worst-case bounds for
adversarial instances with large budgets; random-order streams of i.i.d.
leads are far kinder, so the measured ratios should sit well above them: the
table shows by how much.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from solver.bench.checks import check_assignment
from solver.bench.synthetic import InstanceSpec
from solver.compile import fairness
from solver.compile.problem import compile_problem
from solver.decode.result import Assignment
from solver.domain.model import DAY_S, Batch, Lead, Policy, Pricing, Rep
from solver.online.router import Router
from solver.policies import solve
from solver.sim.sweep import run_cells

FAST_PATH = "fast_path"
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # a Monday: no calendar effects (reps have no hours)


def batch_mode(size: int) -> str:
    return f"batch_{size}"


def theory(batches: int | None) -> float:
    """The worst-case guarantee: 1 - (1 - 1/K)^K for K batches, 1 - 1/e one by one (K = None)."""
    if batches is None:
        return 1 - 1 / math.e
    return 1 - (1 - 1 / batches) ** batches


def online_grid(quick: bool = False) -> list[InstanceSpec]:
    """Capacity must bind for order to matter: tight to just-enough teams of two sizes.

    No account owners: a kept lead may pass its owner's cap when it arrives
    late, which would let a stream place more than the offline optimum and blur
    the ratio this suite is about.
    """
    if quick:
        return [InstanceSpec(200, 20, tightness=0.7, owner_share=0.0)]
    return [InstanceSpec(1_000, 100, tightness=t, owner_share=0.0) for t in (0.6, 0.8, 1.0)] + [
        InstanceSpec(2_000, 200, tightness=0.8, owner_share=0.0)
    ]


def batch_sizes(quick: bool = False) -> tuple[int, ...]:
    return (1, 10, 100) if quick else (1, 10, 50, 250)


@dataclass(frozen=True)
class OnlineCell:
    spec: InstanceSpec
    seed: int
    batch_sizes: tuple[int, ...]


def run_online_cell(cell: OnlineCell) -> dict[str, list[dict[str, Any]]]:
    """Offline optimum, then the stream through the router once per mode; one row per mode."""
    instance = cell.spec.build(cell.seed)
    policy = instance.policy.model_copy(update={"solver": "flow", "seed": cell.seed, "workers": 1})
    order = np.random.default_rng(cell.seed).permutation(len(instance.leads))
    leads = [instance.leads[i] for i in order]
    problem = compile_problem(instance.reps, leads, policy)
    offline = solve(problem, "flow")
    opt_placed = int((offline.owner >= 0).sum())
    opt_value = problem.total_value(offline.owner)
    base = {"suite": "online", "instance": cell.spec.name, "seed": cell.seed, "n_leads": problem.n,
            "n_reps": problem.m, "ref_method": "offline_flow", "ref_placed": opt_placed,
            "ref_profit": opt_value}
    modes: list[tuple[str, int | None]] = [(FAST_PATH, None)]
    modes += [(batch_mode(b), b) for b in cell.batch_sizes]
    rows = []
    for mode, size in modes:
        owners, batches, elapsed = _stream(instance.reps, leads, policy, size)
        violations = check_assignment(instance.reps, leads, policy, owners, batches)
        rep_index = {rep_id: j for j, rep_id in enumerate(problem.rep_ids)}
        owner = np.array([rep_index[o] if o is not None else -1 for o in owners])
        n_batches = None if size is None else math.ceil(problem.n / size)
        rows.append(base | {
            "policy": mode,
            "batches": n_batches,
            "theory": theory(n_batches),
            "placed": int((owner >= 0).sum()),
            "expected_value": problem.total_value(owner),
            "profit": problem.total_profit(owner),
            "placed_ratio": int((owner >= 0).sum()) / opt_placed if opt_placed else 1.0,
            "value_ratio": problem.total_value(owner) / opt_value if opt_value else 1.0,
            **fairness.metrics(problem.loads(owner), problem.share),
            "violations": len(violations),
            "violation_example": violations[0] if violations else "",
            "status": "online",
            "time_s": elapsed / problem.n,  # per lead: the latency a caller sees on average
            "time_samples": [elapsed / problem.n],
            "throughput_leads_per_s": problem.n / elapsed if elapsed > 0 else None,
        })
    return {"rows": rows, "references": []}


def _stream(reps: list[Rep], leads: list[Lead], policy: Policy, batch_size: int | None
            ) -> tuple[list[str | None], list[list[int]], float]:
    """Owner per lead (stream order), the decisions (lead indices) in order, and the wall time.

    The stream goes through a fresh Router. `batch_size` None: the urgent fast
    path; else flush every `batch_size` arrivals.
    """
    # The random-order model: the stream's length is known (the prices' volume forecast).
    policy = policy.model_copy(update={"pricing": Pricing(horizon_leads=len(leads))})
    if batch_size is not None:
        # No time-based flushes: batches are cut by count only (leads arrive a second apart,
        # so the longest allowed wait, a day, never passes within a stream).
        policy = policy.model_copy(update={"batch": Batch(max_size=batch_size, max_wait_s=DAY_S)})
    router = Router(reps, policy)
    decided: dict[str, str | None] = {}
    decisions_in_order: list[list[str]] = []
    start = time.perf_counter()
    for k, lead in enumerate(leads):
        now = START + timedelta(seconds=k)
        decisions: list[Assignment | None]
        if batch_size is None:
            decisions = [router.submit(lead.model_copy(update={"urgent": True}), now)]
            decisions += router.tick(now)  # lets the router re-learn its prices on schedule
        else:
            router.submit(lead.model_copy(update={"urgent": False}), now)
            decisions = [*router.tick(now)]
        _record(decisions, decided, decisions_in_order)
    _record(router.flush(START + timedelta(seconds=len(leads))), decided, decisions_in_order)
    elapsed = time.perf_counter() - start
    index = {lead.id: i for i, lead in enumerate(leads)}
    batches = [[index[lead_id] for lead_id in batch] for batch in decisions_in_order]
    return [decided[lead.id] for lead in leads], batches, elapsed


def _record(decisions: Sequence[Assignment | None], decided: dict[str, str | None],
            in_order: list[list[str]]) -> None:
    """Append one decision round; a lead decided again (placed from the backlog) moves to it."""
    last = {a.lead_id: a.rep_id for a in decisions if a is not None}  # the later answer counts
    if last:
        again = last.keys() & decided.keys()
        if again:
            in_order[:] = [[x for x in batch if x not in again] for batch in in_order]
        decided.update(last)
        in_order.append(list(last))


def run_online(quick: bool, seeds: int, *, scheduler: str | None = None, workers: int | None = 1,
               progress: bool = True) -> dict[str, list[dict[str, Any]]]:
    cells = [OnlineCell(spec, seed, batch_sizes(quick))
             for spec in online_grid(quick) for seed in range(seeds)]
    results = run_cells(run_online_cell, cells, scheduler=scheduler, workers=workers, progress=progress)
    return {"rows": [row for res in results for row in res["rows"]], "references": []}


def theory_table(rows: list[dict[str, Any]]) -> str:
    """Markdown: per mode, the measured share of the offline optimum (median, min..max) and the theory."""
    lines = ["| mode | batches K | theory (worst case) | value / offline (median) | min | max |",
             "|---|---|---|---|---|---|"]
    modes = list(dict.fromkeys(r["policy"] for r in rows))
    for mode in modes:
        group = [r for r in rows if r["policy"] == mode]
        ratios = np.array([r["value_ratio"] for r in group])
        ks = sorted({r["batches"] for r in group if r["batches"] is not None})
        k_text = "one by one" if not ks else (str(ks[0]) if len(ks) == 1 else f"{ks[0]}..{ks[-1]}")
        theories = [r["theory"] for r in group]
        t_text = f"{min(theories):.3f}" if len(set(theories)) == 1 else \
            f"{min(theories):.3f}..{max(theories):.3f}"
        lines.append(f"| {mode} | {k_text} | {t_text} | {np.median(ratios):.4f} | {ratios.min():.4f} | "
                     f"{ratios.max():.4f} |")
    return "\n".join(lines)

