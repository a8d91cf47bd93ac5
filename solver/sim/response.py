"""The response model's truth per rep, and what the router is told about it.

Each rep's first response to a lead has a median of ``base + handling x queue``
minutes in the rep's working time (`ResponseSpec`): the queue is the untouched
leads the rep holds when the lead reaches it (or, in the open-leads model of
older scenario files, its open leads). A rep's base and handling are its own:
given in the team (`Rep.response_minutes` / `Rep.handling_minutes`) or the
scenario's values times a pace drawn once per rep. The draw is seeded by the
scenario's `response.speed_seed` and the rep's id, never by the policy or the
traffic seed, so every policy and seed faces the same team, and adding a rep
leaves the others' pace alone.

The router sees the truth times `response.estimate_factor` (1 = it knows the
reps; 0.5 or 2 = it believes them twice as fast or twice as slow), and, with
`team.router_skills` off, no skills. Outcomes always follow the truth.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from solver.domain.model import Rep
from solver.sim.scenario import ResponseSpec, Scenario


@dataclass(frozen=True)
class RepPace:
    """The reps' true response times: median minutes with nothing queued, and per queued lead."""

    base: np.ndarray  # float (m,)
    handling: np.ndarray  # float (m,)


def pace_draw(seed: int, rep_id: str) -> float:
    """The rep's standard-normal pace draw: a function of the scenario's seed and the rep id alone."""
    return float(np.random.default_rng([seed, zlib.crc32(rep_id.encode("utf-8"))]).standard_normal())


def rep_pace(response: ResponseSpec, reps: Sequence[Rep]) -> RepPace:
    """Each rep's true base and handling minutes (its own when the team gives them)."""
    handling = (response.handling_minutes if response.handling_minutes is not None
                else response.minutes_per_open_lead)
    base, per_lead = [], []
    for rep in reps:
        pace = float(np.exp(response.rep_speed_sigma * pace_draw(response.speed_seed, rep.id)))
        base.append(rep.response_minutes if rep.response_minutes is not None
                    else response.base_minutes * pace)
        per_lead.append(rep.handling_minutes if rep.handling_minutes is not None else handling * pace)
    return RepPace(np.array(base, dtype=float), np.array(per_lead, dtype=float))


def router_reps(scenario: Scenario, reps: Sequence[Rep], pace: RepPace) -> list[Rep]:
    """The reps as the router sees them: the true pace x `estimate_factor`, skills if it may see them."""
    factor = scenario.response.estimate_factor
    out = []
    for rep, base, handling in zip(reps, pace.base, pace.handling, strict=True):
        update: dict[str, object] = {"response_minutes": round(float(base) * factor, 6),
                                     "handling_minutes": round(float(handling) * factor, 6)}
        if not scenario.team.router_skills:
            update["skills"] = {}
        out.append(rep.model_copy(update=update))
    return out


def median_minutes(pace: RepPace, j: int, queued: int) -> float:
    """Rep j's median first-response minutes with `queued` leads ahead of the new one."""
    return float(pace.base[j] + pace.handling[j] * queued)
