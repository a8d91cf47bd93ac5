"""Speed to lead: how a lead's worth decays with the time to its first touch.

A lead answered in minutes converts many times more often than one answered
in hours. The policy's `speed` section says how fast that worth decays and
what a rep's time to first touch is made of when the data say nothing::

    speed:
      half_life_minutes: 30     # worth halves every 30 minutes of waiting ...
      floor: 0.15               # ... down to 15% of it (a lead answered days later)
      # or a measured curve (minutes -> share of worth kept), linear in between:
      # table: [[0, 1.0], [5, 0.9], [60, 0.4], [1440, 0.15]]
      response_minutes: 10      # a rep's own time to first touch with nothing queued
      handling_minutes: 10      # per untouched lead ahead of the new one
      slots: 8                  # queue positions per rep a batch solve models exactly
      max_wait_hours: 72        # leads no rep on shift may take go to the reps back first, if within this

A rep's expected time to first touch is the wait until its next working minute,
plus ``response + (untouched leads ahead) x handling`` in its working time
(`solver.compile.speed`). Reps carry their own learned `response_minutes` and
`handling_minutes` (`leadsolver learn --ledger`); the policy's are the defaults.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from solver.domain.fields import INTEGER, NUMBER

# Minutes are bounded by a year: a decay or a response time past that is a unit mistake.
YEAR_MINUTES = 525_600.0
Minutes = Annotated[float, NUMBER, Field(ge=0, le=YEAR_MINUTES, allow_inf_nan=False)]
PositiveMinutes = Annotated[float, NUMBER, Field(gt=0, le=YEAR_MINUTES, allow_inf_nan=False)]
Share = Annotated[float, NUMBER, Field(ge=0, le=1, allow_inf_nan=False)]
MAX_WAIT_HOURS = 14 * 24.0


class Speed(BaseModel):
    """The speed-to-lead model of a policy (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Off: leads are worth the same whoever answers them when (the static match score only).
    enabled: bool = True
    half_life_minutes: PositiveMinutes = 30.0
    floor: Share = 0.15
    # (minutes, share kept) points, minutes rising and shares not rising; replaces the half-life.
    table: tuple[tuple[Minutes, Share], ...] = ()
    response_minutes: Minutes = 10.0
    handling_minutes: Minutes = 10.0
    # 0 or 1: a rep's leads in a batch all count as its first (no queue within the batch).
    slots: Annotated[int, INTEGER, Field(ge=0, le=10_000)] = 8
    # 0: a rep off shift takes nothing (the lead waits in the backlog for someone on shift). At
    # most a fortnight, as far as a rep's next shift is looked for (availability.SHIFT_HORIZON).
    max_wait_hours: Annotated[float, NUMBER, Field(ge=0, le=MAX_WAIT_HOURS, allow_inf_nan=False)] = 72.0

    @field_validator("table")
    @classmethod
    def _curve(cls, value: tuple[tuple[float, float], ...]) -> tuple[tuple[float, float], ...]:
        if not value:
            return value
        minutes = [m for m, _ in value]
        shares = [s for _, s in value]
        if any(b <= a for a, b in pairwise(minutes)):
            raise ValueError("table: minutes must rise from point to point")
        if any(b > a for a, b in pairwise(shares)):
            raise ValueError("table: the share kept must not rise with the minutes")
        if shares[0] <= 0:
            raise ValueError("table: the first share kept must be above 0")
        return value
