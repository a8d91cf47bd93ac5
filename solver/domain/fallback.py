"""Where a lead goes when routing cannot place it by its rules: a queue, a team, a rep, or normal routing.

Nothing falls silently to "unassigned": a lead no rule admits, or whose account
owner is inactive or gone, goes where the policy says.

    fallback:
      no_rule_match: {queue: review}       # or {team: inside_sales}, {rep: R1}, normal
      owner_inactive: {queue: review}      # the account's owner is unavailable or not in the team
      queues: [review]                     # named queues (a lead in one waits for a person)
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, model_validator

from solver.domain.rule_syntax import fail


class FallbackTarget(BaseModel):
    """Exactly one destination: a named queue, a team, a rep, or normal routing."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    queue: str | None = None
    team: str | None = None
    rep: str | None = None
    route: Literal["normal"] | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, raw: Any) -> Any:
        # `normal` (a bare word) is the one shorthand: it needs no argument.
        return {"route": "normal"} if raw == "normal" else raw

    @model_validator(mode="after")
    def _exactly_one(self) -> FallbackTarget:
        given = [k for k in ("queue", "team", "rep", "route") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("a fallback names exactly one of queue, team, rep or normal "
                             f"(got {', '.join(given) or 'none'})")
        return self


class Fallback(BaseModel):
    """The policy's fallbacks; None keeps today's behaviour (unassigned, or normal routing)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    no_rule_match: FallbackTarget | None = None  # None: unassigned with the reason
    owner_inactive: FallbackTarget | None = None  # None: normal routing
    queues: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _known_queues(self) -> Fallback:
        for name, target in (("no_rule_match", self.no_rule_match), ("owner_inactive", self.owner_inactive)):
            if target is not None and target.queue is not None and target.queue not in self.queues:
                raise fail(f"{name}: queue {target.queue!r} is not listed in fallback.queues",
                           at=(name, "queue"))
        return self
