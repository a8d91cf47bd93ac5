"""Experiments in the simulator: a scenario routed by a policy with an experiment, outcomes in its ledger.

`run_experiment` simulates one seed of a scenario whose policy carries an
`experiment` section: the real router splits the leads into arms, and each
touched lead's disposition (won with its value, or lost) is recorded in the
router's store at the time its work ends, as `leadsolver events` would record
it from the CRM. The report is then read from that store by the same code as
`leadsolver experiment report` (`solver.report.experiment_report`).

A known lift. With `lift`, a challenger lead's chance to win is
``min(1, p + lift)`` instead of the truth model's ``p``
(`solver.sim.simulate.win_probability`): the true difference in conversion
is then known (`true_lift`: the mean of ``min(1, p + lift) - p``, equal to
`lift` unless some leads' chances are within `lift` of 1), so an A/B study can
measure power and the interval's coverage. With the same policy in both arms
and no lift, a run is an A/A experiment: any difference found is noise.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from solver.domain.experiment import CHALLENGER, Experiment
from solver.domain.model import Policy
from solver.report.experiment_report import analyse, outcomes_of
from solver.sim.response import rep_pace, router_reps
from solver.sim.scenario import Scenario
from solver.sim.simulate import DAY_S, Simulation, run_policy
from solver.sim.stream import make_stream, team_reps, truth_reps


class ExperimentSimulation(Simulation):
    """A `Simulation` whose dispositions go to the router's ledger, the challenger's with `lift`."""

    lift = 0.0

    def on_touch(self, i: int, t: float, now: datetime) -> None:
        super().on_touch(i, t, now)
        lead_id = self.stream.ids[i]
        answer = self.router.store.decision(lead_id)
        if self.lift and answer is not None and answer.arm == CHALLENGER:
            self.won[i] = self.u_win[i] < min(1.0, self.p_win[i] + self.lift)
        r = self.response
        # the work ends when `Simulation.on_touch` schedules the release (the same draw)
        done = t + r.work_days * DAY_S * float(np.exp(r.work_sigma * self.z_work[i]))
        value = float(self.stream.value[i]) if self.won[i] else None
        self.router.store.record_outcome(lead_id, self.at(done), "won" if self.won[i] else "lost",
                                         value=value)


@dataclass(frozen=True)
class ExperimentRun:
    """One simulated experiment: the report's figures and the effect that was true."""

    report: dict[str, Any]
    true_lift: float  # the mean effect of `lift` on the chance to win of the leads touched


def experiment_policy(scenario: Scenario, solver: str, seed: int, experiment: dict[str, Any]) -> Policy:
    """The scenario's policy run as `solver` (`run_policy`) with an experiment section."""
    base = run_policy(scenario, solver, seed)
    return Policy.model_validate(base.model_dump() | {"experiment": experiment})


def run_experiment(scenario: Scenario, solver: str, seed: int, experiment: dict[str, Any],
                   lift: float = 0.0) -> ExperimentRun:
    """Simulate one seed of `scenario` routed by `solver` with `experiment`, and report on it."""
    policy = experiment_policy(scenario, solver, seed, experiment)
    team = team_reps(scenario)
    pace = rep_pace(scenario.response, team)
    sim = ExperimentSimulation(scenario, router_reps(scenario, team, pace), policy,
                               make_stream(scenario, seed), seed, truth_reps(scenario, team), pace)
    sim.lift = lift
    sim.run()
    touched = sim.touched
    p = sim.p_win[touched]
    true_lift = float(np.mean(np.minimum(1.0, p + lift) - p)) if p.size else 0.0
    exp = Experiment.model_validate(experiment)
    return ExperimentRun(analyse(outcomes_of(sim.router.store, exp), exp), true_lift)
