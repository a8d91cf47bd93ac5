"""A scenario's sources: the team, the lead stream and the skills that decide outcomes.

They come from the scenario file itself (reps listed in `team.reps`,
synthetic traffic from `solver.sim.arrivals`) or from a CRM replay
(`solver.sim.crm`). This module is the one place that tells the two apart.
It sits above both, so the scenario stays pure configuration, the CRM source
never imports the simulator, and no module of the simulation imports back.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from solver.domain.model import Rep
from solver.sim.arrivals import LeadStream, synthetic_stream
from solver.sim.crm import crm_reps, crm_stream, crm_truth
from solver.sim.scenario import Scenario, edit_team, listed_reps

__all__ = ["LeadStream", "make_stream", "team_reps", "truth_reps"]


def make_stream(scenario: Scenario, seed: int) -> LeadStream:
    """The scenario's lead stream for one seed (a CRM replay, or synthetic traffic)."""
    if scenario.crm is not None:
        return crm_stream(scenario, seed)
    return synthetic_stream(scenario.stream, scenario, np.random.default_rng([seed, 1]))


def team_reps(scenario: Scenario) -> list[Rep]:
    """The scenario's reps after its edits (add, remove, set), with quota-derived weights.

    A CRM scenario's base team is the CRM's agents, with skills learned from history.
    """
    if scenario.crm is not None:
        return edit_team(scenario, crm_reps(scenario), str(scenario.path(scenario.crm.data)))
    return edit_team(scenario, *listed_reps(scenario))


def truth_reps(scenario: Scenario, reps: Sequence[Rep]) -> list[Rep]:
    """The reps' true skills that drive outcomes; the router's own skills unless the source knows better.

    A CRM replay learns the router's skills on earlier deals but draws outcomes
    from skills fitted on the replayed deals, so a policy gains only as far as
    history predicts the future.
    """
    if scenario.crm is None:
        return list(reps)
    return crm_truth(scenario, reps)
