"""The lead store: everything the router persists, behind one protocol.

The router keeps no copy of what a store holds: it asks the store which leads
are buffered, open or waiting, what a lead was answered and how loaded each
rep is. Three stores implement `LeadStore`: `MemoryStore` (the simulator's hot
path: dicts and incrementally kept numpy loads, nothing on disk), `SqliteStore`
(a durable ledger file) and `PostgresStore` (a ledger in a database that several
service replicas and the job share; `solver.online.pg_store`). A further backend
is a module that passes tests/online/test_store_contract.py.

Writes. Each write method is atomic; `transaction()` groups several into one
(all or nothing, nested uses join the outer one). A first decision's lifecycle
status follows from its answer (`solver.online.lifecycle.status_of`).

Errors. A store raises `StoreError` subclasses, never its driver's: callers
(the CLI, the HTTP service) catch these.

Experiments. A lead's `Assignment.arm` (the experiment arm whose policy decided
it, None outside an experiment) and `Assignment.experiment` (that experiment's
name: one ledger may hold several experiments) are fixed by its first decision:
a later answer (from the backlog, a reassignment) keeps them whatever it
carries. Every event of the lead (its outcome's too) shows the arm; the lead's
row (`leads()`) shows both.

Times are timezone-aware datetimes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Protocol, runtime_checkable

import numpy as np

from solver.decode.result import Assignment
from solver.domain.model import Lead
from solver.online.lifecycle import LeadStatus


class StoreError(RuntimeError):
    """The store failed (not the caller's input): the operation changed nothing."""


class StoreBusy(StoreError):
    """Another writer held the store's lock past the timeout (an overlapping job)."""


class StoreUnavailable(StoreError):
    """The store cannot be opened or used: not a ledger file, unreadable, or its migration failed."""


class StoreReadOnly(StoreUnavailable):
    """A write to a store opened read-only, or on a file or folder the process cannot write."""


class StoreFull(StoreError):
    """The disk (or the database's page limit) is full: the write was rolled back."""


class Accepted(Enum):
    """What `LeadStore.accept` made of a lead: new, a retry of a known one, or a changed duplicate.

    Only NEW is true, so ``if store.accept(...)`` reads "it was new".
    """

    NEW = "new"
    RETRY = "retry"  # the id is known with the same content: nothing written
    CHANGED = "changed"  # the id is known with other content: the first version is kept

    def __bool__(self) -> bool:
        return self is Accepted.NEW


class LeadConflict(ValueError):
    """A lead id sent again with other content than the first time (the HTTP API answers 409)."""

    def __init__(self, lead_id: str, fields: Sequence[str]) -> None:
        self.lead_id = lead_id
        self.fields = tuple(fields)
        super().__init__(f"lead {lead_id!r} was already received with other content "
                         f"({', '.join(self.fields) or 'record'} differ); the first version is kept")

    @classmethod
    def between(cls, first: Lead | None, again: Lead) -> LeadConflict:
        """The conflict of `again` with the `first` version a store kept (None: not known)."""
        return cls(again.id, changed_fields(first, again) if first is not None else [])


def changed_fields(first: Lead, again: Lead) -> list[str]:
    """The fields in which a re-sent lead differs from the stored one (empty: a retry)."""
    old, new = first.model_dump(), again.model_dump()
    return [name for name in old if old[name] != new.get(name)]


def sort_accepts(leads: Sequence[Lead], known: set[str],
                 record: Callable[[str], Lead | None]) -> tuple[list[Accepted], dict[str, Lead]]:
    """What `LeadStore.accept_many` makes of each of `leads`, given the ids a ledger already
    holds (`known`, each one's first version read by `record`): each lead's `Accepted`, and
    the new leads to write, by id in order (a lead repeated in `leads` is new once)."""
    first: dict[str, Lead] = {}
    out: list[Accepted] = []
    for lead in leads:
        if lead.id in known or lead.id in first:
            kept = first.get(lead.id) or record(lead.id)
            out.append(Accepted.RETRY if kept == lead else Accepted.CHANGED)
        else:
            first[lead.id] = lead
            out.append(Accepted.NEW)
    return out, first


# What a ledger's `intake` read last: (since, the last event seq read, the assignments since then).
IntakeCache = tuple[datetime, int, list[tuple[str, datetime]]]


def intake_after(cache: IntakeCache | None, since: datetime) -> int:
    """The event seq after which a ledger's `intake` reads anew (0: from the start): the cache
    serves the reads since `since` unless it was read since a later time."""
    return 0 if cache is None or since < cache[0] else cache[1]


def cached_intake(cache: IntakeCache | None, since: datetime, top: int,
                  newer: Iterable[tuple[str, datetime]]) -> IntakeCache:
    """`LeadStore.intake` of a ledger whose audit trail is append-only and committed in seq order
    (writers hold its write lock): the assignments kept from the last read (`cache`) still at or
    after `since`, plus the `newer` ones read (seq in (`intake_after`, top], at >= since).

    The caps read the intake on every decision; this reads only the events written since.
    """
    kept = [] if cache is None or since < cache[0] else [item for item in cache[2] if item[1] >= since]
    kept += newer
    return since, top, kept


def first_decisions(answers: Sequence[Assignment], statuses: Mapping[str, str]) -> list[Assignment]:
    """The answers `LeadStore.decide` records, given each known lead's stored status: the first
    answer of each undecided lead (a decided one keeps its decision). KeyError, before anything
    is written, if a lead was never accepted."""
    unknown = {a.lead_id for a in answers} - statuses.keys()
    if unknown:
        raise KeyError(f"lead {min(unknown)!r} was never accepted by the store")
    undecided = {lead_id for lead_id, status in statuses.items() if LeadStatus(status).undecided}
    todo = []
    for a in answers:
        if a.lead_id in undecided:
            undecided.discard(a.lead_id)  # a lead's first answer wins
            todo.append(a)
    return todo


class StoreThreadError(StoreError):
    """A store bound to one thread was used from another (open it for several threads)."""


@dataclass(frozen=True)
class OpenLead:
    """An assigned, unreleased lead with its SLA state."""

    lead: Lead
    rep_id: str
    assigned_at: datetime
    sla_due: datetime | None  # None: no SLA check (touched, or no other rep could take it)
    touched: bool
    reassignments: int


@dataclass(frozen=True)
class WaitingLead:
    """A lead in the backlog: unassigned since `since`, with its current (not final) answer."""

    lead: Lead
    since: datetime
    answer: Assignment


@dataclass(slots=True)
class RepLoads:
    """Open (assigned, unreleased) leads per rep: their count, their effort units and how many
    of them are untouched (no first response yet: the queue that speed to lead models).

    `count[k]`, `effort[k]` and `untouched[k]` belong to `rep_ids[k]`. Read it at once: a
    store may hand out views of arrays that its next write changes.
    """

    rep_ids: Sequence[str]
    count: np.ndarray
    effort: np.ndarray
    untouched: np.ndarray

    def by_rep(self) -> dict[str, int]:
        """Open leads per rep id, reps holding none left out."""
        return {rep_id: int(c) for rep_id, c in zip(self.rep_ids, self.count, strict=True) if c}

    def without(self, k: int, effort: int, *, untouched: bool = True) -> RepLoads:
        """These loads with one lead of `effort` units taken off `rep_ids[k]` (a lead being moved):
        off `untouched[k]` too if it is `untouched` (a stale lead is, by definition)."""
        count, held, waiting = self.count.copy(), self.effort.copy(), self.untouched.copy()
        count[k] -= 1
        held[k] -= effort
        waiting[k] -= untouched
        return RepLoads(self.rep_ids, count, held, waiting)


class LeadStore(Protocol):
    """What the router persists and reads; see the module docstring."""

    @property
    def explains(self) -> bool:
        """Whether decisions' explanations are kept (the router computes them only then)."""
        ...

    @property
    def durable(self) -> bool:
        """Whether an accepted lead survives a restart of the process (the service needs it)."""
        ...

    def transaction(self) -> AbstractContextManager[None]:
        """All writes inside commit together or not at all; nested uses join the outer one."""
        ...

    def close(self) -> None: ...

    def writable(self) -> bool:
        """Whether a write would commit now (a cheap real probe, nothing kept): readiness."""
        ...

    # -- runs ---------------------------------------------------------------------------------

    def start_run(self, kind: str, policy: str, at: datetime) -> int:
        """Open a run (a batch job or a router session); its id tags the decisions made in it."""
        ...

    def finish_run(self, run_id: int, at: datetime, summary: dict[str, Any]) -> None: ...

    def runs(self) -> list[dict[str, Any]]:
        """Every run, oldest first: run_id, kind, policy, started_at, finished_at, summary."""
        ...

    # -- writes -------------------------------------------------------------------------------

    def accept(self, lead: Lead, at: datetime, run_id: int | None = None, *,
               buffered: bool = True) -> Accepted:
        """Record a lead as accepted (`buffered`, or received for an urgent one decided next): NEW.

        A known id writes nothing: RETRY if the stored record equals `lead`,
        CHANGED if not (`changed_fields`). Once it returns, the lead survives a
        restart (durable stores).
        """
        ...

    def accept_many(self, leads: Sequence[Lead], at: datetime, run_id: int | None = None) -> list[Accepted]:
        """`accept` of each lead (buffered), in order, as one write: what each one was.

        A lead repeated in `leads` is NEW the first time, then a RETRY or CHANGED.
        """
        ...

    def decide(self, answers: Sequence[Assignment], at: datetime, *,
               sla_due: Mapping[str, datetime] | None = None,
               explanations: Mapping[str, Any] | None = None, run_id: int | None = None) -> None:
        """Record the first decision of accepted, undecided leads: assigned, waiting or final.

        Leads already decided are left alone (idempotent); a lead never accepted
        is a KeyError (and nothing is written).
        """
        ...

    def assign_waiting(self, answer: Assignment, at: datetime, *, sla_due: datetime | None = None,
                       explanation: Any = None, run_id: int | None = None) -> bool:
        """Give a lead in the backlog (or in a named queue: a person's pick) its rep. False,
        changing nothing, if it no longer waits."""
        ...

    def close_waiting(self, answer: Assignment, at: datetime, run_id: int | None = None) -> bool:
        """A waiting (or queued) lead was closed before any rep took it: `answer` is final.
        False if it is neither."""
        ...

    def record_outcome(self, lead_id: str, at: datetime, outcome: str, *, reason: str | None = None,
                       value: float | None = None) -> bool:
        """A decided lead's disposition (won | lost | disqualified | closed; the reason, a won deal's
        value), an event of that kind. The first one stands: False if it has one, or is undecided."""
        ...

    def save_rotation(self, pools: Mapping[str, Mapping[str, Any]]) -> None:
        """The round robins' positions by pool (`solver.online.rotation`), over those kept."""
        ...

    def expire(self, answer: Assignment, at: datetime, run_id: int | None = None) -> bool:
        """A waiting lead waited too long: `answer` is final. False if not waiting."""
        ...

    def reassign(self, answer: Assignment, from_rep_id: str, at: datetime, sla_due: datetime | None,
                 explanation: Any = None, run_id: int | None = None) -> bool:
        """Move an open lead to a new owner; the SLA clock restarts. False if not open."""
        ...

    def extend_sla(self, lead_id: str, sla_due: datetime | None) -> None:
        """Set a new SLA due time without moving the lead (no other rep could take it)."""
        ...

    def touch(self, lead_id: str, at: datetime) -> bool:
        """First response by the owner: stops the SLA clock. False if not open or already touched."""
        ...

    def release(self, lead_id: str, at: datetime, *, by: str | None = None) -> bool:
        """The open lead is worked or closed: its owner's capacity is free. False if not open.
        `by`: the person who released it (the event's reason names them)."""
        ...

    # -- reads --------------------------------------------------------------------------------

    def status(self, lead_id: str) -> LeadStatus | None:
        """The lead's lifecycle status; None if never accepted."""
        ...

    def record(self, lead_id: str) -> Lead | None:
        """The lead as first accepted; None if never accepted."""
        ...

    def decision(self, lead_id: str) -> Assignment | None:
        """The lead's current answer (its owner after any reassignment); None if undecided or unknown."""
        ...

    def records(self, lead_ids: Iterable[str]) -> dict[str, Lead]:
        """The leads as first accepted, by id, in one read (ids never accepted are left out)."""
        ...

    def known(self, lead_ids: Iterable[str]) -> set[str]:
        """The ids among `lead_ids` that were accepted."""
        ...

    def statuses(self, lead_ids: Iterable[str]) -> dict[str, LeadStatus]:
        """The lifecycle status of each accepted id among `lead_ids`, in one read (a batch checks
        that the leads it solved off the lock are still where it read them)."""
        ...

    def buffered_leads(self) -> list[tuple[Lead, datetime]]:
        """Accepted, undecided leads with their acceptance time, oldest first."""
        ...

    def count_buffered(self) -> int: ...

    def oldest_buffered_at(self) -> datetime | None:
        """When the oldest undecided lead was accepted; None if there is none."""
        ...

    def open_lead(self, lead_id: str) -> OpenLead | None:
        """The lead if it is open (assigned, unreleased), else None."""
        ...

    def open_leads(self) -> list[OpenLead]:
        """Open leads, oldest decision first."""
        ...

    def stale_leads(self, now: datetime, max_reassignments: int) -> list[OpenLead]:
        """Open, untouched leads due by `now` and moved fewer than `max_reassignments` times,
        by (due time, lead id)."""
        ...

    def waiting_leads(self, *, start: int = 0, limit: int | None = None,
                      since_before: datetime | None = None) -> list[WaitingLead]:
        """The backlog, oldest first: `limit` leads from position `start`; with `since_before`,
        only the leading run of those waiting since before it."""
        ...

    def count_waiting(self) -> int: ...

    def loads(self, rep_ids: Sequence[str] | None = None) -> RepLoads:
        """Open leads, effort and untouched open leads per rep: aligned to `rep_ids` (0 for reps
        holding none), or (None) for every rep holding some."""
        ...

    def pipeline_value(self, rep_ids: Sequence[str], since: datetime) -> np.ndarray:
        """Each rep's pipeline intake in the period, aligned to `rep_ids` (floats, 0 for none): the
        sum of `Lead.value` over the leads the rep owns now (its current answer) that were
        decided to it at or after `since` (first decision, from the backlog, or reassigned to
        it), open or released alike. A lead moved away counts for its new owner only."""
        ...

    def intake(self, since: datetime) -> list[tuple[str, datetime]]:
        """(rep id, when) of every assignment (first, from the backlog, reassigned to) at or after
        `since`, oldest first: what the caps over time count (from the ledger, so processes agree)."""
        ...

    def rotation(self) -> dict[str, dict[str, Any]]:
        """The round robins' positions saved by `save_rotation`, by pool (empty: none yet)."""
        ...

    def queued_leads(self, queue: str | None = None) -> list[dict[str, Any]]:
        """The leads waiting in a named queue (or in `queue`), as rows of `leads()`, oldest first."""
        ...

    def history(self, lead_id: str | None = None, *, run_id: int | None = None) -> list[dict[str, Any]]:
        """The audit trail in order: every event, or one lead's, or one run's."""
        ...

    def leads(self) -> list[dict[str, Any]]:
        """Every lead's row without its record, in order of acceptance: lead_id, status (the
        answer's: pending | assigned | unassigned), lifecycle (`LeadStatus`), rep_id, reason,
        reason_code, times."""
        ...

    # -- the team's changes (the console's rep actions, `solver.online.rep_changes`) ----------

    def record_rep_change(self, rep_id: str, at: datetime, change: Mapping[str, Any], by: str) -> int:
        """Keep a change an operator made to a rep (pause or resume, capacity, a daily cap) with who
        made it and when; its seq (increasing). Atomic; inside `transaction()` it commits or rolls
        back with the rest."""
        ...

    def rep_changes(self, rep_id: str | None = None) -> list[dict[str, Any]]:
        """Every recorded rep change (or one rep's), oldest first, as `REP_CHANGE_FIELDS` rows."""
        ...



@runtime_checkable
class BatchLeadership(Protocol):
    """A store that several service replicas share, which elects one of them to solve the
    micro-batches (`leads_batches`); the others answer urgent leads and accept normal ones.

    Correctness does not rest on it (every decision commits under the ledger's write lock, and
    a lead is decided once): it keeps the other replicas from queueing for that lock every tick
    only to find the buffer taken. A replica that dies gives the role up with its connection.
    """

    def lead_batches(self) -> bool:
        """Whether this process leads the micro-batches now (taking the role if it is free)."""
        ...


def leads_batches(store: LeadStore) -> bool:
    """Whether a router on `store` should solve the micro-batches now: always, unless the store
    elects one of several processes (`BatchLeadership`) and this one is not it."""
    return not isinstance(store, BatchLeadership) or store.lead_batches()


def atomic(store: LeadStore) -> AbstractContextManager[None]:
    """Reads and the decision made from them, in one transaction where other processes share
    the store (a durable ledger: their commits could land between the two). A memory store is
    one process's alone, and its callers (a router) are called by one caller at a time: no
    transaction, which would cost the urgent path its undo journal."""
    return store.transaction() if store.durable else nullcontext()


def explanation_dict(explanation: Any) -> dict[str, Any] | None:
    """An explanation as stored: a dict as is, an object by its `to_dict()`; None stays None."""
    if explanation is None or isinstance(explanation, dict):
        return explanation
    return dict(explanation.to_dict())


# The keys of a row of `LeadStore.leads()`, in order (every store gives these).
LEAD_FIELDS = ("lead_id", "accepted_at", "status", "lifecycle", "rep_id", "policy", "reason", "reason_code",
               "expected_value", "effort", "decided_at", "sla_due", "touched_at", "released_at",
               "reassignments", "run_id", "queue", "outcome", "outcome_reason", "outcome_value", "outcome_at",
               "arm", "experiment")
# The keys of a row of `LeadStore.rep_changes()`, in order (`change` is a dict).
REP_CHANGE_FIELDS = ("seq", "rep_id", "at", "by", "change")
# The keys of an event of `LeadStore.history()`, in order.
EVENT_FIELDS = ("seq", "lead_id", "at", "kind", "rep_id", "from_rep_id", "policy", "reason", "reason_code",
                "expected_value", "explanation", "run_id", "arm")


def released_by(by: str | None) -> str | None:
    """The reason a release event records: who released the lead (None: its owner's CRM said so)."""
    return None if by is None else f"released by {by}"


def iso(at: datetime) -> str:
    """A time as stored and shown in history rows: ISO 8601 UTC with microseconds (sorts as text)."""
    if at.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return at.astimezone(UTC).isoformat(timespec="microseconds")


class NestedTransactions:
    """`transaction()` for a store: the outermost use begins, commits or rolls back (the store's
    `_begin`, `_commit`, `_rollback`); nested uses join it."""

    _depth = 0

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes inside apply together or not at all; nested uses join the outer one."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._begin()
        self._depth = 1
        try:
            yield
        except BaseException:
            self._rollback()
            raise
        else:
            self._commit()
        finally:
            self._depth = 0

    def _begin(self) -> None:
        raise NotImplementedError

    def _commit(self) -> None:
        raise NotImplementedError

    def _rollback(self) -> None:
        raise NotImplementedError
