"""What an operator may change on a rep from the console, and the team those changes make.

A change is a small dict kept in the ledger (`LeadStore.record_rep_change`)
with who made it and when: ``{"available": false}`` pauses a rep (no new
leads; its open leads stay), ``{"available": true}`` resumes it,
``{"capacity": 12}`` sets its capacity, ``{"cap_per_day": 5}`` caps its new
leads per day (None lifts the rep's own daily cap). The reps file stays as it
was written; `apply_changes` replays the ledger's changes over it, in order, so
a restart or a reload of the file keeps what the operators did.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from solver.domain.caps import CapLimits
from solver.domain.errors import InputError
from solver.domain.fields import MAX_CAPACITY
from solver.domain.model import Policy, Rep

FIELDS = ("available", "capacity", "cap_per_day")


def check_change(change: Mapping[str, Any]) -> dict[str, Any]:
    """The change as kept, or InputError naming the field: known fields, booleans and counts only."""
    unknown = [key for key in change if key not in FIELDS]
    if unknown or not change:
        raise InputError(f"a rep change sets one of {', '.join(FIELDS)}", field=unknown[0] if unknown else "")
    out: dict[str, Any] = {}
    for key, value in change.items():
        if key == "available":
            if not isinstance(value, bool):
                raise InputError("available is true or false", field=key)
        elif (value is not None or key == "capacity") and (
                isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_CAPACITY):
            raise InputError(f"{key} is a whole number from 0 to {MAX_CAPACITY:,}", field=key)
        out[key] = value
    return out


def apply_changes(reps: Sequence[Rep], policy: Policy,
                  changes: Iterable[Mapping[str, Any]]) -> tuple[list[Rep], Policy]:
    """The team and policy after the ledger's rep changes (rows of `rep_changes()`, oldest first).

    A change to a rep no longer in `reps` is skipped: the reps file dropped it.
    """
    by_id = {rep.id: rep for rep in reps}
    caps = dict(policy.caps.reps)
    for row in changes:
        rep = by_id.get(row["rep_id"])
        if rep is None:
            continue
        change = row["change"]
        update = {k: change[k] for k in ("available", "capacity") if k in change}
        if update:
            by_id[rep.id] = rep.model_copy(update=update)
        if "cap_per_day" in change:
            own = caps.get(rep.id, CapLimits())
            caps[rep.id] = own.model_copy(update={"per_day": change["cap_per_day"]})
    if caps != policy.caps.reps:
        policy = policy.model_copy(update={"caps": policy.caps.model_copy(update={"reps": caps})})
    return [by_id[rep.id] for rep in reps], policy
