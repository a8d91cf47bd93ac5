"""Why each lead has its rep, or none: reason codes, their one text each, and batch reasons.

Every answer carries a `ReasonCode` (machine-readable, stable) and a text made
from that code's one format (`ReasonCode.text`), so the code is what a program
reads and the text is only for people: nothing parses a reason's text to learn
a lead's state. A `Reason` is the text (a ``str``, so every reader of
``Assignment.reason`` is unchanged) that also knows its code.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import numpy as np

from solver.compile.problem import Problem

ASSIGNED = "assigned"
UNASSIGNED_STATUS = "unassigned"
# The start of the reason of a lead left unplaced because every seat with room is priced above it.
DEFERRED = "deferred"


class ReasonCode(StrEnum):
    """Why a lead has its rep or none. Each code has exactly one text (`text`, a format)."""

    PLACED_BY_RANK = "placed_by_rank"  # a batch placed it; its rank among the eligible reps
    FAST_PATH = "fast_path"  # the urgent fast path placed it; its rank and the seat's price
    ACCOUNT_OWNER = "account_owner"
    NO_REP_AVAILABLE = "no_rep_available"  # nobody available (a batch's view)
    NO_REP_ON_SHIFT = "no_rep_on_shift"  # nobody available or in working hours (the fast path's view)
    NO_ELIGIBLE_REP_FOR_RULE = "no_eligible_rep_for_rule"  # one hard rule leaves no available rep
    NO_ELIGIBLE_REP = "no_eligible_rep"  # the hard rules together leave none
    CAPACITY = "capacity"
    NOT_PLACED = "not_placed"  # the policy left it for others (grouping or ordering)
    DEFERRED = "deferred"  # priced out: worth less than every seat with room; waits in the backlog
    WAITING = "waiting"  # unassigned for now: waits in the backlog until a rep can take it
    CLOSED_WHILE_WAITING = "closed_while_waiting"
    BACKLOG_EXPIRED = "backlog_expired"
    FROM_BACKLOG = "from_backlog"  # placed by a retry of the backlog
    REASSIGNED = "reassigned"  # moved to another rep: not touched within the SLA
    # A fallback sent it to a named queue (`Assignment.queue`): it waits for a person.
    QUEUED = "queued"
    NO_ELIGIBLE_REP_BY_RULES = "no_eligible_rep_by_rules"  # the routing rules leave no available rep
    # Every eligible rep is full or at a cap over time (per day, week, month, ...): which caps.
    CAP_REACHED = "cap_reached"
    CLOSED_IN_QUEUE = "closed_in_queue"  # released or closed while in a named queue
    ASSIGNED_BY_PERSON = "assigned_by_person"  # a person gave a queued (or waiting) lead its rep
    REROUTED = "rerouted"  # a person moved an open lead to the best other rep
    # A fallback (no rule admits a rep, or the owner left) sent it to a team or rep that placed it.
    FALLBACK = "fallback"
    # Its eligible reps with room of their own are all in capped teams that are full.
    TEAM_CAP = "team_cap"
    # No rep on shift may take it: decided now for a rep back later (speed to lead).
    FIRST_ON_SHIFT = "first_on_shift"

    @property
    def text(self) -> str:
        """The code's one text: a `str.format` template over the code's parameters."""
        return _TEXTS[self]

    def reason(self, **params: Any) -> Reason:
        """The reason text with its parameters filled in, carrying this code."""
        return Reason(self, _TEXTS[self].format(**params) if params else _TEXTS[self])


# The text of a waiting lead ends with the waiting note after its cause; `without_wait_note`
# takes it off again to say why a lead that waited too long expired.
WAIT_NOTE = "; waits in the backlog until a rep can take it"

_TEXTS: dict[ReasonCode, str] = {
    ReasonCode.PLACED_BY_RANK: "eligible: rank {rank} of {eligible} eligible reps by {basis}",
    ReasonCode.FAST_PATH: ("{path} rank {rank} of {eligible} eligible reps by expected value, "
                           "price {price:,.2f}"),
    ReasonCode.ACCOUNT_OWNER: "account owner: the account's current owner keeps it",
    ReasonCode.NO_REP_AVAILABLE: "no rep available: every rep is unavailable",
    ReasonCode.NO_REP_ON_SHIFT: "no rep available: every rep is unavailable or outside working hours",
    ReasonCode.NO_ELIGIBLE_REP_FOR_RULE: "no eligible rep: no available rep matches {rule} {label!r}",
    ReasonCode.NO_ELIGIBLE_REP: "no eligible rep: no available rep passes the hard rules",
    ReasonCode.CAPACITY: "capacity: all {eligible} eligible reps are at capacity",
    ReasonCode.NOT_PLACED: "not placed: the policy left it for reps with room (grouping or ordering)",
    ReasonCode.DEFERRED: (DEFERRED + ": worth less than the price of each of the {room} eligible reps "
                          "with room, whose capacity is held for better-matched leads (best: {rep_id}, "
                          "{profit:,.2f} < price {price:,.2f})"),
    ReasonCode.WAITING: "{cause}" + WAIT_NOTE,
    ReasonCode.CLOSED_WHILE_WAITING: "closed while waiting in the backlog: no rep took it",
    ReasonCode.BACKLOG_EXPIRED: "backlog expired: no rep could take it within {hours:g} h; {cause}",
    ReasonCode.FROM_BACKLOG: "from the backlog (unassigned since {since}): {cause}",
    ReasonCode.REASSIGNED: "reassigned: not touched within the {hours:g} h SLA by {rep_id}; {cause}",
    ReasonCode.QUEUED: "queued: {queue}: {cause}",
    ReasonCode.NO_ELIGIBLE_REP_BY_RULES: "no eligible rep: no available rep passes the routing rules {rules}",
    ReasonCode.CAP_REACHED: "cap: all {eligible} eligible reps reached a cap or their capacity ({caps})",
    ReasonCode.CLOSED_IN_QUEUE: "closed while in the queue {queue}: no rep took it",
    ReasonCode.ASSIGNED_BY_PERSON: "assigned by a person from {where}",
    ReasonCode.REROUTED: "re-routed by {by} from {rep_id}; {cause}",
    ReasonCode.FALLBACK: "{note}: rank {rank} of {eligible} eligible reps by {basis}",
    ReasonCode.TEAM_CAP: ("team cap: the eligible reps with room of their own ({eligible}) are all in "
                          "{teams}, at the team's cap"),
    ReasonCode.FIRST_ON_SHIFT: ("off shift: no rep on shift may take it; rank {rank} of {eligible} reps "
                                "back on shift first, this one in {minutes:,.0f} min"),
}


class Reason(str):
    """A reason text that knows its `ReasonCode` (equal to, and usable as, the plain text)."""

    code: ReasonCode

    def __new__(cls, code: ReasonCode, text: str) -> Reason:
        self = super().__new__(cls, text)
        self.code = code
        return self

    def __getnewargs__(self) -> tuple[ReasonCode, str]:  # type: ignore[override]
        # copy / pickle rebuild it through __new__ (dataclasses.asdict deep-copies fields)
        return self.code, str(self)


def waiting(cause: str, cause_code: ReasonCode | None = None) -> Reason:
    """The answer of an unassigned lead that waits in the backlog: its cause, then the note.

    A deferred lead keeps its code (`DEFERRED` says it waits); any other cause becomes
    `WAITING`. The cause's code is `cause_code`, or the cause's own when it is a `Reason`.
    """
    code = cause_code or getattr(cause, "code", None)
    text = _TEXTS[ReasonCode.WAITING].format(cause=cause)
    return Reason(ReasonCode.DEFERRED if code is ReasonCode.DEFERRED else ReasonCode.WAITING, text)


def without_wait_note(text: str) -> str:
    """A waiting lead's cause: its reason without the waiting note (to word its final answer)."""
    return text.removesuffix(WAIT_NOTE)


def lead_reasons(problem: Problem, owner: np.ndarray, only_unassigned: bool = False) -> dict[int, Reason]:
    """Reason per lead; computed vectorized, per-rule work only for unassigned leads."""
    reasons: dict[int, Reason] = {}
    placed = np.flatnonzero(owner >= 0)
    if not only_unassigned:
        forced = problem.forced[placed] >= 0
        chosen = problem.profit[placed, owner[placed]]
        elig = problem.eligible[placed]
        better = ((problem.profit[placed] > chosen[:, None] + 1e-9) & elig).sum(axis=1)
        count = elig.sum(axis=1)
        away = ~problem.available[owner[placed]] & ~forced if problem.speed is not None else None
        for k, (i, f, b, c) in enumerate(zip(placed, forced, better, count, strict=True)):
            note = problem.notes.get(int(i))
            if away is not None and away[k]:
                assert problem.speed is not None
                reasons[int(i)] = first_on_shift(int(b), int(c), float(problem.speed.timing.wait[owner[i]]))
                continue
            reasons[int(i)] = (ReasonCode.FALLBACK.reason(note=note, rank=int(b) + 1, eligible=int(c),
                                                          basis=basis(problem))
                               if note and not f else placed_reason(bool(f), int(b), int(c), basis(problem)))
    rows = np.flatnonzero(owner < 0)
    if rows.size:
        free = problem.capacity - problem.used_capacity(owner)
        reasons.update(zip(rows.tolist(), unassigned_reasons(problem, rows, free), strict=True))
    return reasons


def basis(problem: Problem) -> str:
    """What placed leads' ranks are by: the profit the policy maximised."""
    return "expected value" if problem.price is None else "expected value less the seat's price"


def first_on_shift(better: int, eligible: int, wait_minutes: float) -> Reason:
    """Why a lead went to a rep off shift: none on shift may take it, this one is back soonest
    for its worth (`better` reps offered more)."""
    return ReasonCode.FIRST_ON_SHIFT.reason(rank=better + 1, eligible=eligible, minutes=wait_minutes)


def placed_reason(forced: bool, better: int, eligible: int, basis: str) -> Reason:
    """Why a placed lead has its rep, given how many eligible reps offered more profit."""
    if forced:
        return ReasonCode.ACCOUNT_OWNER.reason()
    return ReasonCode.PLACED_BY_RANK.reason(rank=better + 1, eligible=eligible, basis=basis)


def blocking_rule(problem: Problem, i: int, j: int | None = None) -> str | None:
    """The first hard rule that rejects rep j (or, with j None, every available rep) for lead i."""
    candidates = problem.available.copy() if j is None else np.eye(problem.m, dtype=bool)[j]
    for name in problem.options.hard_rules:
        dim = problem.dimensions[name]
        candidates &= dim.admits(np.array([i]))[0]
        if not candidates.any():
            label = dim.lead_label[i] or "(empty)"
            return f"{name} {label!r}"
    return None


def priced_out(problem: Problem, i: int, free: np.ndarray | None) -> np.ndarray:
    """bool (m,): available reps the hard rules admit for lead i that its price mask left out
    (with `free`: only those with room for it)."""
    if problem.unpriced is None:
        return np.zeros(problem.m, dtype=bool)
    admitted = problem.unpriced[i] & ~problem.eligible[i]
    if free is not None:
        effort = problem.effort[i]  # a scalar, or (m,) when effort depends on the rep
        admitted &= free >= effort
    return admitted


def rule_names(problem: Problem, i: int, rep: int | None = None) -> list[str]:
    """The hard routing rules that took effect on lead i (with `rep`: those that shut rep out:
    an exclusion naming it, an admission not naming it)."""
    if problem.rules is None:
        return []
    rep_id = None if rep is None else problem.rep_ids[rep]
    return [e.rule for e in problem.rules.trail(i) if e.mode == "hard" and (
        rep_id is None or (rep_id in e.reps) == (e.action == "exclude"))]


def unassigned_reasons(problem: Problem, rows: np.ndarray, free: np.ndarray) -> list[Reason]:
    """Why each of these unassigned leads got no rep (given each rep's `free` capacity after
    the batch), vectorized over the leads.

    In order: a fallback queued it; nobody available; the first hard rule that
    leaves no available rep; the routing rules (named) leave none; every
    eligible rep (or its team) at capacity; else the policy's choice.
    """
    reasons: list[Reason | None] = [
        ReasonCode.QUEUED.reason(queue=q[0], cause=q[1]) if (q := problem.queued.get(int(i))) else None
        for i in rows]
    if not problem.available.any():
        return [r or ReasonCode.NO_REP_AVAILABLE.reason() for r in reasons]
    candidates = np.broadcast_to(problem.available, (rows.size, problem.m)).copy()
    for name in problem.options.hard_rules:
        dim = problem.dimensions[name]
        candidates &= dim.admits(rows)
        for k in np.flatnonzero(~candidates.any(axis=1)):
            if reasons[k] is None:
                label = dim.lead_label[rows[k]] or "(empty)"
                reasons[k] = ReasonCode.NO_ELIGIBLE_REP_FOR_RULE.reason(rule=name, label=label)
    if problem.rules is not None:
        for k in np.flatnonzero(~(candidates & problem.rules.admit[rows]).any(axis=1)):
            if reasons[k] is None and (names := rule_names(problem, int(rows[k]))):
                reasons[k] = ReasonCode.NO_ELIGIBLE_REP_BY_RULES.reason(
                    rules=", ".join(repr(n) for n in names))
    eligible = problem.eligible[rows]
    effort = problem.effort[rows]
    room = free[None, :] >= (effort[:, None] if effort.ndim == 1 else effort)
    own_room = eligible & room  # room of the rep's own, before its team's cap
    blocked_by = np.zeros((rows.size, 0, problem.m), dtype=bool)
    if problem.team_room.size:  # a rep with room in a full team has no room
        used = problem.capacity - free  # effort each rep holds after the batch
        team_free = problem.team_room - problem.capped_teams.astype(np.int64) @ used
        blocked_by = problem.capped_teams[None, :, :] & (team_free[None, :, None] < (
            effort[:, None, None] if effort.ndim == 1 else effort[:, None, :]))
        room &= ~blocked_by.any(axis=1)
    n_eligible = eligible.sum(axis=1)
    full = ~(eligible & room).any(axis=1)
    capped_ids = [t for t, c in zip(problem.team_ids, problem.team_capacity, strict=True) if c >= 0] \
        if problem.team_capacity is not None else []
    out = []
    for row, reason in enumerate(reasons):
        if reason is None:
            if n_eligible[row] == 0:
                reason = ReasonCode.NO_ELIGIBLE_REP.reason()
            elif full[row] and own_room[row].any():  # room of their own, but their teams are full
                teams = [capped_ids[t] for t in np.flatnonzero((blocked_by[row] & own_room[row]).any(axis=1))]
                reason = ReasonCode.TEAM_CAP.reason(eligible=int(own_room[row].sum()),
                                                    teams=", ".join(teams))
            elif full[row]:
                reason = ReasonCode.CAPACITY.reason(eligible=n_eligible[row])
            else:
                reason = ReasonCode.NOT_PLACED.reason()
        out.append(reason)
    return out


def unassigned_reason(problem: Problem, i: int, free: np.ndarray) -> Reason:
    """Why lead i got no rep (see `unassigned_reasons`)."""
    return unassigned_reasons(problem, np.array([i]), free)[0]
