"""What a router's batch adds around the solve: the caps over time, persisted rotations, cap reasons.

`Router._solve_batch` compiles the buffer and the backlog against the team as
it stands (`table_now`, `compile_batch`): the rep table with today's availability and open loads,
capacity cut to what the caps over time leave, the round robins where the
ledger last left them, the accounts, and each capped team's room. After the
solve, a lead that found every eligible rep full says which caps
(`cap_reasons`), and the rotations go back to the ledger with the decisions.

Off the lock. A batch on a shared ledger is read under the ledger's lock (`ArmPlan`),
solved without it (`ArmPlan.solve`: nothing but arrays, so urgent leads, here or in
another process, are decided meanwhile), then checked and recorded under the lock again
(`settle`): a lead another process decided meanwhile (a backlogged one no longer
waiting), or, of a job's new leads, accepted meanwhile, is left out, and where a rep's or a
limited team's room shrank meanwhile (urgent leads took seats), it keeps the batch's most
valuable leads that still fit; the others (`Settled.displaced` and `Settled.waiting`,
typically one per seat taken) are solved again against the ledger as it is, holding the
lock (a few leads: milliseconds). A round robin's answer needs the
rotation it started from, or the batch is read and solved again. What is not checked: the
queue delays and fairness loads the solve priced in may be a few urgent leads behind
(those leads were placed by the fast path against the same loads), as a batch's answer
is anyway by the time a rep sees it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from solver.compile.caps import CapRoom, with_team_caps
from solver.compile.problem import Problem, compile_problem
from solver.compile.scoring import RepTable
from solver.decode.caps import cap_reasons
from solver.decode.reasons import ReasonCode
from solver.decode.result import Assignment, decode
from solver.domain.model import Lead, Policy
from solver.online import rotation
from solver.online.backlog import could_wait
from solver.online.capacity import Team
from solver.online.experiment import Arm, tagged
from solver.online.explain import batch_explanations, first_answers
from solver.online.store import LeadStore, WaitingLead
from solver.policies import Solution, solve


def table_now(team: Team, store: LeadStore, now: datetime) -> tuple[RepTable, CapRoom | None, np.ndarray]:
    """The rep table a batch at `now` sees, what the caps leave, and each rep's room by capacity."""
    loads = store.loads(team.ids)
    room = team.cap_room(store, now, loads)
    table = team.table_at(now, loads, room)
    table = dataclasses.replace(table, rotation=rotation.load(store, team.ids))
    fair = team.policy.fairness
    if fair.measure == "pipeline" and fair.weight > 0:  # what each rep was given in the period
        table = dataclasses.replace(table, pipeline_value=team.pipeline(store, now))
    return table, room, team.free(loads)


def compile_batch(team: Team, policy: Policy, table: RepTable, room: CapRoom | None,
                  leads: Sequence[Lead]) -> Problem:
    """`leads` (new ones, then the backlog's) compiled against `table` (`table_now`), the accounts
    with them, each capped team within its caps' room."""
    # leads come one by one from a CRM: an attribute none of them has is blank, not a typo
    return with_team_caps(compile_problem(table, leads, policy, team.accounts, missing_blank=True), room)


@dataclass(frozen=True)
class ArmPlan:
    """One policy's sub-problem of a batch (an experiment arm's, or the router's), as read under
    the ledger's lock: `leads` (first decisions; a job's new ones not accepted yet) then
    `backlog`, against `table` (`table_now`), to be priced by `price` (the seat prices of when
    it was read); `compiled` already, or by `solve`."""

    leads: list[Lead]
    backlog: list[WaitingLead]
    team: Team
    policy: Policy
    arm: Arm | None
    table: RepTable
    room: CapRoom | None
    free: np.ndarray
    price: Callable[[Problem], Problem]
    prices: np.ndarray  # the fast path's seat prices the answers cite
    explains: bool
    compiled: Problem | None = None  # unpriced

    def compile(self) -> Problem:
        return compile_batch(self.team, self.policy, self.table, self.room,
                             self.leads + [w.lead for w in self.backlog])

    def solve(self, stage: Callable[[str], None]) -> ArmAnswer:
        """Compile (unless it is), solve and decode the plan: arrays only, no store and no router (it
        runs off the lock). `stage` is told "solved" and "explained" (the job's progress)."""
        compiled = self.compiled if self.compiled is not None else self.compile()
        problem, n_new = self.price(compiled), len(self.leads)
        solution = solve(problem, self.policy.solver)
        stage("solved")
        result = decode(problem, solution, self.policy.solver, with_summary=False)
        owner = solution.owner
        capped = cap_reasons(result.assignments[:n_new], compiled, self.room, self.free, owner)
        waits = could_wait(problem, owner)
        first = first_answers(capped, compiled, problem, owner, waits, self.team.ids, self.prices)
        first = [tagged(a, self.arm) for a in first]
        # a lead a cap stopped is explained by its answer's reason, which names the cap
        headlines = {i: first[i].reason for i, a in enumerate(capped)
                     if a.reason_code == ReasonCode.CAP_REACHED}
        explanations = batch_explanations(problem, solution, n_new, headlines) if self.explains else {}
        stage("explained")
        return ArmAnswer(self, compiled, problem, solution, first, result.assignments[n_new:], explanations)


@dataclass(frozen=True)
class ArmAnswer:
    """A solved `ArmPlan`: what was solved (`compiled`, then priced: `problem`), the first
    decisions of its leads, the backlog's answers (in the plan's order, before the from-backlog
    reason), the explanations kept."""

    plan: ArmPlan
    compiled: Problem
    problem: Problem
    solution: Solution
    first: list[Assignment]
    backlog: list[Assignment]
    explanations: Mapping[str, Any]


@dataclass(frozen=True)
class Settled:
    """What of a batch solved off the lock may be recorded now (`answer`: the leads still where the
    plan read them, in seats still free), and the leads whose seats were taken meanwhile: new
    ones (`displaced`) and backlogged ones (`waiting`, still waiting)."""

    answer: ArmAnswer
    displaced: list[Lead]
    waiting: list[WaitingLead]
    kept: np.ndarray  # the rows of the plan's leads recorded


def settle(answer: ArmAnswer, store: LeadStore, now: datetime, taken: Collection[str] = ()) -> Settled | None:
    """`answer`, solved off the lock, as it may be recorded now (under the lock again; see the
    module docstring): without the leads another process decided meanwhile (a backlogged one no
    longer waiting) or took (`taken`: a job's new leads the ledger accepted meanwhile), and
    without those whose seats were taken (`displaced`, `waiting`: the least valuable of a rep's or
    team's first). None: it cannot be mended (a round robin's rotation moved)."""
    plan, solution = answer.plan, answer.solution
    if solution.rotation is not None and rotation.load(store, plan.team.ids) != plan.table.rotation:
        return None
    n_new = len(plan.leads)
    statuses = store.statuses([lead.id for lead in plan.leads] + [w.lead.id for w in plan.backlog])
    decided = [lead.id in taken or (lead.id in statuses and not statuses[lead.id].undecided)
               for lead in plan.leads]
    left = [s is None or not s.in_backlog for s in (statuses.get(w.lead.id) for w in plan.backlog)]
    gone = np.array(decided + left, dtype=bool)
    owner = np.where(gone, -1, solution.owner)
    loads = store.loads(plan.team.ids)
    room = plan.team.cap_room(store, now, loads)
    moved = displaced(answer.problem, plan, owner, plan.team.free(loads), room)
    keep = ~(gone | moved)
    first = [a for a, kept in zip(answer.first, keep[:n_new], strict=True) if kept]
    # a backlogged lead not placed now stays as it is (`Router._record_arm` skips an answer without a rep)
    backlog = [a if kept else w.answer
               for a, w, kept in zip(answer.backlog, plan.backlog, keep[n_new:], strict=True)]
    return Settled(dataclasses.replace(answer, first=first, backlog=backlog),
                   [plan.leads[i] for i in np.flatnonzero(moved[:n_new])],
                   [plan.backlog[i] for i in np.flatnonzero(moved[n_new:])], np.flatnonzero(keep[:n_new]))


def displaced(problem: Problem, plan: ArmPlan, owner: np.ndarray, free: np.ndarray,
              room: CapRoom | None) -> np.ndarray:
    """bool (n,): the placed leads of `owner` (solving `problem`) whose seats were taken since
    `plan` was read.

    Where a rep's free effort (`free`, each rep's now) or caps' room (`room`, now) shrank, it
    keeps its most valuable leads of the batch that fit what is left; where a limited team's
    members' free effort or its caps' room shrank, the team keeps its most valuable that fit
    its limit less what was taken. Reps and teams whose room did not shrink keep all theirs.
    """
    m = len(free)
    budget = np.where(free < plan.free, free, np.inf)  # effort each squeezed rep may still take
    count = np.full(m, np.inf)  # leads each rep's caps let it take, where they shrank
    if room is not None and plan.room is not None:
        count = np.where(room.rep < plan.room.rep, room.rep, np.inf)
    teams: list[tuple[np.ndarray, float]] = []  # (members, effort left) of each squeezed team
    if problem.team_membership is not None and problem.team_capacity is not None:
        taken = np.maximum(plan.free - free, 0)
        for t in np.flatnonzero(problem.team_capacity >= 0):
            members, team = problem.team_membership[t], problem.team_ids[t]
            capped = 0
            if room is not None and plan.room is not None and team in room.teams and team in plan.room.teams:
                capped = max(plan.room.teams[team][0] - room.teams[team][0], 0)
            if taken[members].any() or capped:
                teams.append((members, problem.team_capacity[t] - taken[members].sum() - capped))
    squeezed = np.isfinite(budget) | np.isfinite(count)
    for members, _ in teams:
        squeezed |= members
    out = np.zeros(len(owner), dtype=bool)
    rows = np.flatnonzero((owner >= 0) & squeezed[np.maximum(owner, 0)])
    if rows.size == 0:
        return out
    effort = problem.effort_of(owner)
    used = [0.0] * len(teams)
    for i in rows[np.argsort(-problem.value[rows, owner[rows]], kind="stable")]:  # the most valuable first
        j, e = int(owner[i]), float(effort[i])
        mine = [k for k, (members, _) in enumerate(teams) if members[j]]
        if e <= budget[j] and count[j] >= 1 and all(used[k] + e <= teams[k][1] for k in mine):
            budget[j] -= e
            count[j] -= 1
            for k in mine:
                used[k] += e
        else:
            out[i] = True
    return out
