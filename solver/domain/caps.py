"""Caps over time: most leads a rep (or a team) takes per day, week, month or rolling 24 h.

Beside the open-lead `capacity` (leads held now), sales teams cap intake over
time: "at most 10 new leads a day", "40 a week", "at most 90% of capacity",
"200 a month, spread evenly over the month's days". Caps count decisions
recorded in the lead store (assignments, reassignments to the rep), in the
rep's own time zone for calendar periods; every policy and the fast path see
a rep whose cap is reached as full.

    caps:
      default: {per_day: 10, per_week: 40, utilisation: 0.9}
      reps:  {R7: {per_day: 2}}             # overrides the default per field
      teams: {enterprise: {per_day: 30}}    # the team's members together
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from solver.domain.fields import INTEGER, MAX_CAPACITY, NUMBER

Count = Annotated[int, INTEGER, Field(ge=0, le=MAX_CAPACITY)]


class CapLimits(BaseModel):
    """The limits of one rep or team; None = no limit of that kind."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    per_day: Count | None = None  # calendar day in the rep's time zone
    per_week: Count | None = None  # calendar week (Monday to Sunday) in the rep's time zone
    per_month: Count | None = None  # calendar month in the rep's time zone
    rolling_24h: Count | None = None  # the 24 hours before the decision
    # With per_month: each day takes at most its share of what is left of the month
    # (left / days left, rounded up), so the month's cap is not spent in its first days.
    spread_month: bool = False
    # At most this share of `capacity` open at once (0.9 = 90%): headroom for the rep's own leads.
    utilisation: Annotated[float, NUMBER, Field(gt=0, le=1, allow_inf_nan=False)] | None = None

    def merged(self, override: CapLimits | None) -> CapLimits:
        """These limits with the fields `override` sets replaced."""
        if override is None:
            return self
        return self.model_copy(update=override.model_dump(exclude_unset=True))

    @property
    def limited(self) -> bool:
        return any(v is not None for v in (self.per_day, self.per_week, self.per_month,
                                            self.rolling_24h, self.utilisation))


class Caps(BaseModel):
    """Caps for every rep (`default`), single reps and teams (by team id)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    default: CapLimits = Field(default_factory=CapLimits)
    reps: dict[str, CapLimits] = Field(default_factory=dict)
    teams: dict[str, CapLimits] = Field(default_factory=dict)

    def for_rep(self, rep_id: str) -> CapLimits:
        return self.default.merged(self.reps.get(rep_id))

    @property
    def any(self) -> bool:
        return (self.default.limited or any(c.limited for c in self.reps.values())
                or any(c.limited for c in self.teams.values()))
