"""Ideas for cheaper exact queue slots in flow, measured at 1,000 x 200 and rejected (issue 14).

    python benchmarks/speed/flow_ideas.py [--rounds 3]

On cost.py's instance (every rep takes 2-6 leads, 242,102 lead -> slot arcs) it prints:

1. potentials: node potentials (duals) of the optimal flow, which OR-Tools does not expose,
   by a vectorised Bellman-Ford over the residual graph (arcs sorted by head,
   `np.minimum.reduceat`): its rounds and time against the solve's;
2. column generation: a restricted network (each lead's q best reps by profit, all their
   slots; every pair's overflow arc at a prohibitive cost keeps the maximum flow) solved,
   and what is left to prove: overflow arcs in use, left-out arcs with a negative reduced
   cost under the restricted optimum's potentials;
3. Lagrangian slot prices: one arc per pair priced by the best slot after per-slot prices set
   from the optimum's own sorted worths (an oracle), and the rep's count priced back: the
   gap between this relaxation's optimum and the true worth of its answer (0 = a proof);
4. first depth: each rep modelled only as deep as 1 + the leads that rank it among their 3
   best, deepened when a tail overflows: re-solves and time against the default depth, on
   100, 300 and 1,000 leads.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
from ortools.graph.python import min_cost_flow

from solver.bench.synthetic import make_instance
from solver.compile.problem import Problem, compile_problem
from solver.policies import flow
from solver.policies.registry import counting, free_capacity, start_owner

Arcs = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # tail, head, capacity, cost


class _Recorder:
    """A SimpleMinCostFlow that keeps the arcs it is given (the solver does not give them back)."""

    def __init__(self) -> None:
        self.solver = min_cost_flow.SimpleMinCostFlow()
        self.parts: list[tuple[np.ndarray, ...]] = []

    def add_arcs_with_capacity_and_unit_cost(self, *arrays: np.ndarray) -> object:
        self.parts.append(tuple(np.asarray(a, np.int64) for a in arrays))
        return self.solver.add_arcs_with_capacity_and_unit_cost(*arrays)

    def arcs(self) -> Arcs:
        tail, head, cap, cost = (np.concatenate([p[k] for p in self.parts]) for k in range(4))
        return tail, head, cap, cost

    def __getattr__(self, name: str) -> object:
        return getattr(self.solver, name)


def full_network(problem: Problem) -> tuple[flow._Network, _Recorder]:
    original = flow.min_cost_flow
    flow.min_cost_flow = type("Recording", (), {"SimpleMinCostFlow": _Recorder})
    try:
        _, args = flow._batch(problem)
        assert args is not None
        network = flow._Network(*args)
    finally:
        flow.min_cost_flow = original
    assert isinstance(network.smcf, _Recorder)
    return network, network.smcf


def residual(arcs: Arcs, flows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    tail, head, cap, cost = arcs
    fwd, bwd = flows < cap, flows > 0
    return (np.concatenate([tail[fwd], head[bwd]]), np.concatenate([head[fwd], tail[bwd]]),
            np.concatenate([cost[fwd], -cost[bwd]]))


def bellman_ford(nodes: int, tail: np.ndarray, head: np.ndarray, cost: np.ndarray) -> tuple[np.ndarray, int]:
    """Shortest distances from a virtual root joined to every node at cost 0, and the rounds."""
    order = np.argsort(head, kind="stable")
    tail, head, cost = tail[order], head[order], cost[order]
    starts = np.flatnonzero(np.r_[True, head[1:] != head[:-1]])
    into = head[starts]
    dist = np.zeros(nodes, np.int64)
    for rounds in range(nodes + 1):
        best = np.minimum.reduceat(dist[tail] + cost, starts)
        better = best < dist[into]
        if not better.any():
            return dist, rounds
        dist[into[better]] = best[better]
    raise RuntimeError("negative cycle: the flow is not optimal")


def potentials(problem: Problem) -> None:
    network, rec = full_network(problem)
    start = time.perf_counter()
    rec.solver.solve_max_flow_with_min_cost()
    solve_s = time.perf_counter() - start
    arcs = rec.arcs()
    flows = rec.solver.flows(np.arange(arcs[0].size))
    start = time.perf_counter()
    _, rounds = bellman_ford(network.sink + 1, *residual(arcs, flows))
    print(f"1. potentials: Bellman-Ford {rounds} rounds, {1000 * (time.perf_counter() - start):.0f} ms "
          f"over {arcs[0].size:,} arcs; the solve itself {1000 * solve_s:.0f} ms")


def column_generation(problem: Problem, q: int) -> None:
    network, rec = full_network(problem)
    tail, head, cap, cost = rec.arcs()
    first, count = network.first_pair_arc, network.num_pair_arcs
    lead = tail[first:first + count] - network.lead_node0
    rep = np.repeat(network.pair_reps, network.slots[network.pair_reps])
    profit = problem.profit[network.free_leads[lead], rep]
    table = np.full((network.free_leads.size, problem.m), -np.inf)
    table[lead, rep] = profit
    threshold = -np.sort(-table, axis=1)[:, min(q, problem.m) - 1]
    keep = np.ones(tail.size, dtype=bool)
    keep[first:first + count] = profit >= threshold[lead]
    pairs = network.pair_rows, network.pair_reps
    over = (network.lead_node0 + pairs[0], network.rep_node0 + pairs[1], np.ones(pairs[0].size, np.int64),
            np.full(pairs[0].size, 4 * int(np.abs(cost).max()) + 1))
    kept = (tail, head, cap, cost)
    small: Arcs = tuple(np.concatenate([a[keep], b]) for a, b in zip(kept, over, strict=True))  # type: ignore[assignment]
    solver = min_cost_flow.SimpleMinCostFlow()
    solver.add_arcs_with_capacity_and_unit_cost(*small)
    n = network.free_leads.size
    solver.set_nodes_supplies(np.array([network.source, network.sink]), np.array([n, -n]))
    start = time.perf_counter()
    solver.solve_max_flow_with_min_cost()
    solve_s = time.perf_counter() - start
    flows = solver.flows(np.arange(small[0].size))
    dist, _ = bellman_ford(network.sink + 1, *residual(small, flows))
    reduced = cost + dist[tail] - dist[head]
    print(f"2. column generation, q={q}: {int(keep.sum()):,} arcs kept, solve {1000 * solve_s:.0f} ms; "
          f"{int((flows[-pairs[0].size:] > 0).sum())} overflow arcs in use, "
          f"{int((~keep & (reduced < 0)).sum()):,} left-out arcs priced below zero")


def lagrangian(problem: Problem) -> None:
    network, _ = full_network(problem)
    chosen_lead, chosen_rep = network.solve()
    owner, args = flow._batch(problem)
    assert args is not None
    free, room, m = network.free_leads, args[3], problem.m
    depth = network.depth
    width = int(depth.max())
    rows, reps = np.nonzero(problem.eligible[free] & (room > 0)[None, :])
    offset = np.bincount(owner[owner >= 0], minlength=m)
    places = np.arange(width)
    assert problem.speed is not None
    rho = problem.speed.ratio(np.repeat(np.arange(m), width), np.tile(places, m) + np.repeat(offset, width))
    rho = rho.reshape(m, width)
    valid = places[None, :] < depth[:, None]
    gross, profit = problem.gross_profit[free[rows], reps], problem.profit[free[rows], reps]
    place_profit = profit[:, None] + gross[:, None] * (rho[reps] - 1.0)
    place_cost = np.rint(-place_profit * network.scale).astype(np.int64)
    # thresholds: midway between consecutive worths of each rep's optimal leads (an oracle)
    worth = problem.gross_profit[chosen_lead, chosen_rep]
    order = np.lexsort((-worth, chosen_rep))
    sorted_worth = np.zeros((m, width + 1))
    sorted_worth[chosen_rep[order], counting(np.bincount(chosen_rep, minlength=m))] = worth[order]
    theta = (sorted_worth[:, :width] + sorted_worth[:, 1:]) / 2
    step = np.zeros((m, width))
    step[:, :-1] = np.where(valid[:, 1:], theta[:, :-1] * (rho[:, :-1] - rho[:, 1:]), 0.0)
    price = np.rint(np.cumsum(step[:, ::-1], axis=1)[:, ::-1] * network.scale).astype(np.int64)
    arc_cost = np.where(valid[reps], place_cost + price[reps], np.iinfo(np.int64).max // 4).min(axis=1)
    n = free.size
    solver = min_cost_flow.SimpleMinCostFlow()
    solver.add_arcs_with_capacity_and_unit_cost(np.zeros(n, np.int64), 1 + np.arange(n), np.ones(n, np.int64),
                                                np.zeros(n, np.int64))
    solver.add_arcs_with_capacity_and_unit_cost(1 + rows, 1 + n + reps, np.ones(rows.size, np.int64),
                                                arc_cost)
    unit_rep, unit = np.repeat(np.arange(m), depth), counting(depth)
    unit_cap = np.where(unit == depth[unit_rep] - 1, np.maximum(room[unit_rep] - (depth[unit_rep] - 1), 0), 1)
    solver.add_arcs_with_capacity_and_unit_cost(1 + n + unit_rep, np.full(unit_rep.size, 1 + n + m), unit_cap,
                                                -price[unit_rep, unit])
    solver.set_nodes_supplies(np.array([0, 1 + n + m]), np.array([n, -n]))
    solver.solve_max_flow_with_min_cost()
    used = np.flatnonzero(solver.flows(n + np.arange(rows.size)) > 0)
    order = np.lexsort((rows[used], -gross[used], reps[used]))
    place = counting(np.bincount(reps[used][order], minlength=m))
    true = int(place_cost[used[order], place].sum())
    bound = solver.optimal_cost()
    print(f"3. Lagrangian slot prices (oracle thresholds): relaxation {bound:,}, its answer's true cost "
          f"{true:,}, exact optimum {network.smcf.optimal_cost():,}: gap {(true - bound) / abs(true):.2%}")


def first_depth(problem: Problem, rounds: int) -> None:
    owner = start_owner(problem)
    free = np.flatnonzero((owner < 0) & problem.eligible.any(axis=1))
    room = np.maximum(free_capacity(problem, owner), 0)
    _, args = flow._batch(problem)
    assert args is not None and problem.speed is not None
    ok = problem.eligible[free] & (room > 0)[None, :]
    fillable = np.maximum(np.minimum(room, ok.sum(axis=0)), 1)

    def guess() -> np.ndarray:
        table = np.where(ok, problem.profit[free], -np.inf)
        best = np.argpartition(-table, 2, axis=1)[:, :3]
        counts = np.bincount(best[np.take_along_axis(ok, best, 1)], minlength=problem.m)
        return np.clip(1 + counts, 1, np.minimum(fillable, problem.speed.slots))  # type: ignore[union-attr]

    def run(depth: Callable[[], np.ndarray] | None) -> tuple[float, int]:
        start = time.perf_counter()
        network = flow._Network(*args, depth=None if depth is None else depth())
        network.solve()
        resolves = 0
        while network.overflow().any():
            overflow = network.overflow()
            deeper = np.where(overflow, np.minimum(2 * network.depth, network.fillable), network.depth)
            network = flow._Network(*args, depth=deeper)
            network.solve()
            resolves += 1
        return time.perf_counter() - start, resolves

    times: dict[str, list[float]] = {"default": [], "guess": []}
    resolves = {}
    for _ in range(rounds):
        for name, depth in (("default", None), ("guess", guess)):
            seconds, resolves[name] = run(depth)
            times[name].append(seconds)
    ratio = statistics.median(g / d for g, d in zip(times["guess"], times["default"], strict=True))
    print(f"4. first depth, {problem.n} leads: default {resolves['default']} re-solves, guess "
          f"{resolves['guess']} re-solves, time {ratio:.2f}x the default's")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    inst = make_instance(1000, 200, tightness=0.9, density=0.3, seed=1)
    problem = compile_problem(inst.reps, inst.leads, inst.policy)
    potentials(problem)
    for q in (5, 20):
        column_generation(problem, q)
    lagrangian(problem)
    for n in (100, 300, 1000):
        first_depth(compile_problem(inst.reps, inst.leads[:n], inst.policy), args.rounds)


if __name__ == "__main__":
    main()
