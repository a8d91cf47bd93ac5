"""Single-lead decisions on the fast path: an urgent lead's owner, a stale lead's new owner.

Both score one lead against the team (`fastpath`), take the loads from the
store at the moment of the decision and record it there; the router wraps
each call in the store's transaction where other processes share the store,
so the loads read here are the loads the decision is written against.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np

from solver.compile.problem import UNASSIGNED
from solver.decode.reasons import ASSIGNED, ReasonCode
from solver.decode.result import Assignment
from solver.domain.model import Lead, Policy
from solver.online.capacity import Team
from solver.online.explain import FAST_PATH, fast_explanation, fast_reason, urgent_unassigned
from solver.online.fastpath import choose_rep
from solver.online.pricing import SeatPricing
from solver.online.store import LeadStore


def route_urgent(team: Team, pricing: SeatPricing, store: LeadStore, lead: Lead, now: datetime,
                 run_id: int | None) -> Assignment:
    """Decide an accepted urgent lead now: the best rep with room at the current prices, or wait."""
    pricer = pricing.pricer
    available = team.calendar.available(now)
    row = team.scorer.row(lead, available)
    loads = store.loads(team.ids)
    free = team.free(loads)
    j = choose_rep(row, lead.effort, free, pricing.prices(),
                   team.fairness_terms(available, now, loads), defer=pricing.defers)
    pricer.observe_one(row.eligible, row.profit)
    if j == UNASSIGNED:
        # deferred, full or off shift now: it waits if a rep's rules admit it at all
        waits = team.scorer.row(lead, np.ones_like(available)).eligible.any()
        assignment = urgent_unassigned(lead, row, free, available, bool(waits), team.ids, pricer.prices)
        due = None
    else:
        reason = fast_reason(row, j, pricer.prices)
        assignment = Assignment(lead.id, team.ids[j], ASSIGNED, reason, round(float(row.value[j]), 6),
                                FAST_PATH, reason.code)
        due = team.sla_due(j, now)
    explanations = None
    if store.explains:
        explanations = {lead.id: fast_explanation(row, j, team.ids, pricer.prices)}
    store.decide([assignment], now, sla_due={lead.id: due} if due else None,
                 explanations=explanations, run_id=run_id)
    return assignment


def reassign_stale(team: Team, pricing: SeatPricing, store: LeadStore, policy: Policy, now: datetime,
                   run_id: int | None) -> list[Assignment]:
    """Move each lead untouched past its SLA to another eligible rep (old owner excluded).

    A lead no other rep can take stays put and is checked again one SLA
    later; after `policy.sla.max_reassignments` moves it stays for good.
    """
    stale = store.stale_leads(now, policy.sla.max_reassignments)
    if not stale:
        return []
    prices = pricing.pricer.prices
    available = team.calendar.available(now)
    moved: list[Assignment] = []
    for item in stale:
        old = team.index.get(item.rep_id, UNASSIGNED)
        loads = store.loads(team.ids)
        if old >= 0:  # the old owner's room is not the lead's to keep
            loads = loads.without(old, item.lead.effort)
        row = team.scorer.row(item.lead, available)
        j = choose_rep(row, item.lead.effort, team.free(loads), pricing.prices(),
                       team.fairness_terms(available, now, loads), exclude=old)
        if j == UNASSIGNED:
            store.extend_sla(item.lead.id, team.sla_due(old, now) if old >= 0 else None)
            continue
        cause = fast_reason(row, j, prices, "moved to")
        reason = ReasonCode.REASSIGNED.reason(hours=policy.sla.first_touch_hours, rep_id=item.rep_id,
                                              cause=cause)
        assignment = Assignment(item.lead.id, team.ids[j], ASSIGNED, reason, round(float(row.value[j]), 6),
                                FAST_PATH, reason.code)
        explanation = fast_explanation(row, j, team.ids, prices) if store.explains else None
        if store.reassign(assignment, item.rep_id, now, team.sla_due(j, now), explanation, run_id):
            moved.append(assignment)
    return moved
