"""The online router: micro-batches for normal leads, a priced fast path for urgent ones.

The simulator, the HTTP service and the scheduled batch job all drive this one
class, so simulated behaviour is production behaviour.

- `submit` accepts a lead. An urgent lead is routed at once by the fast path
  (`solver.online.fastpath`); a normal lead waits in the buffer.
- `tick` flushes the buffer when it holds `policy.batch.max_size` leads or its
  oldest lead has waited `policy.batch.max_wait_s`; `flush` solves it now with
  the policy's batch solver (`compile_problem` + `solve` + `decode`).
- `touch` (first response) stops a lead's SLA clock; `release` frees its
  owner's capacity; `reassign_stale` moves leads untouched past the SLA
  (`policy.sla`, counted in the owner's working hours) to another rep.

Backlog. A lead that gets no rep because every eligible rep is full, or
because the reps its rules admit are off shift or on leave, is answered
"unassigned, <reason>; waits in the backlog ..." (and recorded so), but it is
not final: it is solved again with every later flush, and by `tick` once
capacity has freed (`release`, a team change) or a batch wait has passed (reps
coming on shift); when it gets a rep, an `assigned` event records the new
owner. A lead whose rules admit no rep at all is final. A waiting lead that is
released (closed) leaves the backlog with a final answer, and so does one that
waited `policy.sla.max_backlog_hours` (an ``unassigned`` event says it expired).
Every lead is in exactly one place: the buffer, the backlog, open (assigned,
unreleased) or done; it holds at most one rep at a time.

State. The reps are compiled once into a `RepTable`; each decision passes a
copy with today's availability (`solver.domain.availability`), open loads and
catch-up-capped quota weights (`dataclasses.replace`), so compile_problem's
rules apply unchanged. Capacity counts effort units; `loads()` counts leads.

With a `Ledger`, every accepted lead is written before `submit` answers,
every decision commits with its explanation, and a new Router on the same
ledger reloads the buffer and the open leads. Without one, nothing touches
disk (the simulator's hot path).
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np

from solver.compile import fairness
from solver.compile.problem import UNASSIGNED, Problem, compile_problem, with_prices
from solver.compile.scoring import RepTable, compile_reps
from solver.decode.explain import explain_lead
from solver.decode.reasons import ASSIGNED, DEFERRED, UNASSIGNED_STATUS, unassigned_reasons
from solver.decode.result import Assignment, decode
from solver.domain.availability import RepCalendar
from solver.domain.errors import InputError
from solver.domain.model import Lead, Policy, Rep
from solver.online.fastpath import DualPricer, LeadRow, LeadScorer, PricingJob, choose_rep
from solver.online.ledger import Ledger
from solver.policies import solve

FAST_PATH = "fast_path"  # the `policy` of decisions made by the urgent fast path
# A rep away for the whole catch-up window still keeps this share of its quota
# weight, so the fairness term does not shut it out on its first day back.
MIN_AVAILABLE_SHARE = 0.1
# With a volume forecast (`policy.pricing.horizon_leads`), at least this share of the leads
# seen so far (at most of the forecast) is still expected: a forecast that runs out would
# otherwise drop the prices to 0 (plain greedy) while leads keep coming. The floor also keeps
# the prices up near the forecast's end, which defers leads that could have taken the last
# seats. Measured (benchmarks/fast_path): 0.1 keeps an exact forecast within ~0.2 pp of no
# floor and gains 1-2 pp on one 20% low.
FORECAST_FLOOR = 0.1
# The batch solvers that maximise value and so take the fast path's prices; the baselines
# (round robin, least loaded, the rule cascade, random) stand for what CRMs do and stay unpriced.
PRICED_SOLVERS = ("flow", "cpsat", "greedy")
# At most this many backlogged leads join one batch solve, taken in turn, so a long
# backlog (demand above capacity for days) does not make every flush slow.
BACKLOG_PER_SOLVE = 1000


@dataclass
class _OpenLead:
    lead: Lead
    rep_id: str
    assigned_at: datetime
    sla_due: datetime | None  # None: no SLA check (touched, or no other rep could take it)
    reassignments: int = 0


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Router:
    """Stateful online router; see the module docstring. Not thread-safe: one caller at a time.

    Parameters
    ----------
    reps, policy
        The team and the routing policy (batch solver, rules, batching, SLA).
    ledger
        Durable state; None keeps everything in memory.
    clock
        Gives `now` when a method is called without one (default: UTC now).
    catchup_window
        Quota weights count only the share of this window a rep was not on
        leave, so a rep back from leave is not flooded to catch up.
    run_id
        Tags every ledger write (a batch job's run).
    """

    def __init__(
        self,
        reps: Sequence[Rep],
        policy: Policy,
        ledger: Ledger | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
        catchup_window: timedelta = timedelta(days=14),
        run_id: int | None = None,
    ) -> None:
        self.policy = policy
        self.ledger = ledger
        self.clock = clock or _utc_now
        self.catchup_window = catchup_window
        self.run_id = run_id
        self._buffer: list[tuple[Lead, datetime]] = []
        self._buffered: set[str] = set()
        self._decided: dict[str, Assignment] = {}
        self._open: dict[str, _OpenLead] = {}
        self._touched_ids: set[str] = set()
        # Leads waiting for capacity: id -> (lead, unassigned since, its current "unassigned" answer).
        self._backlog: dict[str, tuple[Lead, datetime, Assignment]] = {}
        self._backlog_retried: datetime | None = None  # when the backlog was last solved
        self._backlog_shift: np.ndarray | None = None  # who was on shift then
        self._freed = False  # capacity freed (or prices changed) since then
        self._backlog_turn = 0  # where the next retry starts when the backlog exceeds BACKLOG_PER_SOLVE
        self.update_reps(reps)
        if ledger is not None:
            self._reload(ledger)

    # -- the public API -----------------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Leads waiting in the buffer."""
        return len(self._buffer)

    @property
    def backlog(self) -> list[str]:
        """Ids of the leads waiting for capacity (answered unassigned, retried), oldest first."""
        return list(self._backlog)

    def submit(self, lead: Lead, now: datetime | None = None) -> Assignment | None:
        """Accept a lead: an urgent one is routed now (its Assignment), a normal one is buffered (None).

        Idempotent on the lead id: a lead already decided returns its decision
        and nothing new is assigned; one already buffered returns None.
        """
        now = self._now(now)
        if lead.id in self._decided:
            return self._decided[lead.id]
        if lead.id in self._backlog:
            return self._backlog[lead.id][2]
        if lead.id in self._buffered:
            return None
        self._check_fits(lead)
        if self.ledger is not None and not self.ledger.accept(lead, now, self.run_id):
            return self.ledger.decision(lead.id)  # decided in an earlier session
        if not lead.urgent:
            self._buffer.append((lead, now))
            self._buffered.add(lead.id)
            return None
        return self._route_urgent(lead, now)

    def tick(self, now: datetime | None = None, *, reprice: bool = True) -> list[Assignment]:
        """Flush when the buffer is full or its oldest lead has waited long enough; else [].

        Without a flush, the backlog is solved on its own once capacity has
        freed since its last try, or, `policy.batch.max_wait_s` after it, when
        the reps on shift have changed (nothing else could place it). With
        `reprice` False the prices are left to the caller (`pricing_job` /
        `install_prices`), who solves the pricing LP off its lock.
        """
        now = self._now(now)
        out = self._expire_backlog(now)
        batch = self.policy.batch
        if self._buffer and (
            len(self._buffer) >= batch.max_size
            or (now - self._buffer[0][1]).total_seconds() >= batch.max_wait_s
        ):
            out += self.flush(now, reprice=reprice)
        elif self._backlog and (
            self._freed or self._backlog_retried is None
            or ((now - self._backlog_retried).total_seconds() >= batch.max_wait_s
                and self._backlog_due(self.calendar.available(now)))
        ):
            out += self._solve_batch([], now)
        if reprice:
            self._reprice_if_due()
        return out

    def flush(self, now: datetime | None = None, *, reprice: bool = True) -> list[Assignment]:
        """Solve the whole buffer now with the policy's batch solver, the backlog with it.

        Returns the buffered leads' decisions, the backlogged leads that got a
        rep and those whose wait expired (`policy.sla.max_backlog_hours`).
        When batches are priced and the prices are due, they are learned again
        first, with the buffer's leads in the sample (`reprice` False: not here).
        """
        now = self._now(now)
        expired = self._expire_backlog(now)
        if not self._buffer:
            return expired + (self._solve_batch([], now) if self._backlog else [])
        leads = [lead for lead, _ in self._buffer]
        assignments = self._solve_batch(leads, now, reprice=reprice)
        self._buffer.clear()
        self._buffered.clear()
        return expired + assignments

    def route(self, leads: Sequence[Lead], now: datetime | None = None) -> list[Assignment]:
        """Accept `leads` and solve them with the buffer as one batch (the scheduled job's call).

        Leads already known (decided or buffered) are skipped; urgency is
        ignored, since the whole batch is solved at once anyway. The batch does
        not learn prices from itself: a job's fresh router has none, so each run
        is solved exactly, with no seats held back for leads a later run may or
        may not bring (the forecast counts down from the router's start, and a
        job's router starts with every run).
        """
        now = self._now(now)
        for lead in leads:
            if lead.id in self._decided or lead.id in self._buffered or lead.id in self._backlog:
                continue
            self._check_fits(lead)
            if self.ledger is None or self.ledger.accept(lead, now, self.run_id):
                self._buffer.append((lead, now))
                self._buffered.add(lead.id)
        return self.flush(now, reprice=False)

    def touch(self, lead_id: str, now: datetime | None = None) -> None:
        """The owner responded: the lead's SLA clock stops. KeyError if the lead is not open."""
        now = self._now(now)
        item = self._open_lead(lead_id)
        if item is None or lead_id in self._touched_ids:
            return
        if self.ledger is not None:
            self.ledger.touch(lead_id, now)
        item.sla_due = None
        self._touched_ids.add(lead_id)

    def release(self, lead_id: str, now: datetime | None = None) -> None:
        """The lead is worked or closed: its owner's capacity is free again (no-op if already).

        A lead still waiting in the backlog leaves it: its "unassigned" answer
        becomes final (closed before any rep took it), so no rep gets it later.
        """
        now = self._now(now)
        if lead_id in self._backlog:
            self._end_waiting([lead_id], now, lambda _: CLOSED_WHILE_WAITING, released=True)
            return
        item = self._open_lead(lead_id)
        if item is None:
            return
        if self.ledger is not None:
            self.ledger.release(lead_id, now)
        del self._open[lead_id]
        self._touched_ids.discard(lead_id)
        self._hold(item.rep_id, item.lead, -1)
        self._freed = True

    def reassign_stale(self, now: datetime | None = None) -> list[Assignment]:
        """Move each lead untouched past its SLA to another eligible rep (old owner excluded).

        A lead no other rep can take stays put and is checked again one SLA
        later; after `policy.sla.max_reassignments` moves it stays for good.
        """
        now = self._now(now)
        limit = self.policy.sla.max_reassignments
        stale = sorted((o for o in self._open.values()
                        if o.sla_due is not None and o.sla_due <= now and o.reassignments < limit),
                       key=lambda o: (o.sla_due, o.lead.id))
        moved: list[Assignment] = []
        available = self.calendar.available(now)
        hours = self.policy.sla.first_touch_hours
        for item in stale:
            old = self._index.get(item.rep_id, UNASSIGNED)
            self._hold(item.rep_id, item.lead, -1)  # the old owner's room is not the lead's to keep
            row = self.scorer.row(item.lead, available)
            j = choose_rep(row, item.lead.effort, self._free(), self._prices(),
                           self._fairness_terms(available, now), exclude=old)
            if j == UNASSIGNED:
                self._hold(item.rep_id, item.lead, +1)
                item.sla_due = self._sla_due(old, now) if old >= 0 else None
                if self.ledger is not None:
                    self.ledger.extend_sla(item.lead.id, item.sla_due)
                continue
            reason = (f"reassigned: not touched within the {hours:g} h SLA by {item.rep_id}; "
                      f"{self._fast_reason(row, j, 'moved to')}")
            assignment = Assignment(item.lead.id, self.table.ids[j], ASSIGNED, reason,
                                    round(float(row.value[j]), 6), FAST_PATH)
            due = self._sla_due(j, now)
            if self.ledger is not None:
                self.ledger.record_reassignment(assignment, item.rep_id, now, due,
                                                self._fast_explanation(row, j), self.run_id)
            item.rep_id, item.assigned_at, item.sla_due = self.table.ids[j], now, due
            item.reassignments += 1
            self._hold(item.rep_id, item.lead, +1)
            self._decided[item.lead.id] = assignment
            moved.append(assignment)
        return moved

    def update_reps(self, reps: Sequence[Rep]) -> None:
        """Replace the team (new reps, changed hours or capacity). Open leads keep their owners;
        those whose owner left become due for reassignment at once."""
        self.reps = list(reps)
        self.table: RepTable = compile_reps(self.reps)
        self._index = {rep_id: j for j, rep_id in enumerate(self.table.ids)}
        self.calendar = RepCalendar(self.reps)
        self.scorer = LeadScorer(self.table, self.policy)
        self.pricer = DualPricer(self.table.m)
        self._has_leave = any(r.ooo for r in self.reps)
        self._freed = True  # new reps or capacity: worth another try for the backlog
        self._fractions: tuple[date, np.ndarray] | None = None
        self._held_effort = np.zeros(self.table.m, dtype=np.int64)
        self._held_count = np.zeros(self.table.m, dtype=np.int64)
        epoch = datetime(1970, 1, 1, tzinfo=UTC)
        for item in self._open.values():
            if item.rep_id in self._index:
                self._hold(item.rep_id, item.lead, +1)
            elif item.lead.id not in self._touched_ids:
                item.sla_due = epoch

    def loads(self) -> dict[str, int]:
        """Open leads per rep id: the reps' own `open_leads` plus assigned minus released."""
        held = self.table.open_leads + self._held_count
        return {rep_id: int(h) for rep_id, h in zip(self.table.ids, held, strict=True)}

    # -- deciding -----------------------------------------------------------------------------

    def _solve_batch(self, leads: list[Lead], now: datetime, reprice: bool = False) -> list[Assignment]:
        """Solve `leads` (first decisions) and the backlog as one batch; record and apply the result.

        Returns the decisions of `leads` and of the backlogged leads that got a rep.
        """
        table = self._table_at(now)
        retry = self._backlog_due(table.available)
        backlog = self._backlog_turns(table) if retry else []
        everyone = leads + [lead for lead, _, _ in backlog]
        compiled = compile_problem(table, everyone, self.policy)
        n_new = len(leads)
        # the prices learn from unpriced rows; retries are no new data
        self.pricer.observe(compiled.eligible[:n_new], compiled.gross_profit[:n_new])
        if reprice and self._prices_batches():
            # a batch is a sample of the leads to come too: without this, the first batch (a
            # quarter of a 1,000-lead stream at 250 a batch) is solved unpriced
            self._reprice_if_due(unplaced=n_new)
        problem = self._priced(compiled)
        solution = solve(problem, self.policy.solver)
        if solution.rotation is not None:  # round robins resume where this batch left them
            self.table = dataclasses.replace(self.table, rotation=solution.rotation)
        result = decode(problem, solution, self.policy.solver, with_summary=False)
        if retry:
            self._backlog_retried, self._freed = now, False
            self._backlog_shift = table.available
        owner = solution.owner
        due = {}
        for i in np.flatnonzero(owner >= 0):
            due[problem.lead_ids[i]] = self._sla_due(int(owner[i]), now)
        could_wait = _could_wait(problem, owner)
        first = [_waiting(a) if could_wait[i] else a for i, a in enumerate(result.assignments[:n_new])]
        if problem is not compiled:  # priced: say why from the unpriced batch
            free = problem.capacity - problem.used_capacity(owner)
            room = _room_for(compiled, free)
            unplaced = np.flatnonzero(owner[:n_new] < 0)
            no_room = unplaced[~room[unplaced].any(axis=1)]  # full, off shift or ruled out, as unpriced
            reasons = dict(zip(no_room.tolist(), unassigned_reasons(compiled, no_room, free), strict=True))
            affordable = room & (compiled.gross_profit >= problem.price)
            with_room = unplaced[room[unplaced].any(axis=1)]
            for i in with_room[~affordable[with_room].any(axis=1)]:  # every rep with room priced above it
                reasons[int(i)] = self._deferred_reason(compiled.gross_profit[i], room[i])
            # the rest had a rep they could afford with room: another rule kept them out (decode says)
            for i, reason in reasons.items():
                first[i] = dataclasses.replace(first[i], reason=reason)
                first[i] = _waiting(first[i]) if could_wait[i] else first[i]
        explanations: dict[str, dict[str, Any]] = {}
        if self.ledger is not None:
            explanations = {
                problem.lead_ids[i]: explain_lead(problem, owner, i, alternatives=2)
                | {"batch": {"size": problem.n, "status": str(solution.status),
                             "objective": solution.objective, "bound": solution.bound}}
                for i in range(problem.n) if i < n_new or owner[i] >= 0
            }
        retried = [(item, a) for item, a in zip(backlog, result.assignments[n_new:], strict=True)
                   if a.rep_id is not None]
        moved: list[tuple[Lead, Assignment]] = []
        with self._transaction():  # the ledger first, all or nothing; memory after the commit
            if self.ledger is not None:
                self.ledger.record_decisions(first, now, sla_due=due, explanations=explanations,
                                             run_id=self.run_id)
            for (lead, since, _), a in retried:
                a = dataclasses.replace(a, reason=f"from the backlog (unassigned since "
                                                  f"{since.isoformat(timespec='seconds')}): {a.reason}")
                if self.ledger is None or self.ledger.assign_waiting(
                        a, now, WAIT_NOTE, sla_due=due.get(lead.id), explanation=explanations.get(lead.id),
                        run_id=self.run_id):
                    moved.append((lead, a))
        for lead, a in zip(leads, first, strict=True):
            self._settle(lead, a, now, due.get(lead.id))
        for (lead, _, _), _a in retried:
            del self._backlog[lead.id]  # assigned now, or by another router on this ledger meanwhile
        for lead, a in moved:
            self._settle(lead, a, now, due.get(lead.id))
        return first + [a for _, a in moved]

    def _expire_backlog(self, now: datetime) -> list[Assignment]:
        """Final "unassigned" answers for the leads that waited `policy.sla.max_backlog_hours`."""
        hours = self.policy.sla.max_backlog_hours
        if hours is None or not self._backlog:
            return []
        cutoff = now - timedelta(hours=hours)
        old = []
        for lead_id, (_, since, _) in self._backlog.items():  # oldest first
            if since > cutoff:
                break
            old.append(lead_id)
        return self._end_waiting(
            old, now, lambda a: f"backlog expired: no rep could take it within {hours:g} h; "
                                f"{a.reason.removesuffix(WAIT_NOTE)}")

    def _end_waiting(self, lead_ids: list[str], now: datetime, reason: Callable[[Assignment], str],
                     released: bool = False) -> list[Assignment]:
        """Take leads out of the backlog with a final answer; returns those answers.

        A lead another router on the ledger assigned meanwhile just leaves the
        backlog (and, when `released`, is released in the ledger).
        """
        ended: list[Assignment] = []
        with self._transaction():
            for lead_id in lead_ids:
                a = self._backlog[lead_id][2]
                final = dataclasses.replace(a, reason=reason(a))
                if self.ledger is None or self.ledger.end_waiting(
                        lead_id, now, WAIT_NOTE, final.reason, released=released, run_id=self.run_id):
                    ended.append(final)
                elif released:
                    self.ledger.release(lead_id, now)
        for lead_id in lead_ids:
            del self._backlog[lead_id]
        for a in ended:
            self._decided[a.lead_id] = a
        return ended

    def _priced(self, problem: Problem) -> Problem:
        """The batch with the fast path's prices (`policy.pricing.price_batches`).

        Each seat costs its rep's price, so a micro-batch, like the fast path,
        leaves scarce reps to the leads they are worth most to; with
        `defer_below_price` a lead takes no seat priced above its profit (it
        waits in the backlog). Leads whose account owner keeps them are exempt.
        Only with a volume forecast (`pricing.horizon_leads`): without one the
        prices assume every free seat is taken before any frees up, which is
        fine for steering an urgent lead but would hold seats back for nothing.
        """
        prices = self._prices()
        if prices is None or not self._prices_batches():
            return problem
        return with_prices(problem, prices, self.policy.pricing.defer_below_price)

    def _prices_batches(self) -> bool:
        """Batches take the prices: a forecast, `price_batches`, and a value-maximising solver."""
        pricing = self.policy.pricing
        return (pricing.horizon_leads is not None and pricing.price_batches
                and self.policy.solver in PRICED_SOLVERS)

    def _defers(self) -> bool:
        """The fast path defers leads below every price. Only where batches are priced too: the
        backlog's retries are batch solves, and unpriced ones would place the lead at once."""
        return self._prices_batches() and self.policy.pricing.defer_below_price

    def _backlog_due(self, available: np.ndarray) -> bool:
        """Worth solving the backlog again: never tried, capacity freed, or the shift changed.

        Otherwise its leads cannot be placed: new assignments only take room away.
        """
        return bool(self._backlog) and (
            self._backlog_retried is None or self._freed
            or not np.array_equal(available, self._backlog_shift))

    def _backlog_turns(self, table: RepTable) -> list[tuple[Lead, datetime, Assignment]]:
        """The backlogged leads that join this solve, oldest first, taken in turns.

        At most twice as many as there are free capacity units (the solver then
        picks the best of them for the seats; more would only slow every flush
        while demand stays above capacity), and at most BACKLOG_PER_SOLVE.
        """
        room = int(np.maximum(table.capacity - table.open_leads, 0)[table.available].sum())
        n = len(self._backlog)
        k = min(BACKLOG_PER_SOLVE, 2 * room, n)
        if k == 0:
            return []
        start = self._backlog_turn % n
        self._backlog_turn = start + k
        # islice skips in C: copying a long backlog to a list on every solve was a tenth of a
        # simulation's time
        turn = list(itertools.islice(self._backlog.values(), start, start + k))
        if len(turn) < k:  # wrap around to the oldest
            turn += itertools.islice(self._backlog.values(), k - len(turn))
        return turn

    def _route_urgent(self, lead: Lead, now: datetime) -> Assignment:
        available = self.calendar.available(now)
        row = self.scorer.row(lead, available)
        free, prices = self._free(), self._prices()
        j = choose_rep(row, lead.effort, free, prices, self._fairness_terms(available, now),
                       defer=self._defers())
        self.pricer.observe_one(row.eligible, row.profit)
        if j == UNASSIGNED:
            room = row.eligible & (free >= lead.effort)
            reason = (self._deferred_reason(row.profit, room) if room.any()
                      else _fast_unassigned_reason(row, available))
            assignment = Assignment(lead.id, None, UNASSIGNED_STATUS, reason, 0.0, FAST_PATH)
            if room.any() or self.scorer.row(lead, np.ones_like(available)).eligible.any():
                assignment = _waiting(assignment)  # deferred, full or off shift now: a rep can take it later
            due = None
        else:
            assignment = Assignment(lead.id, self.table.ids[j], ASSIGNED, self._fast_reason(row, j),
                                    round(float(row.value[j]), 6), FAST_PATH)
            due = self._sla_due(j, now)
        if self.ledger is not None:
            self.ledger.record_decisions(
                [assignment], now, sla_due={lead.id: due} if due else None,
                explanations={lead.id: self._fast_explanation(row, j)}, run_id=self.run_id)
        self._settle(lead, assignment, now, due)
        return assignment

    def _settle(self, lead: Lead, a: Assignment, now: datetime, due: datetime | None) -> None:
        """Record a decision in memory (after the ledger has it): open, backlogged or final."""
        if a.rep_id is not None:
            self._decided[lead.id] = a
            self._open[lead.id] = _OpenLead(lead, a.rep_id, now, due)
            self._hold(a.rep_id, lead, +1)
        elif a.reason.endswith(WAIT_NOTE):
            self._backlog[lead.id] = (lead, now, a)
            if self._backlog_retried is None:
                self._backlog_retried = now
        else:
            self._decided[lead.id] = a

    def _transaction(self):  # type: ignore[no-untyped-def]
        return self.ledger.transaction() if self.ledger is not None else contextlib.nullcontext()

    # -- rep state ----------------------------------------------------------------------------

    def _table_at(self, now: datetime) -> RepTable:
        """The rep table as of `now`: availability, open load, catch-up-capped weights."""
        return dataclasses.replace(
            self.table,
            available=self.calendar.available(now),
            open_leads=self.table.open_leads + self._held_effort,
            quota_weight=self._weights(now),
        )

    def _weights(self, now: datetime) -> np.ndarray:
        """Quota weights scaled by the share of the catch-up window each rep was not on leave."""
        if not self._has_leave:
            return self.table.quota_weight
        today = now.astimezone(UTC).date()
        if self._fractions is None or self._fractions[0] != today:
            self._fractions = (today, self.calendar.available_fractions(now, self.catchup_window))
        return self.table.quota_weight * np.maximum(self._fractions[1], MIN_AVAILABLE_SHARE)

    def _free(self) -> np.ndarray:
        return self.table.capacity - self.table.open_leads - self._held_effort

    def _hold(self, rep_id: str, lead: Lead, sign: int) -> None:
        j = self._index.get(rep_id)
        if j is not None:
            self._held_effort[j] += sign * lead.effort
            self._held_count[j] += sign

    def _fairness_terms(
        self, available: np.ndarray, now: datetime
    ) -> tuple[np.ndarray, np.ndarray, float] | None:
        weight = self.policy.fairness.weight
        if weight == 0:
            return None
        load = (self.table.open_leads + self._held_count).astype(np.float64)
        share = fairness.shares(self._weights(now), available)
        return load, fairness.targets(share, load, 1.0), weight

    def _prices(self) -> np.ndarray | None:
        return self.pricer.prices if self.pricer.priced else None

    def pricing_job(self, unplaced: int = 0) -> PricingJob | None:
        """When the fast path's prices are due: the pricing LP on a copy of its inputs, else None.

        `job.solve()` may run anywhere while the router keeps routing; hand the
        result to `install_prices`. (`tick` does all three at once by default.)
        `unplaced`: leads already seen that still need seats (a batch about to be solved).
        """
        if not self.pricer.due:
            return None
        horizon = self.policy.pricing.horizon_leads
        if horizon is not None:  # a forecast of the leads per capacity cycle, counted down
            # (backlog leads retried with a batch were counted when they first came: their
            # demand is missing from the horizon, a small effect as they are the cheaper leads)
            seen = self.pricer.seen - unplaced
            # past the forecast the floor stays at its last value: prices that kept rising with
            # every lead would defer more and more of them
            horizon = max(horizon - seen, FORECAST_FLOOR * min(seen, horizon), 1.0)
        return self.pricer.prepare(self._free(), horizon)

    def install_prices(self, duals: np.ndarray | None) -> None:
        """Prices from a solved `pricing_job` (None keeps the current ones).

        New prices may admit deferred leads, so the backlog is worth another try.
        """
        self.pricer.install(duals)
        if duals is not None and self._backlog and self._prices_batches():
            self._freed = True

    def _reprice_if_due(self, unplaced: int = 0) -> None:
        """Re-learn the fast path's prices (an LP over recent leads) on the doubling schedule."""
        job = self.pricing_job(unplaced)
        if job is not None:
            self.install_prices(job.solve())

    def _sla_due(self, j: int, now: datetime) -> datetime:
        hours = timedelta(hours=self.policy.sla.first_touch_hours)
        return self.calendar.schedules[j].add_working_time(now, hours)

    # -- explanations -------------------------------------------------------------------------

    def _fast_reason(self, row: LeadRow, j: int, path: str = "urgent fast path:") -> str:
        if row.forced == j:
            return "account owner: the account's current owner keeps it"
        # profit is 0 where ineligible, so the reps above a profit >= 0 are all eligible
        rank = np.count_nonzero(row.profit > row.profit[j] + 1e-9) + 1
        return (f"{path} rank {rank} of {np.count_nonzero(row.eligible)} eligible reps by expected value, "
                f"price {self.pricer.prices[j]:,.2f}")

    def _deferred_reason(self, profit: np.ndarray, room: np.ndarray) -> str:
        """Why a lead with eligible reps that have room took none: it is worth less than their prices."""
        prices = self.pricer.prices
        j = int(np.argmax(np.where(room, profit - prices, -np.inf)))
        return (f"{DEFERRED}: worth less than the price of each of the {int(room.sum())} eligible reps "
                f"with room, whose capacity is held for better-matched leads (best: {self.table.ids[j]}, "
                f"{profit[j]:,.2f} < price {prices[j]:,.2f})")

    def _fast_explanation(self, row: LeadRow, j: int) -> dict[str, Any]:
        return {
            "path": "urgent fast path",
            "eligible_reps": int(row.eligible.sum()),
            "chosen": None if j < 0 else {"rep_id": self.table.ids[j], "profit": float(row.profit[j]),
                                          "price": float(self.pricer.prices[j])},
        }

    # -- plumbing -----------------------------------------------------------------------------

    def _now(self, now: datetime | None) -> datetime:
        now = self.clock() if now is None else now
        if now.tzinfo is None:
            raise ValueError("router times must be timezone-aware datetimes")
        return now

    def _check_fits(self, lead: Lead) -> None:
        if self.policy.solver == "flow" and lead.effort != 1:
            raise InputError(f"lead {lead.id!r}: solver 'flow' needs unit effort (got {lead.effort}); "
                             "use solver: cpsat", field="effort")

    def _open_lead(self, lead_id: str) -> _OpenLead | None:
        """The open lead; None if it was released or left unassigned; KeyError if never decided."""
        item = self._open.get(lead_id)
        if item is None and lead_id not in self._decided and lead_id not in self._backlog and (
            self.ledger is None or self.ledger.decision(lead_id) is None
        ):
            raise KeyError(f"lead {lead_id!r} has no owner yet (unknown or still buffered)")
        return item

    def _reload(self, ledger: Ledger) -> None:
        """Restore the buffer and the open leads from the ledger (a restart)."""
        for lead, accepted_at in ledger.pending():
            self._buffer.append((lead, accepted_at))
            self._buffered.add(lead.id)
        for o in ledger.open_leads():
            due = None if o.touched else o.sla_due
            self._open[o.lead.id] = _OpenLead(o.lead, o.rep_id, o.assigned_at, due, o.reassignments)
            if o.touched:
                self._touched_ids.add(o.lead.id)
            self._hold(o.rep_id, o.lead, +1)
        for lead, decided_at, a in ledger.waiting(WAIT_NOTE):
            self._backlog[lead.id] = (lead, decided_at, a)


# The end of the reason of an unassigned lead that waits in the backlog (the
# ledger finds the backlog by it after a restart).
WAIT_NOTE = "; waits in the backlog until a rep can take it"


# The final reason of a lead closed (`release`) while it waited in the backlog.
CLOSED_WHILE_WAITING = "closed while waiting in the backlog: no rep took it"


def _waiting(a: Assignment) -> Assignment:
    """The answer of an unassigned lead that waits: its reason says so."""
    return a if a.reason.endswith(WAIT_NOTE) else dataclasses.replace(a, reason=a.reason + WAIT_NOTE)


def _could_wait(problem: Problem, owner: np.ndarray) -> np.ndarray:
    """bool (n,): unassigned leads that some rep could take once it has room or is on shift.

    That is: the hard rules admit at least one rep, available now or not. A
    lead no rep's rules admit (say, an uncovered territory) is final instead.
    """
    waits = np.zeros(problem.n, dtype=bool)
    rows = np.flatnonzero(owner < 0)
    if rows.size:
        admitted = np.ones((rows.size, problem.m), dtype=bool)
        for name in problem.options.hard_rules:
            admitted &= problem.dimensions[name].admits(rows)
        waits[rows] = admitted.any(axis=1)
    return waits


def _room_for(problem: Problem, room: np.ndarray) -> np.ndarray:
    """bool (n, m): rep j is eligible for lead i and has `room` for its effort."""
    effort = problem.effort if problem.effort.ndim == 2 else problem.effort[:, None]
    return problem.eligible & (room[None, :] >= effort)


def _fast_unassigned_reason(row: LeadRow, available: np.ndarray) -> str:
    if not available.any():
        return "no rep available: every rep is unavailable or outside working hours"
    if not row.eligible.any():
        return "no eligible rep: no available rep passes the hard rules"
    return f"capacity: all {int(row.eligible.sum())} eligible reps are at capacity"
