"""An experiment's report from the ledger: per arm, the difference, the sequential test, the sample size.

Everything comes from what the ledger already records: each lead's arm and
experiment (its first decision's), acceptance and first-touch times, owner, and
disposition (won with its value, lost, disqualified, closed). A lead without a disposition
is *pending*: it counts in the arm's leads and speed, not in its conversion or
revenue (counting it as lost would make the faster arm, whose leads close
sooner, look worse or better by timing alone).

The metrics per arm: leads, pending, time to first touch (median, p90, in
minutes from acceptance), conversion (won over resolved), revenue per resolved
lead, and fairness (Jain's index of the arm's leads per rep, over the reps that
took leads in either arm). The headline metric (`Experiment.metric`) gets the
difference with its 95% interval (cluster-robust for account and switchback
units), the always-valid p-value and confidence sequence over daily looks, and
the sample size for `min_effect` (`solver.report.experiment_stats`).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from solver.domain.experiment import ARMS, CHALLENGER, CONTROL, Experiment
from solver.domain.model import Account
from solver.online.experiment import (
    attributed,
    experiment_runs,
    experiment_starts,
    start_of,
    stop_of,
    switchback_unit,
    unit_book,
    unit_id,
)
from solver.online.store import LeadStore
from solver.report.experiment_stats import Difference, difference, jain, sample_size, sequential

METRICS = ("conversion", "revenue_per_lead")


class NoExperiment(LookupError):
    """The ledger records no experiment (of that name)."""


@dataclass(frozen=True)
class Outcomes:
    """One experiment's leads as arrays (one entry a lead with an arm), in acceptance order."""

    lead_ids: list[str]
    challenger: np.ndarray  # bool
    accepted: list[datetime]
    first_touch_min: np.ndarray  # float, nan: not touched yet
    rep_ids: list[str | None]
    outcome: list[str | None]  # won | lost | disqualified | closed; None: pending
    outcome_at: list[datetime | None]
    won_value: np.ndarray  # float: a won deal's value, 0 otherwise
    units: list[str]  # the randomization unit of each lead (`unit_id`)

    @property
    def resolved(self) -> np.ndarray:
        return np.array([o is not None for o in self.outcome], dtype=bool)

    @property
    def won(self) -> np.ndarray:
        return np.array([o == "won" for o in self.outcome], dtype=bool)

    def metric(self, name: str) -> np.ndarray:
        """Per lead: 1/0 won (conversion) or the won value (revenue per lead)."""
        return self.won.astype(float) if name == "conversion" else self.won_value


def outcomes_of(store: LeadStore, experiment: Experiment,
                accounts: Sequence[Account] | None = None) -> Outcomes:
    """The ledger's leads that an arm of the experiment decided (`attributed`: those recorded
    with its name; a lead decided before the ledger recorded names, by the experiments' start
    times), in one read of the leads. `accounts`: the accounts file the router had, whose parent
    chains make the account units."""
    starts = experiment_starts(experiment_runs(store))
    rows = [r for r in attributed(store.leads(), starts)
            if r["arm"] in ARMS and r["experiment"] in (experiment.name, None)]
    accepted = [datetime.fromisoformat(r["accepted_at"]) for r in rows]
    touched = np.array([(datetime.fromisoformat(r["touched_at"]) - at).total_seconds() / 60.0
                        if r["touched_at"] else math.nan for r, at in zip(rows, accepted, strict=True)])
    if experiment.unit == "account":  # the account is in the lead's record, not in the row
        records = store.records(r["lead_id"] for r in rows)  # one read, not one per lead
        book = unit_book(accounts)
        units = [unit_id(experiment, record, at, book) if (record := records.get(r["lead_id"])) is not None
                 else f"lead {r['lead_id']}" for r, at in zip(rows, accepted, strict=True)]
    elif experiment.unit == "switchback":
        units = [switchback_unit(at, experiment.block_hours) for at in accepted]
    else:
        units = [f"lead {r['lead_id']}" for r in rows]
    return Outcomes(
        lead_ids=[r["lead_id"] for r in rows],
        challenger=np.array([r["arm"] == CHALLENGER for r in rows], dtype=bool),
        accepted=accepted, first_touch_min=touched, rep_ids=[r["rep_id"] for r in rows],
        outcome=[r["outcome"] for r in rows],
        outcome_at=[datetime.fromisoformat(r["outcome_at"]) if r["outcome_at"] else None for r in rows],
        won_value=np.array([float(r["outcome_value"] or 0.0) if r["outcome"] == "won" else 0.0
                            for r in rows]),
        units=units,
    )


def arm_figures(data: Outcomes, challenger: bool, reps: Sequence[str]) -> dict[str, Any]:
    """One arm's leads, speed, conversion, revenue and fairness."""
    mine = data.challenger == challenger
    resolved = mine & data.resolved
    touch = data.first_touch_min[mine]
    touch = touch[~np.isnan(touch)]
    taken = Counter(data.rep_ids[k] for k in np.flatnonzero(mine))
    per_rep = np.array([taken[rep] for rep in reps])
    n_resolved = int(resolved.sum())
    return {
        "leads": int(mine.sum()), "pending": int((mine & ~data.resolved).sum()), "resolved": n_resolved,
        "won": int((resolved & data.won).sum()),
        "first_touch_minutes": {"touched": int(touch.size),
                                "median": _round(np.median(touch)) if touch.size else None,
                                "p90": _round(np.quantile(touch, 0.9)) if touch.size else None},
        "conversion": _round(data.won[resolved].mean()) if n_resolved else None,
        "revenue_per_lead": _round(data.won_value[resolved].mean()) if n_resolved else None,
        "fairness_jain": _round(jain(per_rep)) if per_rep.size and per_rep.sum() else None,
    }


def metric_difference(data: Outcomes, metric: str, experiment: Experiment,
                      seen: np.ndarray | None = None) -> Difference:
    """Challenger minus control on `metric` over the resolved leads (and `seen` ones only)."""
    use = data.resolved if seen is None else data.resolved & seen
    clusters = None if experiment.unit == "lead" else np.array(data.units, dtype=object)[use]
    return difference(data.metric(metric)[use], data.challenger[use], clusters)


def daily_looks(data: Outcomes, experiment: Experiment) -> list[tuple[str, Difference]]:
    """The headline difference as it stood at the end of each day (UTC) with an outcome: what a
    team looking at the report every day saw."""
    times = [t for t in data.outcome_at if t is not None]
    if not times:
        return []
    first = min(data.accepted).replace(hour=0, minute=0, second=0, microsecond=0)
    last = max(times)
    resolved_at = np.array([t.timestamp() if t is not None else math.inf for t in data.outcome_at])
    looks = []
    end = first + timedelta(days=1)
    while end - timedelta(days=1) <= last:
        seen = resolved_at < end.timestamp()
        looks.append((end.isoformat(), metric_difference(data, experiment.metric, experiment, seen)))
        end += timedelta(days=1)
    return looks


def experiment_report(store: LeadStore, name: str | None = None,
                      accounts: Sequence[Account] | None = None) -> dict[str, Any]:
    """The report of the experiment `name` (default: the latest one recorded) from the ledger
    (`accounts`: the accounts file routed with, for an account unit's parent chains)."""
    runs = experiment_runs(store, name)
    if not runs:
        raise NoExperiment(f"no experiment {name!r} in the ledger" if name else
                           "the ledger records no experiment (a policy with an experiment section "
                           "must route leads into it first: leadsolver run or serve)")
    name = str(runs[-1]["summary"]["experiment"])
    start = start_of(store, name)
    if start is None:
        raise NoExperiment(f"the experiment {name!r} has no recorded definition")
    experiment = Experiment.model_validate(start["definition"])
    data = outcomes_of(store, experiment, accounts)
    return analyse(data, experiment) | {"started_at": start["started_at"], "arms_policy": start["arms"],
                                        "stopped": stop_of(store, name)}


def analyse(data: Outcomes, experiment: Experiment) -> dict[str, Any]:
    """The report's figures (see the module docstring) for these outcomes."""
    reps = sorted({r for r in data.rep_ids if r is not None})
    tau, alpha = experiment.min_effect, experiment.alpha
    headline = metric_difference(data, experiment.metric, experiment)
    looks = sequential(daily_looks(data, experiment), tau, alpha)
    last = looks[-1] if looks else None
    size = sample_size(headline, experiment.min_effect, alpha, experiment.power, tau)
    significant = last is not None and last.p_value <= alpha
    return {
        "experiment": experiment.model_dump(mode="json"),
        "arms": {CONTROL: arm_figures(data, False, reps), CHALLENGER: arm_figures(data, True, reps)},
        "metric": experiment.metric,
        "difference": headline.to_dict() | {"cluster_robust": experiment.unit != "lead"},
        "differences": {m: metric_difference(data, m, experiment).to_dict() for m in METRICS},
        "sequential": {
            "p_value": last.p_value if last else 1.0, "low": None if last is None else last.to_dict()["low"],
            "high": None if last is None else last.to_dict()["high"], "alpha": alpha, "tau": tau,
            "looks": len(looks), "significant": significant,
        },
        "sample_size": size.to_dict() if size else None,
        "verdict": verdict(headline, significant, size),
        "looks": [look.to_dict() for look in looks],
    }


def verdict(headline: Difference, significant: bool, size: Any) -> str:
    """The report's one line: who wins, or how much longer to run."""
    if significant:
        better = CHALLENGER if headline.diff > 0 else CONTROL
        return (f"{better} is better (always-valid p below alpha): stop with "
                f"`leadsolver experiment stop --winner {better}`")
    if size is None:
        return "not enough resolved leads in each arm to estimate a variance yet"
    if size.still_needed == 0:
        return ("no significant difference with enough leads to find min_effect: an effect that large "
                "is unlikely")
    return (f"no significant difference yet: about {size.still_needed:,} more resolved leads to find "
            "min_effect")


def _round(x: float) -> float | None:
    x = float(x)
    return round(x, 6) if math.isfinite(x) else None
