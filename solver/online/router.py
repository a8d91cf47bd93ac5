"""The online router: micro-batches for normal leads, a priced fast path for urgent ones.

The simulator, the HTTP service and the scheduled batch job all drive this one
class, so simulated behaviour is production behaviour. It orchestrates; each
concern lives in its own module: the fast path (`fastpath`, `single`), the backlog
(`backlog`), capacity and fairness (`capacity`), seat prices (`pricing`),
reasons and explanations (`explain`), the lifecycle (`lifecycle`, `store`).

- `submit` accepts a lead into the store: an urgent one is routed at once by
  the fast path, a normal one is buffered. `tick` flushes the buffer when it
  holds `policy.batch.max_size` leads or its oldest has waited
  `policy.batch.max_wait_s`; `flush` solves it now with the batch solver.
- Leads no rep can take now wait in the backlog and are retried; closed ones
  leave it, and so do those that waited `policy.sla.max_backlog_hours`.
- `touch` (first response) stops a lead's SLA clock; `release` frees its
  owner's capacity; `reassign_stale` moves leads untouched past the SLA
  (`policy.sla`, counted in the owner's working hours) to another rep.

State. Everything about leads lives in the `LeadStore` (default: a new
`MemoryStore` without an audit trail, the simulator's hot path): the buffer,
open leads, the backlog, answers and each rep's load. The router holds only
the team, the prices and the backlog's retry schedule, so a new Router on a
durable store (`SqliteStore`) carries on where the last one stopped, and two
routers on one ledger file see each other's decisions. Every lead is in
exactly one place (buffered, waiting, open or done) and holds at most one rep.

Experiments. A policy with an `experiment` section routes each lead with its
arm's policy (`solver.online.experiment`): an urgent lead on its arm's fast
path, a batch as one sub-problem per arm (control first) against the loads
and caps the earlier arm left, a waiting or stale lead with the arm of its
first decision. Once the ledger records the experiment's stop, the winner's
policy routes every lead.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import numpy as np

from solver.compile.caps import CapRoom
from solver.compile.problem import Problem
from solver.compile.routing import check_lead
from solver.compile.scoring import RepTable
from solver.decode.batch import check_solver_fits
from solver.decode.reasons import Reason, ReasonCode
from solver.decode.result import Assignment, keeping_arm, with_reason
from solver.domain.errors import InputError
from solver.domain.experiment import CHALLENGER, CONTROL
from solver.domain.model import Account, Lead, Policy, Rep
from solver.online import batch, outcomes, rotation
from solver.online.backlog import BacklogSchedule, expire
from solver.online.capacity import Team
from solver.online.experiment import Arm, arm_of, promoted, record_start, tagged, unit_book
from solver.online.explain import FAST_PATH
from solver.online.lifecycle import LeadStatus, status_of
from solver.online.memory_store import MemoryStore
from solver.online.pricing import FORECAST_FLOOR, DualPricer, PricingJob, SeatPricing
from solver.online.single import move_open_lead, reassign_stale, route_urgent
from solver.online.store import (
    Accepted,
    LeadConflict,
    LeadStore,
    OpenLead,
    RepLoads,
    WaitingLead,
    atomic,
    sort_accepts,
)

__all__ = ["FAST_PATH", "FORECAST_FLOOR", "Router"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# A batch solved off the ledger's lock whose leads or seats were taken meanwhile is picked and
# solved again; the last of this many tries holds the lock from its reads to its record.
BATCH_TRIES = 3


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _at_once(solve: Callable[[], Any]) -> Any:
    return solve()


@dataclass(frozen=True)
class _Turn:
    """What a batch read of the team (`batch.table_now`) and of the backlog's schedule."""

    team_now: tuple[RepTable, CapRoom | None, np.ndarray]
    available: np.ndarray  # who is on shift
    retry: bool  # whether the backlog joins the batch (its schedule says it is due)
    backlog: list[WaitingLead]  # the backlog's leads that do
    mark: tuple[int, int]  # the backlog's turns before (`BacklogSchedule.mark`)
    news: int | None = None  # solved off the lock: `BacklogSchedule.news` when it was


class Router:
    """Stateful online router; see the module docstring. Not thread-safe: one caller at a time.

    Parameters
    ----------
    reps, policy
        The team and the routing policy (batch solver, rules, batching, SLA).
    store
        Where leads live (`LeadStore`); default a new in-memory store.
    clock
        Gives `now` when a method is called without one (default: UTC now).
    catchup_window
        Quota weights count only the share of this window a rep was not on
        leave, so a rep back from leave is not flooded to catch up.
    run_id
        Tags every store write (a batch job's run).
    accounts
        The accounts file: owners up parent accounts, named accounts (`compile_problem`).
    """

    def __init__(
        self,
        reps: Sequence[Rep],
        policy: Policy,
        store: LeadStore | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
        catchup_window: timedelta = timedelta(days=14),
        run_id: int | None = None,
        accounts: Sequence[Account] | None = None,
    ) -> None:
        self.accounts = accounts
        self.units = unit_book(accounts)  # an experiment's account units follow the parent chains
        self.store: LeadStore = store if store is not None else MemoryStore(audit=False)
        self.policy = policy = promoted(policy, self.store)  # a stopped experiment's winner
        self.clock = clock or _utc_now
        self.catchup_window = catchup_window
        self.run_id = run_id
        self.team = Team(reps, policy, catchup_window, accounts)
        self.schedule = BacklogSchedule(timed=self.team.caps.active)
        self.pricing = SeatPricing(policy, self.team.table.m)
        self.arms = self._arms(reps)
        self.solve_status: str | None = None  # the last batch solve's `Solution.status`
        self.on_stage: Callable[[str], None] | None = None  # told each stage of a batch (progress)
        # Runs a batch's solve, which needs neither the store nor the router (`batch.ArmPlan.solve`):
        # the HTTP service lets other calls into the router meanwhile (`solver.http.gate`).
        self.off_lock: Callable[[Callable[[], Any]], Any] = _at_once
        self._fits_unit_effort: Policy | None = None  # the policy a unit-effort lead was found to fit

    # -- what callers read --------------------------------------------------------------------

    @property
    def reps(self) -> list[Rep]:
        return self.team.reps

    @property
    def table(self) -> RepTable:
        """The compiled team (capacity, rules, rotation state)."""
        return self.team.table

    @property
    def pricer(self) -> DualPricer:
        """The fast path's prices (replaced, with the team, by `update_reps`)."""
        return self.pricing.pricer

    @property
    def pending(self) -> int:
        """Leads waiting in the buffer."""
        return self.store.count_buffered()

    @property
    def buffered(self) -> list[str]:
        """Ids of the buffered leads, oldest first."""
        return [lead.id for lead, _ in self.store.buffered_leads()]

    @property
    def backlog(self) -> list[str]:
        """Ids of the leads waiting for capacity (answered unassigned, retried), oldest first."""
        return [w.lead.id for w in self.store.waiting_leads()]

    @property
    def free_capacity(self) -> np.ndarray:
        """Effort units each rep (in `table.ids` order) can still take, caps over time included
        (as of the clock's now): what the fast path's prices are learned against."""
        loads = self._loads()
        room = self.team.cap_room(self.store, self._now(None), loads)
        return self.team.free(loads) if room is None else np.minimum(self.team.free(loads), room.rep)

    def loads(self) -> dict[str, int]:
        """Open leads per rep id: the reps' own `open_leads` plus assigned minus released."""
        held = self.team.held(self._loads())
        return {rep_id: int(h) for rep_id, h in zip(self.team.ids, held, strict=True)}

    # -- leads in -----------------------------------------------------------------------------

    def submit(self, lead: Lead, now: datetime | None = None) -> Assignment | None:
        """Accept a lead: an urgent one is routed now (its Assignment), a normal one is buffered (None).

        Idempotent on the lead id: a retry of a decided lead returns its
        decision and nothing new is assigned; one still buffered returns None.
        The same id with other content raises `LeadConflict` (the first is kept).
        """
        now = self._now(now)
        self._check_fits(lead)
        if not lead.urgent and self.team.table.rules is not None:
            # an urgent lead is compiled now and refused here; a buffered one is compiled with its
            # batch, where text under a rule's number test failed every later batch and restart
            try:
                check_lead(self.team.table.rules, lead)
            except InputError as exc:
                raise InputError(f"lead {lead.id!r}: {exc.message}", field=exc.field) from None
        store = self.store
        with atomic(self.store):
            accepted = store.accept(lead, now, self.run_id, buffered=not lead.urgent)
            if accepted is Accepted.NEW:
                return self._route_urgent(lead, now) if lead.urgent else None
        if accepted is Accepted.CHANGED:
            raise LeadConflict.between(store.record(lead.id), lead)
        status = store.status(lead.id)
        return None if status is None or status.undecided else store.decision(lead.id)

    def tick(self, now: datetime | None = None, *, reprice: bool = True) -> list[Assignment]:
        """Flush when the buffer is full or its oldest lead has waited long enough; else [].

        Without a flush, the backlog is solved on its own once capacity has
        freed since its last try, or, `policy.batch.max_wait_s` after it, when
        the reps on shift have changed (nothing else could place it). With
        `reprice` False the prices are left to the caller (`pricing_job` /
        `install_prices`), who solves the pricing LP off its lock.
        """
        now = self._now(now)
        sizes, store = self.policy.batch, self.store

        def due() -> list[Lead] | None:
            buffered = store.count_buffered()
            oldest = store.oldest_buffered_at() if buffered else None
            if oldest is not None and (buffered >= sizes.max_size
                                       or (now - oldest).total_seconds() >= sizes.max_wait_s):
                return self._buffer()
            if self.schedule.due_alone(store.count_waiting(), now, sizes.max_wait_s,
                                       lambda: self.team.calendar.available(now), self._held):
                return []
            return None

        out = self._decide(now, due, reprice)
        if reprice:
            for pricing in self._pricings():
                self._reprice_if_due(pricing=pricing)
        return out

    def flush(self, now: datetime | None = None, *, reprice: bool = True) -> list[Assignment]:
        """Solve the whole buffer now with the policy's batch solver, the backlog with it.

        Returns the buffered leads' decisions, the backlogged leads that got a
        rep and those whose wait expired (`policy.sla.max_backlog_hours`).
        When batches are priced and the prices are due, they are learned again
        first, with the buffer's leads in the sample (`reprice` False: not here).
        """
        now = self._now(now)

        def buffer() -> list[Lead] | None:
            leads = self._buffer()
            return leads if leads or self.store.count_waiting() else None

        return self._decide(now, buffer, reprice)

    def route(self, leads: Sequence[Lead], now: datetime | None = None, *,
              on_conflict: Callable[[int, Lead], None] | None = None,
              on_commit: Callable[[list[Assignment]], None] | None = None) -> list[Assignment]:
        """Accept `leads` and solve them with the buffer as one batch (the scheduled job's call).

        Known leads are skipped; one known with other content goes to `on_conflict`
        (its index, the lead; without it, `LeadConflict`, nothing written), its first version
        kept; so too one another process accepts while the batch is solved off the lock (the
        same content: left to it). The new leads are accepted in the transaction that records their decisions,
        so a run stopped before it leaves none of them behind; `on_commit(answers)` runs in
        that transaction too (a job's run summary commits with its decisions).
        Urgency is ignored: the whole batch is solved at once anyway. The batch
        does not learn prices from itself: a job's fresh router has none, so each
        run is solved exactly, with no seats held back for leads a later run may
        or may not bring.
        """
        now = self._now(now)
        store = self.store
        new: dict[str, Lead] = {}  # the leads to accept with the decisions, by id in order
        row: dict[str, int] = {}  # each new lead's index in `leads` (`on_conflict`'s)
        first_read = True

        def conflict(k: int, lead: Lead) -> None:
            if on_conflict is None:
                raise LeadConflict.between(store.record(lead.id), lead)
            on_conflict(k, lead)

        def taken() -> set[str]:
            """The new leads another process accepted since they were read, taken out of `new`:
            decided (or to be) by it; one it accepted with other content is a conflict, as on the
            first read (its version is kept, the file's is not decided)."""
            known = store.known(new)
            for lead_id in known:
                lead = new.pop(lead_id)
                if store.record(lead_id) != lead:
                    conflict(row[lead_id], lead)
            return known

        def batch() -> list[Lead]:
            nonlocal first_read
            if first_read:
                first_read = False
                known = store.known(lead.id for lead in leads)
                for lead in leads:
                    if lead.id not in known:
                        self._check_fits(lead)
                accepts, new_leads = sort_accepts(leads, known, store.record)
                for k, (lead, accepted) in enumerate(zip(leads, accepts, strict=True)):
                    if accepted is Accepted.CHANGED:
                        conflict(k, lead)
                    elif accepted is Accepted.NEW:
                        row[lead.id] = k
                new.update(new_leads)
            else:  # read again after a conflict: another process may have accepted some meanwhile
                taken()
            self._stage("accepted")
            return self._buffer() + list(new.values())

        return self._decide(now, batch, False, new, on_commit, taken)

    # -- leads on -----------------------------------------------------------------------------

    def touch(self, lead_id: str, now: datetime | None = None) -> None:
        """The owner responded: the lead's SLA clock stops. KeyError if the lead has no answer yet."""
        now = self._now(now)
        self._decided_status(lead_id)
        self.store.touch(lead_id, now)

    def release(self, lead_id: str, now: datetime | None = None, *, by: str | None = None) -> None:
        """The lead is worked or closed: its owner's capacity is free again (no-op if already).

        A lead still waiting in the backlog (or in a named queue) leaves it: its
        "unassigned" answer becomes final (closed before any rep took it).
        KeyError if the lead has no answer yet. `by`: a person releasing it by hand (the
        ledger's event names them).
        """
        now = self._now(now)
        self._decided_status(lead_id)
        if outcomes.release(self.store, lead_id, now, self.run_id, by=by):
            self.schedule.freed = True

    def reassign_stale(self, now: datetime | None = None) -> list[Assignment]:
        """Move each lead untouched past its SLA to another eligible rep (old owner excluded).

        A lead no other rep can take stays put and is checked again one SLA
        later; after `policy.sla.max_reassignments` moves it stays for good.
        """
        now = self._now(now)
        with atomic(self.store):
            if self.arms is None:
                return reassign_stale(self.team, self.pricing, self.store, self.policy, now, self.run_id)
            stale = self.store.stale_leads(now, self.policy.sla.max_reassignments)
            moved: list[Assignment] = []
            for arm in self.arms.values():  # each lead moves by the policy of the arm it is in
                mine = [item for item in stale if self._arm_name(item) == arm.name]
                moved += [arm.tag(a) for a in reassign_stale(
                    arm.team, arm.pricing, self.store, arm.policy, now, self.run_id, stale=mine)]
            return moved

    def reroute(self, lead_id: str, by: str, now: datetime | None = None) -> Assignment | None:
        """A person moves an open, untouched lead to the best other rep now (the fast path's
        choice without its old owner, by the policy of the lead's arm), recorded as theirs:
        reason code `rerouted`, naming `by`. None, changing nothing, when the lead is not open,
        was touched already, or no other rep can take it."""
        now = self._now(now)
        with atomic(self.store):
            item = self.store.open_lead(lead_id)
            if item is None or item.touched:
                return None
            team, pricing, arm = self.team, self.pricing, None
            if self.arms is not None:
                arm = self.arms[self._arm_name(item)]
                team, pricing = arm.team, arm.pricing

            def by_person(rep_id: str, cause: Reason) -> Reason:
                return ReasonCode.REROUTED.reason(by=by, rep_id=rep_id, cause=cause)

            answer = move_open_lead(team, pricing, self.store, item, now, self.run_id, by_person)
        return None if answer is None else tagged(answer, arm)

    # -- the team and its prices --------------------------------------------------------------

    def update_reps(self, reps: Sequence[Rep]) -> None:
        """Replace the team (new reps, changed hours or capacity). Open leads keep their owners;
        those whose owner left become due for reassignment at once."""
        self.team = Team(reps, self.policy, self.catchup_window, self.accounts)
        self.pricing = SeatPricing(self.policy, self.team.table.m)
        self.arms = self._arms(reps)
        self.schedule.freed = True  # new reps or capacity: worth another try for the backlog
        with self.store.transaction():
            for item in self.store.open_leads():
                if item.rep_id not in self.team.index and not item.touched:
                    self.store.extend_sla(item.lead.id, _EPOCH)

    def pricing_job(self, unplaced: int = 0) -> PricingJob | None:
        """When the fast path's prices are due: the pricing LP on a copy of its inputs, else None.

        `job.solve()` may run anywhere while the router keeps routing; hand the
        result to `install_prices`. (`tick` does all three at once by default.)
        `unplaced`: leads already seen that still need seats (a batch about to be solved).
        """
        # the free capacity (with caps, a read of the ledger) only when the prices are due
        return self.pricing.job(self.free_capacity, unplaced) if self.pricer.due else None

    def pricing_jobs(self, unplaced: int = 0) -> list[tuple[DualPricer, PricingJob]]:
        """`pricing_job` for every fast path that prices: the router's own and, in an
        experiment, the challenger arm's; each with the pricer its duals are for
        (`install_prices(duals, pricer)`)."""
        return [(pricing.pricer, job) for pricing in self._pricings()
                if pricing.pricer.due and (job := pricing.job(self.free_capacity, unplaced)) is not None]

    def install_prices(self, duals: np.ndarray | None, pricer: DualPricer | None = None) -> None:
        """Prices from a solved `pricing_job` (None keeps the current ones), for `pricer` (an
        arm's; None: the router's own). Dropped when that pricer is no longer in use (the team
        changed while the LP ran).

        New prices may admit deferred leads, so the backlog is worth another try.
        """
        pricer = self.pricer if pricer is None else pricer
        if not any(pricing.pricer is pricer for pricing in self._pricings()):
            return
        pricer.install(duals)
        if duals is not None and self.pricing.batches and self.store.count_waiting():
            self.schedule.freed = True

    def _pricings(self) -> list[SeatPricing]:
        """The fast paths' prices in use: the router's, and each experiment arm's."""
        if self.arms is None:
            return [self.pricing]
        return [self.pricing] + [a.pricing for a in self.arms.values() if a.pricing is not self.pricing]

    def _reprice_if_due(self, unplaced: int = 0, pricing: SeatPricing | None = None) -> None:
        """Re-learn the fast path's prices (an LP over recent leads) on the doubling schedule: the
        router's own, or an experiment arm's `pricing`."""
        if pricing is None or pricing is self.pricing:
            job = self.pricing_job(unplaced)
            if job is not None:
                self.install_prices(job.solve())
        elif pricing.pricer.due and (job := pricing.job(self.free_capacity, unplaced)) is not None:
            pricing.pricer.install(job.solve())

    # -- deciding -----------------------------------------------------------------------------

    def _route_urgent(self, lead: Lead, now: datetime) -> Assignment:
        arm = None
        team, pricing = self.team, self.pricing
        if self.arms is not None and self.policy.experiment is not None:
            arm = self.arms[arm_of(self.policy.experiment, lead, now, self.units)]
            team, pricing = arm.team, arm.pricing
        assignment = route_urgent(team, pricing, self.store, lead, now, self.run_id, arm=arm)
        if status_of(assignment).in_backlog:
            self.schedule.entered(now)
        return assignment

    def _held(self) -> np.ndarray:
        """Each rep's capacity units in the ledger now, every process's decisions counted."""
        return self.store.loads(self.team.ids).effort

    def _buffer(self) -> list[Lead]:
        """The buffered leads, oldest first."""
        return [lead for lead, _ in self.store.buffered_leads()]

    def _decide(self, now: datetime, pick: Callable[[], list[Lead] | None], reprice: bool,
                new: Mapping[str, Lead] | None = None,
                on_commit: Callable[[list[Assignment]], None] | None = None,
                taken: Callable[[], Collection[str]] | None = None) -> list[Assignment]:
        """Expire the backlog's overdue leads, pick a batch under the ledger's lock (`pick`: its
        leads, [] for the backlog alone, None for no batch), solve and record it; `new`: leads of
        the batch to accept with its decisions (a job's file), `on_commit`: see `route`, `taken`:
        takes out of `new` the ids another process accepted since `pick` read them, and says which.

        On a ledger that other processes share, the batch is solved off the lock (`batch.ArmPlan`,
        through `off_lock`) and recorded as `batch.settle` mends it: without the leads decided
        (or, of `new`, accepted) elsewhere meanwhile, and the leads whose seats were taken, new or
        waiting, solved again holding the lock.
        An answer that cannot be mended (the team or a rotation changed) is picked and solved
        again; the last of BATCH_TRIES holds the lock throughout, as an experiment's batch does
        (each arm is solved against what the arm before it left). Returns the expired leads'
        answers, then the batch's (`_solve_batch`).
        """
        store, out, new = self.store, [], new if new is not None else {}
        for attempt in range(1, BATCH_TRIES + 1):
            with atomic(store):
                out += expire(store, self.policy.sla.max_backlog_hours, now, self.run_id)
                leads = pick()
                if leads is None:
                    return out
                priced = reprice and bool(leads)  # the prices learn from new leads only
                # prices learned again from the batch before it is solved: compiled under the lock
                locked = (attempt == BATCH_TRIES or not store.durable or self.arms is not None
                          or (priced and self.pricing.batches))
                if locked:
                    self._accept(new, now)
                    return self._committed(out + self._solve_batch(leads, now, priced), on_commit)
                turn = self._turn(now)
                plan = self._plan_arm(leads, turn.backlog, now, False, self.team,
                                      self.pricing, self.policy, None, turn.team_now, compile_now=False)
                turn = dataclasses.replace(turn, news=self.schedule.news)  # room freed from here on is news
            answer: batch.ArmAnswer = self.off_lock(partial(plan.solve, self._stage))
            with atomic(store):
                gone = taken() if taken is not None else set()
                settled = batch.settle(answer, store, now, gone) if plan.team is self.team else None
                if settled is not None:
                    self._accept(new, now)
                    self._observe(self.pricing, answer.compiled, settled.kept)
                    out += self._turn_done(now, turn, self._record_arm(settled.answer, now))
                    if settled.displaced or settled.waiting:  # their seats were taken meanwhile: a few
                        out += self._solve_batch(settled.displaced, now, backlog=settled.waiting)
                    return self._committed(out, on_commit)
            self.schedule.rewind(turn.mark)  # the turn of the backlog is taken again
        raise AssertionError("the last try holds the lock")

    def _accept(self, new: Mapping[str, Lead], now: datetime) -> None:
        """Accept a job's new leads, in the transaction that records their decisions."""
        if new:
            self.store.accept_many(list(new.values()), now, self.run_id)

    @staticmethod
    def _committed(out: list[Assignment],
                   on_commit: Callable[[list[Assignment]], None] | None) -> list[Assignment]:
        """`out`, a batch's answers, once `on_commit` has seen them (in the same transaction)."""
        if on_commit is not None:
            on_commit(out)
        return out

    def _turn(self, now: datetime, backlog: list[WaitingLead] | None = None) -> _Turn:
        """The team as a batch at `now` sees it and the backlog's leads that join the batch: its
        schedule's turn, or just `backlog` (the schedule's turn untaken)."""
        store = self.store
        team_now = batch.table_now(self.team, store, now)  # the control's team: the router's own
        available = team_now[0].available  # the same reps on shift for every arm
        mark = self.schedule.mark()
        retry = backlog is None and self.schedule.due(store.count_waiting(), available)
        if retry:
            backlog = self.schedule.turns(store, team_now[0])
        return _Turn(team_now, available, retry, backlog or [], mark)

    def _turn_done(self, now: datetime, turn: _Turn, out: list[Assignment]) -> list[Assignment]:
        """`out`, a batch's recorded answers, after the backlog's schedule has noted the batch."""
        if turn.retry:
            self.schedule.tried(now, turn.available, self._held(), turn.news)
        if any(status_of(a).in_backlog for a in out):
            self.schedule.entered(now)
        self._stage("recorded")
        return out

    def _solve_batch(self, leads: list[Lead], now: datetime, reprice: bool = False, *,
                     backlog: list[WaitingLead] | None = None) -> list[Assignment]:
        """Solve `leads` (first decisions) and the backlog's turn (or just the waiting leads
        `backlog`) as one batch, holding the lock (the caller's transaction); record the result.

        Returns the decisions of `leads` and of the backlogged leads that got a rep. In an
        experiment, each arm's leads are one sub-problem of its own policy, solved in turn
        (control first) against what the arms before it left (`solver.online.experiment`).
        """
        store = self.store
        turn = self._turn(now, backlog)
        if self.arms is None or self.policy.experiment is None:
            plan = self._plan_arm(leads, turn.backlog, now, reprice, self.team, self.pricing,
                                  self.policy, None, turn.team_now)
            return self._turn_done(now, turn, self._record_arm(plan.solve(self._stage), now))
        experiment = self.policy.experiment
        accepted = {lead.id: at for lead, at in store.buffered_leads()}
        out: list[Assignment] = []
        for arm in self.arms.values():
            mine = [lead for lead in leads
                    if arm_of(experiment, lead, accepted.get(lead.id, now), self.units) == arm.name]
            waiting = [w for w in turn.backlog if self._arm_name(w) == arm.name]
            if mine or waiting:  # an arm after the first sees the loads and caps the first left
                first = arm.team is self.team and not out  # the turn's reads are this arm's
                plan = self._plan_arm(mine, waiting, now, reprice, arm.team, arm.pricing,
                                      arm.policy, arm, turn.team_now if first else None)
                out += self._record_arm(plan.solve(self._stage), now)
        return self._turn_done(now, turn, out)

    def _plan_arm(self, leads: list[Lead], backlog: list[WaitingLead], now: datetime,
                  reprice: bool, team: Team, pricing: SeatPricing, policy: Policy, arm: Arm | None,
                  team_now: tuple[RepTable, CapRoom | None, np.ndarray] | None = None, *,
                  compile_now: bool = True) -> batch.ArmPlan:
        """`leads` (first decisions) and `backlog` as one policy's sub-problem (an experiment's
        `arm`, or the router's own) against the store's loads and caps now (`team_now`:
        `batch.table_now` already read for this team, with nothing written since). With
        `compile_now`, compiled here and observed by the prices (learned again first with
        `reprice`); else `ArmPlan.solve` compiles it, off the lock, and the prices observe it
        once it is recorded."""
        store = self.store
        table, room, free = team_now if team_now is not None else batch.table_now(team, store, now)
        plan = batch.ArmPlan(leads, backlog, team, policy, arm, table, room, free, pricing.pricing_now(),
                             pricing.pricer.prices.copy(), store.explains)
        if not compile_now:
            return plan
        compiled = plan.compile()
        self._observe(pricing, compiled, slice(len(leads)))
        if reprice and pricing.batches:
            # a batch is a sample of the leads to come too: without this, the first batch (a
            # quarter of a 1,000-lead stream at 250 a batch) is solved unpriced
            self._reprice_if_due(unplaced=len(leads), pricing=pricing)
        return dataclasses.replace(plan, compiled=compiled, price=pricing.pricing_now(),
                                   prices=pricing.pricer.prices.copy())

    @staticmethod
    def _observe(pricing: SeatPricing, compiled: Problem, rows: slice | np.ndarray) -> None:
        """The prices learn from these rows of a batch's new leads, unpriced (the backlog's retries
        are no new data)."""
        pricing.pricer.observe(compiled.eligible[rows], compiled.gross_profit[rows])

    def _record_arm(self, answer: batch.ArmAnswer, now: datetime) -> list[Assignment]:
        """Record a solved sub-problem's decisions (tagged with its arm and experiment, `Arm.tag`),
        all or nothing: its first decisions and the backlogged leads it placed."""
        plan, store, solution = answer.plan, self.store, answer.solution
        self.solve_status = str(solution.status)
        owner, lead_ids = solution.owner, answer.problem.lead_ids
        due = {lead_ids[i]: plan.team.sla_due(int(owner[i]), now) for i in np.flatnonzero(owner >= 0)}
        explanations = answer.explanations
        moved: list[Assignment] = []
        with store.transaction():  # all or nothing
            store.decide(answer.first, now, sla_due=due, explanations=explanations, run_id=self.run_id)
            if solution.rotation is not None:  # the next batch, here or in another process, goes on
                rotation.save(store, solution.rotation, plan.team.ids)
            for item, a in zip(plan.backlog, answer.backlog, strict=True):
                if a.rep_id is None:
                    continue
                a = with_reason(a, ReasonCode.FROM_BACKLOG.reason(
                    since=item.since.isoformat(timespec="seconds"), cause=a.reason))
                a = keeping_arm(a, item.answer)  # a waiting lead keeps the arm of its first decision
                # False: another router on the store assigned, closed or expired it meanwhile
                if store.assign_waiting(a, now, sla_due=due.get(a.lead_id),
                                        explanation=explanations.get(a.lead_id), run_id=self.run_id):
                    moved.append(a)
        return answer.first + moved

    def _arms(self, reps: Sequence[Rep]) -> dict[str, Arm] | None:
        """The experiment's arms (None: no experiment, or one stopped)."""
        if self.policy.experiment is None:
            return None
        record_start(self.store, self.policy, self._now(None))
        # the control routes with the router's own team and prices (those the service reprices)
        name = self.policy.experiment.name
        control = Arm(CONTROL, name, self.policy.arm_policy(CONTROL), self.team, self.pricing)
        return {CONTROL: control, CHALLENGER: Arm.of(CHALLENGER, name, self.policy, reps, self.catchup_window,
                                                     self.accounts)}

    def _arm_name(self, item: WaitingLead | OpenLead) -> str:
        """The arm a waiting or open lead was first decided in (the control's for a lead decided
        before the experiment began)."""
        answer = item.answer if isinstance(item, WaitingLead) else self.store.decision(item.lead.id)
        return (answer.arm if answer is not None else None) or CONTROL

    # -- plumbing -----------------------------------------------------------------------------

    def _loads(self) -> RepLoads:
        return self.store.loads(self.team.ids)

    def _stage(self, stage: str) -> None:
        if self.on_stage is not None:
            self.on_stage(stage)

    def _now(self, now: datetime | None) -> datetime:
        now = self.clock() if now is None else now
        if now.tzinfo is None:
            raise ValueError("router times must be timezone-aware datetimes")
        return now

    def _check_fits(self, lead: Lead) -> None:
        """The policy's solver can take this lead (min-cost flow: unit effort); InputError naming it.

        A unit-effort lead can fail only the policy's own checks (account grouping), so one that
        fits means every other does under the same policy (frozen; the service may replace it):
        the urgent path skips the registry look-up then.
        """
        unit = lead.effort == 1
        if unit and self._fits_unit_effort is self.policy:
            return
        try:
            check_solver_fits(self.policy, (lead,))
        except InputError as exc:
            raise InputError(f"lead {lead.id!r}: {exc.message}", field=exc.field) from None
        if unit:
            self._fits_unit_effort = self.policy

    def _decided_status(self, lead_id: str) -> LeadStatus:
        """The status of a lead with an answer; KeyError if unknown or still buffered."""
        status = self.store.status(lead_id)
        if status is None or status.undecided:
            raise KeyError(f"lead {lead_id!r} has no owner yet (unknown or still buffered)")
        return status
