r"""Min-cost flow (OR-Tools): the exact batch engine for unit effort.

The network, with node blocks laid out explicitly (no magic numbers)::

    source --(cap 1, cost 0)--> lead i --(cap 1, cost -profit[i,j])--> rep j --> sink

Rep -> sink carries the fairness cost. With fairness weight 0 it is one arc
with the rep's free capacity and cost 0. Otherwise the convex penalty of
`solver.compile.fairness` becomes one unit arc per possible lead, the k-th costing
the marginal penalty of the rep's k-th lead; costs rise with k, so min-cost
flow fills them in order and the piecewise-linear cost is exact.

Capped teams: a rep of a capped team sends its flow to the team's node
instead of the sink, and team -> sink carries the team's room, so "pick a
team, then a member" is one network. That needs each rep in at most one
capped team (`TeamTable.disjoint_capped`). With overlapping caps the network
routes each rep through its first capped team, and its answer is trimmed to
the others' caps (lowest profit out first); when that takes leads out, CP-SAT,
which holds every cap, solves the batch from that answer, and the better of
the two is kept (caps that do not bind cost nothing).

Speed to lead (`Problem.queues`): a rep's k-th lead of the batch waits behind the k-1
before it, so lead -> rep becomes lead -> slot -> rep, one slot node per queue place of
distinct worth (places of equal worth share one: a rep that does not queue, a decay
table's flat stretches) and one arc per (pair, slot); see `_Network`. The network grows
with the places modelled (at 1,000 x 200, every rep taking 2-6 leads: 242,102 arcs against
61,392 without), and OR-Tools' time follows the arcs. A rep modelled less deep than it can
fill gets a tail priced by a bound; `solve_flow` deepens the reps whose last slot took more
leads than it has places until none does (a certificate: exact then), within an arc
budget. `all_places` is the network with every place explicit, the reference the tests
hold it to.

`SolveMaxFlowWithMinCost` gives the lexicographic objective without a big-M:
among all maximum flows (as many leads placed as the rules and capacity
allow), the cheapest one.

Numeric trap: the solver needs integer costs and internally multiplies them by
about the number of nodes. Money is therefore scaled so that the largest
|arc cost| is `COST_RESOLUTION`, or more where a lead's own best profit would
get fewer than `LEAD_RESOLUTION` units (a 1e14 lead beside 1e3 leads), up to
what int64 allows (`COST_LIMIT`); if even that is too coarse the answer is
`feasible`, not `optimal`, with stats["inexact"] saying why.
"""

from __future__ import annotations

import numpy as np
from ortools.graph.python import min_cost_flow

from solver.compile import fairness
from solver.compile.problem import Problem
from solver.policies.registry import (
    QueueSlots,
    Solution,
    Status,
    counting,
    depth_within_budget,
    free_capacity,
    register,
    solve,
    start_owner,
)

COST_RESOLUTION = 2.0**36  # largest |arc cost| after scaling, when nothing asks for more
# Every lead's best |profit| spans at least this many cost units: one lead worth 1e14 must not
# round the 1e3 leads beside it to the same cost (they were then placed at random, "optimal").
LEAD_RESOLUTION = 1e6
# |arc cost| x (nodes + 1) must stay below this. The solver multiplies costs by the node
# count and refuses (BAD_COST_RANGE) near 2**62; measured: a 4-node network took at most
# 2**59.2, so 2**60 leaves a margin for the rounding up to the scaled largest cost.
COST_LIMIT = 2.0**60
# Position slots (speed to lead): the lead -> slot arcs of a solve stay within this budget
# (`slot_arc_budget`; ~40 bytes an arc, a million solve in about a second).
SLOT_ARCS_PER_PAIR = 8
SLOT_ARC_FLOOR = 200_000
SLOT_ARC_LIMIT = 1_000_000


class FlowError(RuntimeError):
    """The min-cost flow solver rejected the network (it should not happen on valid input)."""


@register("flow", unit_effort_only=True, groups_accounts=False, priced=True, exact_tolerance=1e-9,
          models_queues=True)
def solve_flow(problem: Problem) -> Solution:
    """Exact for unit effort and count fairness; see the module docstring."""
    if not problem.unit_effort:
        raise ValueError("the flow policy needs unit effort; use the cpsat policy for effort > 1")
    answer = network_solution(problem)
    if not answer.stats.get("trimmed"):
        return answer
    # A rep in two capped teams counts its leads against both: no network holds that, and the
    # answer trimmed to the second cap may leave out leads that fit (3 of 4 where all 4 did). Only
    # then (caps that do not bind cost nothing) CP-SAT, which holds every cap, starting from the
    # network's answer; the better of the two by the batch's order (most leads placed, then worth:
    # CP-SAT cut short by its time limit may be worth less).
    exact = solve(problem, "cpsat")
    if _placed_then_worth(problem, exact) > _placed_then_worth(problem, answer):
        exact.stats = {**exact.stats, "delegated": "cpsat: a rep in two capped teams"}
        return exact
    return answer


def _placed_then_worth(problem: Problem, solution: Solution) -> tuple[int, float]:
    return int((solution.owner >= 0).sum()), problem.objective(solution.owner)


def network_solution(problem: Problem) -> Solution:
    """The min-cost flow answer itself, trimmed to the caps of any second capped team a rep is in
    (stats["trimmed"]: how many leads that took out; `solve_flow` then asks CP-SAT, which starts
    from this answer)."""
    owner, args = _batch(problem)
    if args is None:
        return Solution(owner=owner, status=Status.OPTIMAL)
    network = _Network(*args)
    chosen_lead, chosen_rep = network.solve()
    resolved, cut_short = 0, network.budget_cut  # cut before any proof was in reach
    budget = slot_arc_budget(network.rows)
    while problem.queues and not cut_short:
        overflow = network.overflow()
        if not overflow.any():
            break
        # Deeper queues than modelled: those reps modelled at least twice as deep and one place
        # past the leads they took, up to what they can fill (only a rep with a tail overflows, and
        # it is modelled less deep than it can fill, so each step deepens it and this ends; one
        # round in practice: doubling alone took 2-4 where
        # reps take tens of leads), within the arc budget, or else only doubled if that fits
        # (past the budget the answer is feasible, not proven).
        held = network.depth - network.last_slot_places + network.last_slot_load()
        doubled = np.minimum(2 * network.depth, network.fillable)
        deeper = network.depth
        cut_short = True  # unless a step fits the budget: no proof, the closest answer at this depth
        for wanted in (np.maximum(doubled, np.minimum(held + 1, network.fillable)), doubled):
            step = np.where(overflow, wanted, network.depth)
            # arcs: at most one a place for the deepened reps, one a slot for the others as they are
            if int((np.where(overflow, step, network.slots) * network.pairs_per_rep).sum()) <= budget:
                deeper, cut_short = step, False
                break
        network = _Network(*args, depth=deeper, tail_mean=cut_short)
        chosen_lead, chosen_rep = network.solve()
        resolved += 1
        if cut_short:
            break
    owner[chosen_lead] = chosen_rep
    trimmed = _trim_to_team_caps(problem, owner)
    objective = problem.objective(owner)
    # Count loads make the fairness cost exact; value loads are approximated by
    # counting each lead as the mean lead load (arc costs cannot depend on the lead).
    exact = (problem.options.fairness_weight == 0 or problem.options.fairness_measure == "count")
    stats: dict[str, float | int | str] = {"arcs": network.num_arcs, "cost_scale": network.scale}
    if problem.queues:
        stats["slots"] = int(network.depth.sum())
        stats["slot_resolves"] = resolved
    if not network.exact:
        stats["inexact"] = "costs rounded coarser than LEAD_RESOLUTION per lead (int64 bound)"
    exact = exact and network.exact and not trimmed and not cut_short
    if trimmed:
        stats["inexact"] = f"overlapping team caps: {trimmed} leads taken out to honour them"
        stats["trimmed"] = trimmed
    if cut_short:
        stats["inexact"] = ("queues deeper than the modelled slots, their places priced at a mean "
                            "lead's worth (slot arc budget reached)")
    return Solution(
        owner=owner,
        status=Status.OPTIMAL if exact else Status.FEASIBLE,
        objective=objective,
        bound=objective if exact else None,
        stats=stats,
    )


# What a network is built of: the problem, the free leads, loads, room, capped teams' room, owners.
_Batch = tuple[Problem, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _batch(problem: Problem) -> tuple[np.ndarray, _Batch | None]:
    """The owner rule's answer and the network's arguments for the rest (None: nothing to route)."""
    owner = start_owner(problem)
    free_leads = np.flatnonzero((owner < 0) & problem.eligible.any(axis=1))
    room = np.maximum(free_capacity(problem, owner), 0)
    if free_leads.size == 0 or not room.any():
        return owner, None
    team_room = np.maximum(problem.team_free(owner), 0)
    return owner, (problem, free_leads, problem.loads(owner), room, team_room, owner)


def all_places(problem: Problem) -> np.ndarray:
    """Owner vector of the slot network with every queue place explicit: each rep modelled as
    deep as it can fill, so no tail, no deepening and no arc budget (nor speed's `slots`).

    The reference the deepening of `solve_flow` must reach (tests); memory grows with pairs x
    room, so it is not a policy.
    """
    owner, args = _batch(problem)
    if args is None:
        return owner
    free_leads, room = args[1], args[3]
    pairs = np.count_nonzero(problem.eligible[free_leads] & (room > 0)[None, :], axis=0)
    chosen_lead, chosen_rep = _Network(*args, depth=np.maximum(np.minimum(room, pairs), 1)).solve()
    owner[chosen_lead] = chosen_rep
    _trim_to_team_caps(problem, owner)
    return owner


class _Network:
    """The flow network of one batch; node ids are offsets into named blocks.

    With position slots (`Problem.queues`), rep j's queue places k = 0..depth_j-1 are modelled:
    a lead at place k earns its profit at queue position offset_j + k (offset_j: the leads the
    owner rule already gives j, first in its queue). Places whose ratio is the same (a rep
    that does not queue, a decay table's flat stretches) are interchangeable and share one slot
    node with a capacity of that many leads; otherwise each slot is one place. Lead i reaches
    rep j through one arc per slot of j. When a rep could fill more places than are modelled,
    its last slot takes the rest of its room through a tail of unit arcs, the u-th costing what
    the u-th place past the last one loses for the rep's least valuable eligible lead: no lead
    loses less there, so the network is a relaxation, exact when no last slot takes more leads
    than it has places (`overflow`).
    With `tail_mean` the tail is priced at the rep's mean lead instead: no longer a bound, but
    closer, for the answer the arc budget leaves when it stops the deepening.
    """

    def __init__(
        self, problem: Problem, free_leads: np.ndarray, load: np.ndarray, room: np.ndarray,
        team_room: np.ndarray, owner: np.ndarray, depth: np.ndarray | None = None,
        tail_mean: bool | None = None,
    ) -> None:
        self.free_leads = free_leads
        n_free, m = free_leads.size, problem.m
        teams = problem.capped_teams
        rows, reps = np.nonzero(problem.eligible[free_leads] & (room > 0)[None, :])
        self.rows = rows.size
        self.budget_cut = False
        self.pairs_per_rep = np.bincount(reps, minlength=m)
        # The most slots a rep can fill: its room, or the leads that may go to it.
        self.fillable = np.maximum(np.minimum(room, self.pairs_per_rep), 1)
        offset = np.bincount(owner[owner >= 0], minlength=m)  # the owner rule's leads come first
        # Queue depth modelled per rep: 1 = every lead earns the first slot's worth.
        wanted = None
        if depth is None:
            depth = np.ones(m, dtype=np.int64)
            if problem.queues:
                assert problem.speed is not None
                wanted = np.minimum(self.fillable, max(problem.speed.slots, 1))
                depth = depth_within_budget(wanted, self.pairs_per_rep, slot_arc_budget(rows.size))
        laid = depth  # places laid out one by one below
        if problem.queues:
            # A rep whose worth is flat from its last laid-out place to the last it can fill has
            # all of them in its last slot at their exact worth: no tail, and no arc more.
            assert problem.speed is not None
            every = np.arange(m)
            flat = (problem.speed.ratio(every, offset + depth - 1)
                    == problem.speed.ratio(every, offset + self.fillable - 1))
            depth = np.where(flat, np.maximum(depth, self.fillable), depth)
        self.budget_cut = wanted is not None and bool((depth < wanted).any())
        self.depth = depth
        # None: the tail at the mean lead's worth when the budget already cut the depth (no
        # proof to be had by deepening), else at the least one's (a bound).
        tail_mean = self.budget_cut if tail_mean is None else tail_mean
        # Queue places 0..laid-1 of each rep and what each keeps of a lead's worth. Places of equal
        # ratio are interchangeable, so they share one slot node taking as many leads (a rep that
        # does not queue, a decay table's flat end): one arc per pair for all of them.
        layout = QueueSlots.of(problem, offset, laid, np.ones(m, dtype=bool))
        slot_rep, slot_ratio, slot_places = layout.rep, layout.ratio, layout.room.copy()
        slots, slot_start = layout.slots, layout.start  # slot nodes per rep (>= 1: depth >= 1)
        self.slots = slots
        last = slot_start + slots - 1  # each rep's last slot
        slot_places[last] += depth - laid  # a flat end's further places
        # Node blocks: [source][leads 0..n_free-1][slots][reps 0..m-1][capped teams][sink].
        self.source = 0
        self.lead_node0 = 1
        self.slot_node0 = self.lead_node0 + n_free
        self.rep_node0 = self.slot_node0 + slot_rep.size
        self.team_node0 = self.rep_node0 + m
        self.sink = self.team_node0 + teams.shape[0]
        # Where a rep's flow goes: its (first) capped team's node, else the sink.
        in_team = teams.any(axis=0)
        first_team = np.argmax(teams, axis=0) if teams.shape[0] else np.zeros(m, dtype=np.int64)
        rep_exit = np.where(in_team, self.team_node0 + first_team, self.sink)

        # One arc per (lead, rep, slot): pairs repeated once per slot of their rep, the arcs of a
        # pair side by side. Prices are read per pair and ratios per slot, then laid out per arc:
        # the arcs outnumber both (242,102 arcs of 61,392 pairs and 800 slots at 1,000 x 200).
        per_pair = slots[reps]
        pair_arc0 = np.cumsum(per_pair) - per_pair  # each pair's first arc
        arc_row = np.repeat(rows, per_pair)
        # the slot node of each arc: its rep's first slot plus its place among the pair's arcs
        arc_slot_node = np.repeat(slot_start[reps] - pair_arc0, per_pair) + np.arange(arc_row.size)
        pair_gross = problem.gross_profit[free_leads[rows], reps]
        profit = np.repeat(problem.profit[free_leads[rows], reps], per_pair)
        if problem.queues and arc_row.size:
            profit = profit + np.repeat(pair_gross, per_pair) * (slot_ratio[arc_slot_node] - 1.0)
        # The tail of a rep that could fill more places than are modelled (see the docstring).
        tail = np.where((depth < self.fillable) & problem.queues, self.fillable - (depth - 1), 0)
        tail_rep = np.repeat(np.arange(m), tail)
        tail_u = counting(tail)  # 0 = the last slot
        tail_cost = np.zeros(tail_rep.size)
        if tail_rep.size:
            assert problem.speed is not None
            if tail_mean:
                worth = np.bincount(reps, weights=pair_gross, minlength=m) / np.maximum(self.pairs_per_rep, 1)
            else:
                worth = np.full(m, np.inf)
                np.minimum.at(worth, reps, pair_gross)
            place = offset[tail_rep] + depth[tail_rep] - 1
            tail_cost = worth[tail_rep] * (problem.speed.ratio(tail_rep, place)
                                           - problem.speed.ratio(tail_rep, place + tail_u))
        rep_arcs = _fairness_arcs(problem, load, room, n_free, free_leads)
        magnitude = np.abs(profit)
        largest = max(float(magnitude.max(initial=0.0)), float(np.abs(rep_arcs[2]).max(initial=0.0)),
                      float(tail_cost.max(initial=0.0)))
        # each lead's largest |arc cost| (arcs run lead by lead: np.nonzero's row-major order)
        lead_top = np.zeros(n_free)
        if arc_row.size:
            lead_arc0 = np.flatnonzero(np.diff(arc_row, prepend=-1))
            lead_top[arc_row[lead_arc0]] = np.maximum.reduceat(magnitude, lead_arc0)
        smallest = float(lead_top[lead_top > 0].min(initial=largest))
        if largest > 0:
            ceiling = COST_LIMIT / (self.sink + 2) / largest
            self.scale = min(max(COST_RESOLUTION / largest, LEAD_RESOLUTION / smallest), ceiling)
        else:
            self.scale = 1.0
        # False when int64 could not keep every lead's resolution: the optimum of the
        # rounded costs may then not be the batch's, and flow must not call it optimal.
        self.exact = largest == 0 or self.scale * smallest >= LEAD_RESOLUTION

        smcf = min_cost_flow.SimpleMinCostFlow()
        lead_nodes = self.lead_node0 + np.arange(n_free)
        smcf.add_arcs_with_capacity_and_unit_cost(
            np.full(n_free, self.source), lead_nodes, np.ones(n_free, np.int64), np.zeros(n_free, np.int64)
        )
        self.first_pair_arc = n_free
        smcf.add_arcs_with_capacity_and_unit_cost(
            self.lead_node0 + arc_row,
            self.slot_node0 + arc_slot_node,
            np.ones(arc_row.size, np.int64),
            np.rint(-profit * self.scale).astype(np.int64),
        )
        self.pair_rows, self.pair_reps, self.pair_arc0 = rows, reps, pair_arc0
        self.num_pair_arcs = arc_row.size
        # Slot -> rep: a lead per place of the slot; a rep's last slot takes the rest of its room, priced
        # by the tail (unit arcs) where it could fill more places than are modelled.
        self.first_slot_arc = self.first_pair_arc + arc_row.size
        slot_cap = slot_places.astype(np.int64)
        # a tailed last slot sends its last place's lead and any further through the tail arcs
        # A rep modelled as deep as it can fill takes no more in its last slot than it has places:
        # with fewer eligible leads than room, the rest of its room let leads crowd the last slot
        # past emptier places, priced at a place not theirs (and deepening, already full depth,
        # looped on it for ever: a 30-minute batch window on the shifts scenario never ended).
        slot_cap[last] = np.where(tail > 0, slot_places[last] - 1,
                                  np.where(depth >= self.fillable, slot_places[last],
                                           np.maximum(room - (depth - slot_places[last]), 0)))
        self.last_slot_arc = self.first_slot_arc + last
        self.last_slot_places = slot_places[last]
        smcf.add_arcs_with_capacity_and_unit_cost(
            self.slot_node0 + np.arange(slot_rep.size), self.rep_node0 + slot_rep, slot_cap,
            np.zeros(slot_rep.size, np.int64))
        self.first_tail_arc = self.first_slot_arc + slot_rep.size
        self.tail_rep = tail_rep
        smcf.add_arcs_with_capacity_and_unit_cost(
            self.slot_node0 + last[tail_rep], self.rep_node0 + tail_rep, np.ones(tail_rep.size, np.int64),
            np.rint(tail_cost * self.scale).astype(np.int64))
        arc_rep_exit, arc_cap, arc_cost = rep_arcs
        smcf.add_arcs_with_capacity_and_unit_cost(
            self.rep_node0 + arc_rep_exit,
            rep_exit[arc_rep_exit],
            arc_cap,
            np.rint(arc_cost * self.scale).astype(np.int64),
        )
        n_teams = teams.shape[0]
        smcf.add_arcs_with_capacity_and_unit_cost(
            self.team_node0 + np.arange(n_teams), np.full(n_teams, self.sink),
            team_room.astype(np.int64), np.zeros(n_teams, np.int64))
        smcf.set_nodes_supplies(np.array([self.source, self.sink]), np.array([n_free, -n_free]))
        self.smcf = smcf
        self.num_arcs = n_free + arc_row.size + slot_rep.size + tail_rep.size + arc_rep_exit.size + n_teams

    def solve(self) -> tuple[np.ndarray, np.ndarray]:
        """(lead indices, rep indices) of the lead -> rep arcs that carry flow."""
        status = self.smcf.solve_max_flow_with_min_cost()
        if status != self.smcf.OPTIMAL:
            raise FlowError(f"min-cost flow failed with status {status}")
        flows = self.smcf.flows(self.first_pair_arc + np.arange(self.num_pair_arcs))
        pair = np.searchsorted(self.pair_arc0, np.flatnonzero(flows > 0), side="right") - 1
        return self.free_leads[self.pair_rows[pair]], self.pair_reps[pair]

    def overflow(self) -> np.ndarray:
        """bool (m,): reps whose last modelled slot took more leads than it has places (its tail
        priced the rest by a bound, not at their own worth)."""
        if self.tail_rep.size == 0:
            return np.zeros(self.depth.shape[0], dtype=bool)
        tailed = np.bincount(self.tail_rep, minlength=self.depth.shape[0]) > 0  # only these can deepen
        return tailed & (self.last_slot_load() > self.last_slot_places)

    def last_slot_load(self) -> np.ndarray:
        """int (m,): the leads each rep's last slot took, through its tail or not (the arcs for
        its own places and the tail's first are free alike, so both count)."""
        tail = self.smcf.flows(self.first_tail_arc + np.arange(self.tail_rep.size))
        load = np.bincount(self.tail_rep, weights=tail, minlength=self.depth.shape[0]).astype(np.int64)
        return load + self.smcf.flows(self.last_slot_arc)


def slot_arc_budget(pairs: int) -> int:
    """Lead -> slot arcs a solve may build: SLOT_ARCS_PER_PAIR per eligible pair, at least
    SLOT_ARC_FLOOR, at most SLOT_ARC_LIMIT (a rep that could take a million leads must not get
    a million slots; past the budget the tail prices its deeper places)."""
    return int(min(max(SLOT_ARCS_PER_PAIR * pairs, SLOT_ARC_FLOOR), SLOT_ARC_LIMIT))


def _fairness_arcs(
    problem: Problem, load: np.ndarray, room: np.ndarray, n_free: int, free_leads: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rep -> sink arcs as (rep index, capacity, cost in money) arrays."""
    weight = problem.options.fairness_weight
    if weight == 0:
        reps = np.flatnonzero(room > 0)
        return reps, room[reps].astype(np.int64), np.zeros(reps.size)
    # One unit arc per lead a rep could still take: the k-th unit's marginal penalty. A rep
    # without a share (off shift) is outside the penalty: one free arc with its room.
    slots = np.where(problem.share > 0, np.minimum(room, n_free), 0)
    reps = np.repeat(np.arange(problem.m), slots)
    k = counting(slots)  # 0-based per rep
    step = float(problem.lead_load[free_leads].mean())
    cost = fairness.marginal_cost(
        load[reps] + k * step, problem.targets[reps], step, weight, problem.fairness_unit
    )
    outside = np.flatnonzero((problem.share <= 0) & (room > 0))
    return (np.concatenate([reps, outside]), np.concatenate([np.ones(reps.size, np.int64), room[outside]]),
            np.concatenate([cost, np.zeros(outside.size)]))


def _trim_to_team_caps(problem: Problem, owner: np.ndarray) -> int:
    """Take free leads out of teams over their cap, lowest profit first; how many were taken out.

    Only overlapping caps need it (the network holds disjoint ones exactly).
    """
    taken = 0
    free = problem.forced < 0
    for t in np.flatnonzero(problem.team_free(owner) < 0):
        members = problem.capped_teams[t]
        while problem.team_free(owner)[t] < 0:
            rows = np.flatnonzero(free & (owner >= 0) & members[np.maximum(owner, 0)])
            if rows.size == 0:
                break
            worst = rows[np.argmin(problem.profit[rows, owner[rows]])]
            owner[worst] = -1
            taken += 1
    return taken
