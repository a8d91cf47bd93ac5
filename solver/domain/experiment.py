"""The policy's `experiment` section: a control and a challenger routing the same team's live leads.

The control is the policy itself; the challenger is the policy with the
`challenger` overrides deep-merged over it (another solver, another fairness
weight, the speed model off ...). Both arms share the team honestly: the hard
rules, teams, caps, accounts, batching, SLA and column mapping are the
policy's for both, so a challenger may change only how a rep is chosen among
those the rules admit (`CHALLENGER_KEYS`).

Each lead is randomized by its unit: the lead itself, its account (every lead
of an account, or of its parent account, in one arm, so an account owner
rule cannot carry one arm's decision into the other) or a switchback block
(the whole team in one arm for `block_hours` at a time: for effects that spill
over through shared capacity). `solver.online.experiment` hashes the unit's id
with the seed; the arm and the experiment's name are recorded with every
decision in the ledger (several experiments may share one ledger).

    experiment:
      name: flow-vs-round-robin      # a new name re-randomizes; the ledger keeps each lead's arm
      challenger: {solver: round_robin}
      share: 0.5                     # of the units that go to the challenger
      unit: account                  # lead | account | switchback
      metric: conversion             # conversion | revenue_per_lead: the test's headline
      min_effect: 0.03               # the smallest difference worth finding (sample size)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

CONTROL = "control"
CHALLENGER = "challenger"
ARMS = (CONTROL, CHALLENGER)

# What a challenger may change: how a rep is chosen among those the shared rules admit.
CHALLENGER_KEYS = ("solver", "soft_penalty", "fairness", "high_score", "seed", "time_limit_s", "workers",
                   "pricing", "speed")

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class Experiment(BaseModel):
    """A control (the policy) against a challenger (the policy with `challenger` over it)."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    name: Name
    challenger: dict[str, Any]
    share: Annotated[float, Field(gt=0, lt=1, allow_inf_nan=False)] = 0.5
    unit: Literal["lead", "account", "switchback"] = "lead"
    # Switchback blocks, counted from 1970-01-01 UTC (so every process agrees on the block of a time).
    block_hours: Annotated[float, Field(gt=0, le=24 * 28, allow_inf_nan=False)] = 4.0
    seed: Annotated[int, Field(ge=0, le=2**31 - 1)] = 0
    metric: Literal["conversion", "revenue_per_lead"] = "conversion"
    # The smallest difference (challenger minus control, in the metric's units) worth finding: the
    # sample size is computed for it, and the sequential test's mixture is centred on its scale.
    min_effect: Annotated[float, Field(gt=0, allow_inf_nan=False)] = 0.02
    alpha: Annotated[float, Field(gt=0, lt=0.5, allow_inf_nan=False)] = 0.05
    power: Annotated[float, Field(gt=0.5, lt=1, allow_inf_nan=False)] = 0.8

    @field_validator("challenger")
    @classmethod
    def _only_what_a_challenger_may_change(cls, value: dict[str, Any]) -> dict[str, Any]:
        if not value:
            raise ValueError("give what the challenger changes, e.g. {solver: round_robin}")
        for key in value:
            if key not in CHALLENGER_KEYS:
                raise ValueError(
                    f"{key!r}: both arms share the team's hard rules, teams, caps, batching, SLA and "
                    f"columns; a challenger may change only {', '.join(CHALLENGER_KEYS)}")
        return value


def merged(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """`base` with `overrides` deep-merged over it (a nested mapping merges, anything else replaces)."""
    out = dict(base)
    for key, value in overrides.items():
        old = out.get(key)
        out[key] = merged(old, value) if isinstance(old, Mapping) and isinstance(value, Mapping) else value
    return out
