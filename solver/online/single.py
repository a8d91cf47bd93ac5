"""Single-lead decisions on the fast path: an urgent lead's owner, a stale lead's new owner.

Both score one lead against the team (`fastpath`), take the loads from the
store at the moment of the decision and record it there; the router wraps
each call in the store's transaction where other processes share the store,
so the loads read here are the loads the decision is written against.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from solver.compile.caps import CapRoom, with_team_caps
from solver.compile.problem import UNASSIGNED, compile_problem
from solver.decode.caps import cap_reached
from solver.decode.reasons import ASSIGNED, UNASSIGNED_STATUS, Reason, ReasonCode, first_on_shift
from solver.decode.result import Assignment
from solver.domain.model import Lead, Policy
from solver.online.capacity import Team
from solver.online.experiment import Arm, tagged
from solver.online.explain import FAST_PATH, fast_explanation, fast_reason, urgent_unassigned
from solver.online.fastpath import LeadRow, choose_rep
from solver.online.pricing import SeatPricing
from solver.online.store import LeadStore, OpenLead, RepLoads


def route_urgent(team: Team, pricing: SeatPricing, store: LeadStore, lead: Lead, now: datetime,
                 run_id: int | None, *, arm: Arm | None = None) -> Assignment:
    """Decide an accepted urgent lead now: the best rep with room at the current prices, or wait
    (`arm`: the experiment arm whose team and prices these are, recorded with the answer, with its
    experiment's name)."""
    pricer = pricing.pricer
    available = team.calendar.available(now)
    loads = store.loads(team.ids)
    free = team.free(loads)
    room = team.cap_room(store, now, loads)
    capped_free = free if room is None else np.minimum(free, room.rep)
    speed = None if team.routed else team.speed_now(now, loads)  # a routed row has its own
    if team.routed:
        routed = routed_row(team, lead, available, loads, room, now)
        if routed.queued is not None:
            return _queue(store, lead, routed.queued, now, run_id, arm)
        row, capped_free = routed.row, np.where(routed.team_full, 0, capped_free)
    else:
        row = team.scorer.row(lead, available, speed)
    fair = team.fairness_terms(available, now, loads, store, lead)
    j = choose_rep(row, lead.effort, capped_free, pricing.prices(), fair, defer=pricing.defers)
    pricer.observe_one(row.eligible, row.profit)
    if j == UNASSIGNED:
        # deferred, full or off shift now: it waits if a rep's rules admit it at all
        waits = team.scorer.admits(lead)
        if team.routed:
            waits = waits & routed.admitted
        cap = None if room is None else cap_reached(row.eligible, room.limits(free), room,
                                                    room.full_teams(), *routed_teams(team))
        assignment = urgent_unassigned(lead, row, capped_free, available, bool(waits.any()), team.ids,
                                       pricer.prices, cap)
        due = None
    else:
        reason = fast_reason(row, j, pricer.prices)
        if not available[j] and row.forced != j and team.speed is not None:  # nobody on shift may take it
            terms = speed if speed is not None else team.speed_now(now, loads)
            assert terms is not None  # team.speed is set
            wait = terms.timing.wait[j]
            reason = first_on_shift(int(np.count_nonzero(row.profit > row.profit[j] + 1e-9)),
                                    int(np.count_nonzero(row.eligible)), float(wait))
        assignment = Assignment(lead.id, team.ids[j], ASSIGNED, reason, round(float(row.value[j]), 6),
                                FAST_PATH, reason.code)
        due = team.sla_due(j, now)
    assignment = tagged(assignment, arm)
    explanations = None
    if store.explains:
        explanations = {lead.id: fast_explanation(row, j, team.ids, pricer.prices, free=capped_free,
                                                  effort=lead.effort, terms=fair, defer=pricing.defers)}
    store.decide([assignment], now, sla_due={lead.id: due} if due else None,
                 explanations=explanations, run_id=run_id)
    return assignment


def reassign_stale(team: Team, pricing: SeatPricing, store: LeadStore, policy: Policy, now: datetime,
                   run_id: int | None, *, stale: Sequence[OpenLead] | None = None) -> list[Assignment]:
    """Move each lead untouched past its SLA to another eligible rep (old owner excluded).

    A lead no other rep can take stays put and is checked again one SLA
    later; after `policy.sla.max_reassignments` moves it stays for good.
    `stale`: these of the stale leads only (an experiment arm's), not all of them.
    """
    if stale is None:
        stale = store.stale_leads(now, policy.sla.max_reassignments)
    if not stale:
        return []

    def overdue(rep_id: str, cause: Reason) -> Reason:
        return ReasonCode.REASSIGNED.reason(hours=policy.sla.first_touch_hours, rep_id=rep_id, cause=cause)

    available = team.calendar.available(now)
    answers = (move_open_lead(team, pricing, store, item, now, run_id, overdue, available, retry_later=True)
               for item in stale)
    return [answer for answer in answers if answer is not None]


def move_open_lead(team: Team, pricing: SeatPricing, store: LeadStore, item: OpenLead, now: datetime,
                   run_id: int | None, reason_of: Callable[[str, Reason], Reason],
                   available: np.ndarray | None = None, *, retry_later: bool = False) -> Assignment | None:
    """Move one open lead to the best other rep with room, as the fast path would choose
    without its old owner; `reason_of(old rep id, cause)` words the move. None when it stays:
    no other rep can take it (with `retry_later` its SLA clock starts again, so it is checked
    one SLA later), or the store refused the move (the lead changed meanwhile)."""
    if available is None:
        available = team.calendar.available(now)
    old = team.index.get(item.rep_id, UNASSIGNED)
    loads = store.loads(team.ids)
    if old >= 0:  # the old owner's room is not the lead's to keep
        loads = loads.without(old, item.lead.effort)
    free = team.free(loads)
    if (room := team.cap_room(store, now, loads)) is not None:
        free = np.minimum(free, room.rep)
    if team.routed:
        routed = routed_row(team, item.lead, available, loads, room, now)
        row, free = routed.row, np.where(routed.team_full, 0, free)
    else:
        row = team.scorer.row(item.lead, available, team.speed_now(now, loads))
    fair = team.fairness_terms(available, now, loads, store, item.lead)
    j = choose_rep(row, item.lead.effort, free, pricing.prices(), fair, exclude=old)
    if j == UNASSIGNED:
        if retry_later:
            store.extend_sla(item.lead.id, team.sla_due(old, now) if old >= 0 else None)
        return None
    prices = pricing.pricer.prices
    reason = reason_of(item.rep_id, fast_reason(row, j, prices, "moved to"))
    assignment = Assignment(item.lead.id, team.ids[j], ASSIGNED, reason, round(float(row.value[j]), 6),
                            FAST_PATH, reason.code)
    explanation = (fast_explanation(row, j, team.ids, prices, free=free, effort=item.lead.effort,
                                    terms=fair, exclude=old) if store.explains else None)
    moved = store.reassign(assignment, item.rep_id, now, team.sla_due(j, now), explanation, run_id)
    return assignment if moved else None


@dataclass(frozen=True)
class RoutedRow:
    """One lead's row where routing rules, accounts, fallbacks or team caps decide it."""

    row: LeadRow
    admitted: np.ndarray  # bool (m,): reps its routing rules admit (on shift or not: it may wait)
    team_full: np.ndarray  # bool (m,): members of a capped team with no room left for it
    queued: tuple[str, str] | None  # (queue, cause): a fallback sent it to a named queue


def routed_row(team: Team, lead: Lead, available: np.ndarray, loads: RepLoads,
               room: CapRoom | None, now: datetime) -> RoutedRow:
    """The lead compiled as a one-lead batch (`compile_problem`: rules, accounts, fallbacks, team
    caps), read as the fast path's row. It costs more than `LeadScorer` (figures in
    benchmarks/fast_path/RESULTS.md); a policy without any of these keeps the scorer."""
    table = team.with_speed(dataclasses.replace(team.table, available=available,
                                                open_leads=team.table.open_leads + loads.effort), now, loads)
    problem = with_team_caps(compile_problem(table, [lead], team.policy, team.accounts, missing_blank=True),
                             room)
    admitted = np.ones(problem.m, dtype=bool) if problem.rules is None else problem.rules.admit[0]
    full = np.asarray((problem.capped_teams & (problem.team_room < lead.effort)[:, None]).any(axis=0),
                      dtype=bool)
    row = LeadRow(problem.eligible[0], problem.value[0], problem.gross_profit[0], int(problem.forced[0]))
    return RoutedRow(row, admitted, full, problem.queued.get(0))


def routed_teams(team: Team) -> tuple[list[str], np.ndarray | None]:
    """The team's teams and their membership, as `cap_reached` reads them."""
    rules = team.table.rules
    return ([], None) if rules is None else (list(rules.teams.ids), rules.teams.membership)


def _queue(store: LeadStore, lead: Lead, queued: tuple[str, str], now: datetime,
           run_id: int | None, arm: Arm | None) -> Assignment:
    """Record an urgent lead a fallback sent to a named queue."""
    reason = ReasonCode.QUEUED.reason(queue=queued[0], cause=queued[1])
    assignment = tagged(Assignment(lead.id, None, UNASSIGNED_STATUS, reason, 0.0, FAST_PATH, reason.code,
                                   queued[0]), arm)
    store.decide([assignment], now, run_id=run_id)
    return assignment
