"""Explanations: why a lead went to its rep, and why the best alternatives did not get it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from solver.compile.problem import Problem
from solver.decode.reasons import (
    DEFERRED,
    basis,
    blocking_rule,
    placed_reason,
    priced_out,
    rule_names,
    unassigned_reason,
)


@dataclass(frozen=True)
class RepFit:
    """How one rep looks for the lead being explained (money and loads rounded to 1e-6)."""

    rep_id: str
    expected_value: float
    profit: float  # expected value after soft-rule discounts and fairness, net of any price
    load: float  # the rep's load with this batch's answer
    target: float  # its fair share of the load
    free_capacity: int  # effort units left after this batch's answer
    price: float | None = None  # the seat's price, when the batch was priced (profit is net of it)
    # The routing rules that took effect on this rep for the lead ("admit: 'name'", ...), when
    # the policy has routing rules.
    rules: tuple[str, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form; ``price`` appears only when the batch was priced, ``rules`` only
        when the policy has routing rules."""
        out: dict[str, Any] = {
            "rep_id": self.rep_id,
            "expected_value": self.expected_value,
            "profit": self.profit,
            "load": self.load,
            "target": self.target,
            "free_capacity": self.free_capacity,
        }
        if self.price is not None:
            out["price"] = self.price
        if self.rules is not None:
            out["rules"] = list(self.rules)
        return out


@dataclass(frozen=True)
class Alternative:
    """A rep the lead did not go to, and why not."""

    rep: RepFit
    why_not: str

    def to_dict(self) -> dict[str, Any]:
        """The rep's JSON form with ``why_not`` added."""
        return self.rep.to_dict() | {"why_not": self.why_not}


@dataclass(frozen=True)
class Explanation:
    """Why a lead has its rep (or none), and why its best alternatives lost."""

    lead_id: str
    assigned_to: RepFit | None  # None: the lead is unassigned
    why: str
    alternatives: tuple[Alternative, ...]
    queue: str | None = None  # the named queue a fallback sent the lead to

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of ``assign --explain`` and the online ledger (keys in this order;
        ``queue`` only for a queued lead)."""
        out = {
            "lead_id": self.lead_id,
            "assigned_to": None if self.assigned_to is None else self.assigned_to.to_dict(),
            "alternatives": [alt.to_dict() for alt in self.alternatives],
            "why": self.why,
        }
        return out if self.queue is None else out | {"queue": self.queue}

    def __getitem__(self, key: str) -> Any:
        """``explanation["why"]``: read like the JSON dict it was before it had a type."""
        return self.to_dict()[key]


def explanation(problem: Problem, owner: np.ndarray, i: int, alternatives: int = 3, *,
                free: np.ndarray | None = None, loads: np.ndarray | None = None,
                cap_names: Sequence[str] | None = None, reason: str | None = None) -> Explanation:
    """The chosen rep and the top alternatives, each with why it lost.

    Alternatives rank by the profit the solver maximised (after soft-rule
    penalties and any seat price) among eligible reps, then the others by
    expected value. `free` (capacity left under `owner`) and `loads` (the
    fairness loads under it) are counted here unless given: a caller
    explaining every lead of a batch counts them once (each is O(n)). `cap_names` (per rep,
    the cap over time that bounds it, "" none) name a cap where it, not capacity, was full;
    `reason`, an unassigned lead's reason as its answer gives it where caps reworded it
    (`solver.decode.caps.cap_reasons`), is the headline, so the two say the same.
    """
    chosen = int(owner[i])
    if free is None:
        free = problem.capacity - problem.used_capacity(owner)
    if loads is None:
        loads = problem.loads(owner)
    order = np.lexsort((-problem.value[i], -np.where(problem.eligible[i], problem.profit[i], -np.inf)))
    others = [int(j) for j in order[: alternatives + 1] if j != chosen][:alternatives]

    def fit(j: int) -> RepFit:
        return RepFit(
            rep_id=problem.rep_ids[j],
            expected_value=round(float(problem.value[i, j]), 6),
            profit=round(float(problem.profit[i, j]), 6),
            load=round(float(loads[j]), 6),
            target=round(float(problem.targets[j]), 6),
            free_capacity=int(free[j]),
            price=None if problem.price is None else round(float(problem.price[j]), 6),
            rules=rule_trail(problem, i, j),
        )

    if chosen >= 0:
        # This lead's row only: `lead_reasons` covers the whole batch, and the router
        # explains every lead of a batch (n x n x m work for n leads).
        elig = problem.eligible[i]
        better = int(((problem.profit[i] > problem.profit[i, chosen] + 1e-9) & elig).sum())
        why: str = ("account owner rule" if problem.forced[i] >= 0
                    else placed_reason(False, better, int(elig.sum()), basis(problem)))
    elif reason is not None:
        why = reason
    elif (problem.price is not None and priced_out(problem, i, free).any()
          and not (problem.eligible[i] & (free >= problem.effort[i])).any()):
        why = f"{DEFERRED}: worth less than the price of every eligible rep with room"
    else:
        why = unassigned_reason(problem, i, free)
    if i in problem.notes:
        why = f"{why}; {problem.notes[i]}"
    queued = problem.queued.get(i)
    return Explanation(
        lead_id=problem.lead_ids[i],
        assigned_to=fit(chosen) if chosen >= 0 else None,
        why=why,
        alternatives=tuple(Alternative(fit(j), _why_not(problem, owner, i, j, free, loads, cap_names))
                           for j in others),
        queue=None if queued is None else queued[0],
    )


_DONE = {"admit": "admitted", "exclude": "excluded", "prefer": "preferred"}


def rule_trail(problem: Problem, i: int, j: int) -> tuple[str, ...] | None:
    """How each routing rule that took effect on lead i treats rep j, by the rule's name."""
    if problem.rules is None:
        return None
    rep_id, out = problem.rep_ids[j], []
    for e in problem.rules.trail(i):
        weight = "the policy's soft_penalty" if e.weight is None else f"{e.weight:g}"
        strength = "" if e.mode == "hard" else f" (soft, weight {weight})"
        if rep_id in e.reps:
            out.append(f"{_DONE[e.action]} by {e.rule!r}{strength}")
        elif e.action != "exclude":
            out.append(f"not {_DONE[e.action]} by {e.rule!r}{strength}")
    return tuple(out)


def explain_lead(problem: Problem, owner: np.ndarray, i: int, alternatives: int = 3, *,
                 free: np.ndarray | None = None, loads: np.ndarray | None = None,
                 reason: str | None = None) -> dict[str, Any]:
    """`explanation` in its JSON form (what the online router stores in its ledger)."""
    return explanation(problem, owner, i, alternatives, free=free, loads=loads, reason=reason).to_dict()


def _why_not(
    problem: Problem, owner: np.ndarray, i: int, j: int, free: np.ndarray, loads: np.ndarray,
    cap_names: Sequence[str] | None = None,
) -> str:
    chosen = int(owner[i])
    if problem.forced[i] >= 0:
        return "the lead's account is owned by another rep (owner rule)"
    if not problem.available[j]:
        return "rep unavailable"
    if not problem.eligible[i, j]:
        if problem.price is not None and priced_out(problem, i, None)[j]:
            return (f"priced out: worth less here than the seat's price {problem.price[j]:,.2f} "
                    "(its room is held for better-matched leads)")
        if (dimension := blocking_rule(problem, i, j)) is not None:
            return f"blocked by the hard rule on {dimension}"
        if names := rule_names(problem, i, j):
            return f"blocked by the routing rule {', '.join(repr(n) for n in names)}"
        return "not admitted: the account's named rep or team, or a fallback, admits others"
    effort = problem.effort[i] if problem.effort.ndim == 1 else problem.effort[i, j]
    if free[j] < effort:
        if cap_names is not None and cap_names[j]:
            return f"cap: its {cap_names[j]} cap is reached (its room went to other leads of the batch)"
        return "at capacity: its room went to other leads of the batch"
    if problem.team_room.size:
        # from `free`, not `team_free(owner)`: that counts the batch again for every lead
        team_free = problem.team_room - problem.capped_teams.astype(np.int64) @ (problem.capacity - free)
        full = [t for t, members in enumerate(problem.capped_teams) if members[j] and team_free[t] < effort]
        if full:
            capped = [t for t, c in zip(problem.team_ids, problem.team_capacity, strict=True) if c >= 0]  # type: ignore[arg-type]
            return f"team cap: team {capped[full[0]]} is at its cap (its room went to other leads)"
    if chosen < 0:
        return "had room but the policy did not place the lead"
    if problem.profit[i, j] < problem.profit[i, chosen]:
        if problem.penalty_factor is not None and problem.penalty_factor[i, j] < 1:
            return "lower value after the soft-rule penalty"
        return "lower expected value"
    if problem.options.fairness_weight > 0 and loads[j] >= problem.targets[j]:
        return "fairness: at or above its fair share of the load"
    if np.isclose(problem.profit[i, j], problem.profit[i, chosen], rtol=1e-9, atol=1e-9):
        return "the same value as the rep chosen: a tie, either was optimal"
    return "higher value here but the batch optimum used this rep's room elsewhere"
