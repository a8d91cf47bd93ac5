"""Request and response models of the HTTP API: what the OpenAPI document shows."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from solver.decode.result import Assignment
from solver.domain.ids import normalize_id
from solver.domain.model import Lead

MAX_BATCH_LEADS = 1_000


def _optional_id(value: str) -> str:
    return normalize_id(value) if value else value


class LeadRequest(Lead):
    """A lead as the API reads it: JSON's own types (no coercion) and the id rule of solver.domain.ids.

    Strict: `true` is no number, `"100"` no float and `"yes"` no boolean; a
    client sending them has a bug that a silent conversion would hide. Only
    `created_at` is read from text, as JSON has no date type.
    """

    model_config = ConfigDict(strict=True)

    created_at: Annotated[datetime | None, Field(strict=False)] = None

    _ids = field_validator("id", "owner_id", "account_id", "parent_account_id")(_optional_id)

    def to_lead(self) -> Lead:
        """The plain `Lead` (already validated): the store tells a retry from a change by equality,
        and pydantic models of two classes are never equal."""
        return Lead.model_construct(self.model_fields_set, **dict(self))


class LeadAnswer(BaseModel):
    """Where a lead stands: assigned or unassigned (with the reason), or pending a micro-batch."""

    lead_id: str
    status: Literal["assigned", "unassigned", "pending"]
    rep_id: str | None = None
    reason: str = ""
    expected_value: float | None = None
    policy: str | None = None
    reason_code: str | None = Field(default=None, description="the reason as a code "
                                    "(solver.decode.reasons.ReasonCode); none while pending")
    arm: str | None = Field(default=None, description="the experiment arm (control | challenger) whose "
                            "policy decided the lead; none outside an experiment")

    @classmethod
    def of(cls, lead_id: str, assignment: Assignment | None) -> LeadAnswer:
        if assignment is None:
            return cls(lead_id=lead_id, status="pending", reason="accepted; waiting for the next micro-batch")
        return cls.model_validate(asdict(assignment))


class LeadEvent(BaseModel):
    """One entry of the ledger's audit trail."""

    at: str
    kind: str = Field(description="accepted | assigned | unassigned | reassigned | touched | released")
    rep_id: str | None = None
    from_rep_id: str | None = None
    reason: str | None = None
    reason_code: str | None = None
    arm: str | None = Field(default=None, description="the lead's experiment arm, if any")


class LeadDetail(LeadAnswer):
    """A lead's answer, the ledger's explanation of why this rep (and not others), its audit trail."""

    lifecycle: str | None = Field(default=None, description=(
        "where the lead stands now in the ledger (solver.online.lifecycle.LeadStatus): assigned "
        "(open, holding its owner's capacity), closed (released, worked or closed), waiting or deferred "
        "(the backlog), queued, expired, unassigned; `status` is the routing answer and stays "
        "'assigned' after a release"))
    outcome: str | None = Field(default=None, description="the disposition recorded for it (won, lost, "
                                "disqualified, closed); none yet")
    explanation: dict[str, Any] | None = None
    events: list[LeadEvent] = Field(default_factory=list)


class BatchRequest(BaseModel):
    leads: list[LeadRequest] = Field(min_length=1, max_length=MAX_BATCH_LEADS)


class BatchAnswer(BaseModel):
    results: list[LeadAnswer]


class Loads(BaseModel):
    loads: dict[str, int] = Field(description="open leads per rep, as the router counts them")
    pending: int = Field(description="normal leads waiting for the next micro-batch")


class Reloaded(BaseModel):
    reps: int


class Probe(BaseModel):
    status: str
    pending: int | None = None
    reason: str | None = Field(default=None, description="why not ready")
