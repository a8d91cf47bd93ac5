"""The round robins' positions in the ledger, so cron runs, the service and restarts carry on.

A rotation's pointer (`RotationState`) is a rep index into the team of the
batch that set it. The store keeps it by rep id instead: the rep the pool's
rotation goes to next and the one it went to last, with the smooth weighted
round robin's credits (already by rep id). Read back against today's team, the
rotation resumes at its next rep; if that rep has left the team, at the rep
after the last one; if both have left, at the first rep.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from solver.compile.scoring import RotationState
from solver.online.store import LeadStore


def load(store: LeadStore, rep_ids: Sequence[str]) -> RotationState:
    """The rotations saved in `store`, as pointers into `rep_ids` (empty: every rotation at its start)."""
    saved = store.rotation()
    if not saved or not rep_ids:
        return RotationState()
    index = {rep: j for j, rep in enumerate(rep_ids)}
    return RotationState.from_dict({pool: {"pointer": _pointer(state, index, len(rep_ids)),
                                           "credits": state.get("credits", {})}
                                    for pool, state in saved.items()})


def save(store: LeadStore, rotation: RotationState, rep_ids: Sequence[str]) -> None:
    """Keep the rotations of a batch solved over `rep_ids` (in the caller's transaction)."""
    m = len(rep_ids)
    if not m:
        return
    pools = {pool: {"next": rep_ids[state["pointer"] % m], "last": rep_ids[(state["pointer"] - 1) % m],
                    "credits": state["credits"]}
             for pool, state in rotation.to_dict().items()}
    if pools:
        store.save_rotation(pools)


def _pointer(state: Mapping[str, Any], index: Mapping[str, int], m: int) -> int:
    if state.get("next") in index:
        return index[state["next"]]
    if state.get("last") in index:  # the next rep left: the one after the last rep served
        return (index[state["last"]] + 1) % m
    return 0
