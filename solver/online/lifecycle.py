"""The lead lifecycle as data: where a lead stands is a status, never read from its reason's text.

::

    received --(normal lead)--> buffered --(micro-batch)--+
       |                                                  |
       +--(urgent: fast path)-----------------------------+--> assigned --(release)--> closed
                                                          |        \\--(reassign: stays assigned)
                                                          +--> waiting | deferred (the backlog)
                                                          |        |--(a rep has room)--> assigned
                                                          |        |--(release)--> closed
                                                          |        \\--(max_backlog_hours)--> expired
                                                          +--> unassigned (final: no rep's rules admit it)
                                                          +--> queued (a fallback's named queue: waits for a
                                                                   person; `events` release/close it)

A store keeps one status per lead (a column in SQLite) and derives the first
decision's status from the answer's `ReasonCode` (`status_of`).
"""

from __future__ import annotations

from enum import StrEnum

from solver.decode.reasons import ASSIGNED, UNASSIGNED_STATUS, ReasonCode
from solver.decode.result import Assignment


class LeadStatus(StrEnum):
    """Where a lead stands in its lifecycle (see the module docstring)."""

    RECEIVED = "received"  # accepted, about to be routed (an urgent lead, decided in the same call)
    BUFFERED = "buffered"  # accepted, waiting for the next micro-batch
    ASSIGNED = "assigned"  # has an owner and holds its capacity (open)
    WAITING = "waiting"  # unassigned for now: retried until a rep can take it (the backlog)
    DEFERRED = "deferred"  # unassigned for now: priced out of every seat with room (the backlog)
    UNASSIGNED = "unassigned"  # final: no rep's hard rules admit it
    CLOSED = "closed"  # released: worked or closed, its owner's capacity free (or closed while waiting)
    EXPIRED = "expired"  # final: it waited `policy.sla.max_backlog_hours` and no rep took it
    QUEUED = "queued"  # a fallback sent it to a named queue (`Assignment.queue`): a person routes it

    @property
    def undecided(self) -> bool:
        """Accepted without an answer yet: the router's buffer (after a restart too)."""
        return self in _UNDECIDED

    @property
    def closable(self) -> bool:
        """Unassigned but not final (the backlog or a queue): a release closes it with no rep."""
        return self in _BACKLOG or self is LeadStatus.QUEUED

    @property
    def in_backlog(self) -> bool:
        """Unassigned but not final: retried by later batches."""
        return self in _BACKLOG


_UNDECIDED = frozenset({LeadStatus.RECEIVED, LeadStatus.BUFFERED})
_BACKLOG = frozenset({LeadStatus.WAITING, LeadStatus.DEFERRED})


def status_of(answer: Assignment) -> LeadStatus:
    """The status a first decision puts its lead in, from the answer's rep and reason code."""
    if answer.rep_id is not None:
        return LeadStatus.ASSIGNED
    if answer.reason_code is ReasonCode.WAITING:
        return LeadStatus.WAITING
    if answer.reason_code is ReasonCode.DEFERRED:
        return LeadStatus.DEFERRED
    if answer.reason_code is ReasonCode.QUEUED:
        return LeadStatus.QUEUED
    return LeadStatus.UNASSIGNED


def decision_status(status: LeadStatus, rep_id: str | None) -> str:
    """The `Assignment.status` a lead shows (``pending``, ``assigned``, ``unassigned``).

    A closed lead shows what it was answered: assigned if it had an owner.
    """
    if status.undecided:
        return "pending"
    if status is LeadStatus.ASSIGNED or (status is LeadStatus.CLOSED and rep_id is not None):
        return ASSIGNED
    return UNASSIGNED_STATUS
