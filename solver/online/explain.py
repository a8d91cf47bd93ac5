"""Reasons and explanations of the router's own decisions (fast path, priced batches, reassignments).

The batch solver's reasons come from `solver.decode.reasons`; these cover what
only the router decides: an urgent lead's rank and seat price, a lead priced
out of every seat (deferred), why an urgent lead found nobody, and the real
reason of a lead a priced batch left out (from the unpriced batch).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from string import Formatter
from typing import Any

import numpy as np

from solver.compile.problem import Problem
from solver.decode.explain import explain_lead
from solver.decode.reasons import UNASSIGNED_STATUS, Reason, ReasonCode, unassigned_reasons, waiting
from solver.decode.result import Assignment, with_reason
from solver.domain.model import Lead
from solver.online.fastpath import FairnessTerms, LeadRow, fast_scores
from solver.policies import Solution

FAST_PATH = "fast_path"  # the `policy` of decisions made by the urgent fast path
FAST_PATH_LABEL = "urgent fast path:"


def _positional(template: str, fields: Sequence[str]) -> str:
    """`template` (a `str.format` template over named fields) with each field numbered by its
    place in `fields` ("{price:,.2f}" -> "{3:,.2f}"): the same text from positional arguments,
    which `str.format` fills ~0.4 us faster than keywords (no dict to build and look up)."""
    out = []
    for literal, name, spec, conversion in Formatter().parse(template):
        out.append(literal.replace("{", "{{").replace("}", "}}"))
        if name is not None:
            out.append("{" + str(fields.index(name)) + (f"!{conversion}" if conversion else "")
                       + (f":{spec}" if spec else "") + "}")
    return "".join(out)


# The fast path's reason text (`ReasonCode.FAST_PATH.text`, its one text), numbered: every
# urgent decision formats it.
_FAST_TEXT = _positional(ReasonCode.FAST_PATH.text, ("path", "rank", "eligible", "price"))


def fast_reason(row: LeadRow, j: int, prices: np.ndarray, path: str = FAST_PATH_LABEL) -> Reason:
    """Why the fast path (or a reassignment, `path` "moved to") chose rep j."""
    if row.forced == j:
        return ReasonCode.ACCOUNT_OWNER.reason()
    # profit is 0 where ineligible, so the reps above a profit >= 0 are all eligible
    rank = np.count_nonzero(row.profit > row.profit[j] + 1e-9) + 1
    # plain floats and ints: numpy scalars format several times slower
    eligible = int(np.count_nonzero(row.eligible))
    return Reason(ReasonCode.FAST_PATH, _FAST_TEXT.format(path, int(rank), eligible, float(prices[j])))


def deferred_reason(rep_ids: Sequence[str], profit: np.ndarray, room: np.ndarray,
                    prices: np.ndarray) -> Reason:
    """Why a lead with eligible reps that have room took none: it is worth less than their prices."""
    j = int(np.argmax(np.where(room, profit - prices, -np.inf)))
    return ReasonCode.DEFERRED.reason(room=int(room.sum()), rep_id=rep_ids[j], profit=profit[j],
                                      price=prices[j])


def urgent_unassigned(lead: Lead, row: LeadRow, free: np.ndarray, available: np.ndarray, waits: bool,
                      rep_ids: Sequence[str], prices: np.ndarray, cap: Reason | None = None) -> Assignment:
    """The answer of an urgent lead the fast path gave no rep: deferred (eligible reps with room
    priced above it) or why nobody could take it; `waits`: it waits in the backlog; `cap`: the
    reason to give when the eligible reps are full because caps over time stopped some."""
    room = row.eligible & (free >= lead.effort)
    reason = (deferred_reason(rep_ids, row.profit, room, prices) if room.any()
              else fast_unassigned_reason(row, available))
    if cap is not None and reason.code is ReasonCode.CAPACITY:
        reason = cap
    if waits or room.any():
        reason = waiting(reason)
    return Assignment(lead.id, None, UNASSIGNED_STATUS, reason, 0.0, FAST_PATH, reason.code)


def fast_unassigned_reason(row: LeadRow, available: np.ndarray) -> Reason:
    """Why the fast path found no rep with room for an urgent lead."""
    if not available.any():
        return ReasonCode.NO_REP_ON_SHIFT.reason()
    if not row.eligible.any():
        return ReasonCode.NO_ELIGIBLE_REP.reason()
    return ReasonCode.CAPACITY.reason(eligible=int(row.eligible.sum()))


def fast_explanation(row: LeadRow, j: int, rep_ids: Sequence[str], prices: np.ndarray, *,
                     free: np.ndarray | None = None, effort: int = 1, terms: FairnessTerms | None = None,
                     defer: bool = False, exclude: int = -1, alternatives: int = 2) -> dict[str, Any]:
    """The stored explanation of a fast-path decision (j < 0: no rep), with the best
    `alternatives` other eligible reps by the score the fast path maximised and why each lost
    (`free`, `effort`, `terms`, `defer` and `exclude` as `choose_rep` took them; without `free`
    no alternatives). Only durable stores keep explanations, so the in-memory fast path pays
    nothing for it."""
    out: dict[str, Any] = {
        "path": "urgent fast path",
        "eligible_reps": int(row.eligible.sum()),
        "chosen": None if j < 0 else _fast_fit(row, j, rep_ids, prices, free, terms),
    }
    if free is None or alternatives <= 0:
        return out
    score = fast_scores(row, prices, terms)
    others = row.eligible.copy()
    if j >= 0:
        others[j] = False
    best = np.flatnonzero(others)
    # highest score first, ties to the lower rep index (as choose_rep breaks them)
    best = best[np.argsort(-score[best], kind="stable")[:alternatives]]
    out["alternatives"] = [_fast_fit(row, k, rep_ids, prices, free, terms)
                           | {"why_not": _fast_why_not(row, j, k, free, effort, prices, defer, exclude)}
                           for k in best.tolist()]
    return out


def _fast_fit(row: LeadRow, k: int, rep_ids: Sequence[str], prices: np.ndarray, free: np.ndarray | None,
              terms: FairnessTerms | None) -> dict[str, Any]:
    """One rep's figures in a fast-path explanation (the keys of a batch explanation's fits)."""
    fit: dict[str, Any] = {"rep_id": rep_ids[k], "expected_value": float(row.value[k]),
                           "profit": float(row.profit[k]), "price": float(prices[k])}
    if free is not None:
        fit["free_capacity"] = int(free[k])
    if terms is not None:
        fit |= {"load": float(terms.load[k]), "target": round(float(terms.target[k]), 4)}
    return fit


def _fast_why_not(row: LeadRow, j: int, k: int, free: np.ndarray, effort: int, prices: np.ndarray,
                  defer: bool, exclude: int) -> str:
    """Why the fast path did not give the lead to eligible rep k (j: the rep it chose, or -1)."""
    if row.forced >= 0 and row.forced != exclude:
        return "the lead's account is owned by another rep (owner rule)"
    if k == exclude:
        return "the rep it is moving from"
    if free[k] < effort:
        return "at capacity (or at a cap)"
    if defer and row.profit[k] < prices[k]:
        return f"priced out: worth less here than the seat's price {prices[k]:,.2f}"
    if j < 0:
        return "had room but the lead was deferred"
    return "lower score: value after rules, less the seat's price and the fairness cost"


def batch_explanations(problem: Problem, solution: Solution, n_new: int,
                       headlines: Mapping[int, str] | None = None) -> dict[str, dict[str, Any]]:
    """Explanations of a batch's new leads and of the backlogged leads it placed; `headlines`
    (lead index -> its answer's reason) stand in for the explanation's own where the answer says
    more (a cap, not capacity, stopped the lead), so the two agree.

    The capacity left and the loads under the batch's owner are counted once
    for all of them (counted per lead, explaining a batch was quadratic: 33 of
    `leadsolver run`'s 55 s at 50,000 leads).
    """
    owner = solution.owner
    batch = {"batch": {"size": problem.n, "status": str(solution.status),
                       "objective": solution.objective, "bound": solution.bound}}
    free = problem.capacity - problem.used_capacity(owner)
    loads = problem.loads(owner)
    headlines = headlines or {}
    out: dict[str, dict[str, Any]] = {}
    for i in range(problem.n):
        if i < n_new or owner[i] >= 0:
            out[problem.lead_ids[i]] = explain_lead(problem, owner, i, alternatives=2, free=free,
                                                    loads=loads, reason=headlines.get(i)) | batch
    return out


def first_answers(answers: Sequence[Assignment], compiled: Problem, problem: Problem, owner: np.ndarray,
                  waits: np.ndarray, rep_ids: Sequence[str], prices: np.ndarray) -> list[Assignment]:
    """A batch's first decisions with their final reasons: why a priced batch left a lead out
    (from the unpriced batch `compiled`; `problem` is what was solved) and, for the leads that
    `waits` (a rep could take them later), the backlog's note."""
    first = list(answers)
    if problem is not compiled:
        for i, reason in priced_batch_reasons(compiled, problem, owner, len(first), rep_ids, prices).items():
            first[i] = with_reason(first[i], reason)
    return [with_reason(a, waiting(a.reason, a.reason_code)) if waits[i] else a for i, a in enumerate(first)]


def priced_batch_reasons(compiled: Problem, priced: Problem, owner: np.ndarray, n_new: int,
                         rep_ids: Sequence[str], prices: np.ndarray) -> dict[int, Reason]:
    """The real reasons of the new leads a priced batch left out, from the unpriced batch.

    A lead with no eligible rep with room is told why as if unpriced (full, off
    shift or ruled out); one whose every rep with room is priced above it is
    deferred; the rest had a seat they could afford (the decoder's reason stands).
    """
    free = priced.capacity - priced.used_capacity(owner)
    room = _room_for(compiled, free)
    unplaced = np.flatnonzero(owner[:n_new] < 0)
    no_room = unplaced[~room[unplaced].any(axis=1)]
    reasons = dict(zip(no_room.tolist(), unassigned_reasons(compiled, no_room, free), strict=True))
    affordable = room & (compiled.gross_profit >= priced.price)
    with_room = unplaced[room[unplaced].any(axis=1)]
    for i in with_room[~affordable[with_room].any(axis=1)]:  # every rep with room priced above it
        reasons[int(i)] = deferred_reason(rep_ids, compiled.gross_profit[i], room[i], prices)
    return reasons


def _room_for(problem: Problem, room: np.ndarray) -> np.ndarray:
    """bool (n, m): rep j is eligible for lead i and has `room` for its effort."""
    effort = problem.effort if problem.effort.ndim == 2 else problem.effort[:, None]
    return problem.eligible & (room[None, :] >= effort)
