"""The crm suite: batches of the CRM replay (solver.sim.crm) as benchmark instances.

Thin on purpose: the team (agents, offices, skills learned before the cutoff)
and the replayed lead stream come from `solver.sim.crm` through the scenario
file; this module only cuts the stream into windows of consecutive days and
makes each window one batch. Per-rep capacity is overridden so that it binds
(the replay's own capacity of 40 never does in two weeks), which is where
policies differ. Fairness weight 0, as in the synthetic suite, so the LP
optimum is the exact reference.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from solver.bench.synthetic import Instance
from solver.domain.errors import InputError
from solver.domain.model import Lead, Policy, lead_segment

# The replay scenario shipped in the repository (an editable install finds it).
DEFAULT_SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "crm_replay.yaml"
DAY_S = 86_400.0


@dataclass(frozen=True)
class CrmWindow:
    """The leads that arrive in `days` days from day `start_day` of the replay, as one batch."""

    scenario_path: str
    start_day: int
    days: int
    capacity: int

    @property
    def name(self) -> str:
        return f"crm-day{self.start_day}+{self.days}-cap{self.capacity}"

    def build(self, seed: int) -> Instance:
        from solver.sim.crm import crm_reps  # the CRM data source is imported only when used
        from solver.sim.scenario import load_scenario
        from solver.sim.stream import make_stream

        scenario = load_scenario(self.scenario_path)
        if scenario.crm is None:
            raise InputError("not a CRM replay scenario (no crm section)", file=self.scenario_path)
        reps = [r.model_copy(update={"capacity": self.capacity}) for r in crm_reps(scenario)]
        s = make_stream(scenario, seed)
        rows = np.flatnonzero((s.arrival_s >= self.start_day * DAY_S)
                              & (s.arrival_s < (self.start_day + self.days) * DAY_S))
        leads = [Lead(id=str(s.ids[i]), territory=str(s.territory[i]), industry=str(s.industry[i]),
                      product=str(s.product[i]), segment=lead_segment(str(s.segment[i])),
                      account_id=str(s.account[i]),
                      value=float(s.value[i]), score=float(s.score[i]))
                 for i in rows]
        return Instance(f"{self.name}-seed{seed}", reps, leads, Policy())


def crm_windows(scenario_path: str | None = None, quick: bool = False) -> list[CrmWindow]:
    """Two-week windows early, mid and late in the replay, each at a tight and a loose capacity."""
    path = Path(scenario_path) if scenario_path else DEFAULT_SCENARIO
    if not path.is_file():
        raise InputError("CRM replay scenario not found; pass --scenario PATH", file=str(path))
    if quick:
        return [CrmWindow(str(path), 0, 7, 4)]
    return [CrmWindow(str(path), start, 14, cap) for start in (0, 84, 168) for cap in (6, 10)]
