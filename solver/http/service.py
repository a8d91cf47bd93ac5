"""State behind the HTTP endpoints: the gated router, its micro-batch timers and pricing process.

Micro-batches run on a thread, solved off the gate's lock (read and recorded
under it), so urgent leads, health checks and metrics are answered while a
batch is solved; the fast path's pricing LP (seconds at 1,000 reps) runs in a
separate process, off the lock.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import multiprocessing
import os
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Literal

from solver.compile.routing import check_leads
from solver.decode.batch import check_solver_fits
from solver.decode.result import Assignment
from solver.domain.errors import InputError
from solver.domain.ids import id_key
from solver.domain.model import Lead, Rep
from solver.http.gate import RouterGate
from solver.http.metrics import Metrics
from solver.http.schemas import LeadAnswer, LeadDetail, LeadEvent
from solver.online.outcomes import DISPOSITIONS
from solver.online.pricing import DualPricer, PricingJob
from solver.online.rep_changes import apply_changes
from solver.online.router import Router
from solver.online.store import StoreThreadError, leads_batches

log = logging.getLogger("leadsolver.service")

# Prices move slowly (they summarise thousands of leads), but at hundreds of
# leads a second the router's lead-count schedule would keep the pricing LP
# running back to back, taking a core from the requests on a small machine.
REPRICE_MIN_INTERVAL_S = 10.0
# /readyz probes whether the ledger takes writes (a real write, rolled back) at most this often:
# probes every second from a load balancer must not add a write lock per request.
WRITABLE_TTL_S = 1.0
# How often a replica looks for rep changes another process recorded in the shared ledger (a
# console on another replica paused a rep): the longest it routes to a paused rep.
REP_CHANGES_INTERVAL_S = 1.0


class Service:
    """State behind the endpoints: the gated router, rep ids, readiness, metrics."""

    def __init__(
        self,
        router: Router,
        reload_reps: Callable[[], Sequence[Rep]] | None,
        tick_interval_s: float,
        stale_interval_s: float,
    ) -> None:
        if not router.store.durable:
            raise ValueError("the service needs a router with a durable store (a ledger): "
                             "accepted leads must survive a restart")
        self.gate = RouterGate(router)
        self.reload_reps = reload_reps
        self.tick_interval_s = tick_interval_s
        self.stale_interval_s = stale_interval_s
        self.metrics = Metrics()
        self.rep_ids = frozenset(r.id for r in router.reps)
        self.ready = False
        self._timers: asyncio.Task[None] | None = None
        self._repricing: asyncio.Task[None] | None = None
        self._last_reprice = -REPRICE_MIN_INTERVAL_S
        self._pricing_pool: ProcessPoolExecutor | None = None
        self._writable = True
        self._writable_at = -float("inf")
        # The ledger's rep changes already in the team (replayed at start), and those this process
        # recorded and applied itself: the follower applies only the others' (`follow_rep_changes`).
        self._rep_changes_seq = max((row["seq"] for row in router.store.rep_changes()), default=0)
        self._applied_here: set[int] = set()

    @property
    def router(self) -> Router:
        """For atomic reads from the event loop (`pending`, `policy`); calls go through the gate."""
        return self.gate.router

    async def start(self) -> None:
        """Flush the leads buffered before a restart (on a thread, as every flush), start the timers."""
        try:
            flushed = await self.gate.call_in_thread(_flush_on_thread)
        except StoreThreadError as exc:
            raise ValueError("open the service's ledger with check_same_thread=False: "
                             "micro-batches are solved on a worker thread") from exc
        if flushed:
            log.info("flushed %d lead(s) buffered before the restart", len(flushed))
            self.metrics.observe_answers([LeadAnswer.of(a.lead_id, a) for a in flushed])
        self._timers = asyncio.create_task(self.run_timers())
        # What start-up loaded (FastAPI, OR-Tools, SciPy, the reps) lives as long as the
        # process: keep it out of the collector's full passes, which otherwise pause every
        # request for tens of milliseconds.
        gc.freeze()
        self.ready = True

    def applied_here(self, seq: int) -> None:
        """A rep change this process recorded and applied to its own team at once."""
        self._applied_here.add(seq)

    async def follow_rep_changes(self) -> int:
        """Apply the rep changes other processes recorded in the ledger since the last look (a
        console on another replica paused a rep or changed a capacity): how many."""
        rows = [row for row in await self.gate.call(lambda router: router.store.rep_changes())
                if row["seq"] > self._rep_changes_seq]
        if not rows:
            return 0
        seen = max(row["seq"] for row in rows)
        others = [row for row in rows if row["seq"] not in self._applied_here]
        # The mark last: a reader on another thread (the console's tests) that sees it sees the
        # applied set already trimmed.
        self._applied_here = {seq for seq in self._applied_here if seq > seen}
        self._rep_changes_seq = seen
        if others:
            await self.gate.call_in_thread(lambda router: follow(router, others))
        return len(others)

    async def writable(self) -> bool:
        """Whether the ledger takes writes (readiness), probed at most every WRITABLE_TTL_S.

        Under the gate's lock, as every use of the store; while a micro-batch holds
        the lock the last answer stands, so a probe never waits for a solve.
        """
        if time.monotonic() - self._writable_at >= WRITABLE_TTL_S and not self.gate.busy:
            self._writable = await self.gate.call(lambda router: router.store.writable())
            self._writable_at = time.monotonic()
        return self._writable

    async def _start_repricing(self) -> None:
        """When the fast path's prices are due, solve their LP in another process.

        The LP takes seconds at 1,000 reps and holds the GIL in parts, so neither
        the lock nor this process's threads may wait for it; routing goes on
        with the old prices meanwhile. One solve at a time; the result is
        dropped if the team changed (reload, rebuild) while it ran.
        """
        if self._repricing is not None and not self._repricing.done():
            return
        if time.monotonic() - self._last_reprice < REPRICE_MIN_INTERVAL_S:
            return
        self._last_reprice = time.monotonic()
        jobs = await self.gate.call(lambda router: router.pricing_jobs())
        if jobs:  # the router's prices, and an experiment challenger's
            self._repricing = asyncio.create_task(self._reprice_all(jobs))

    async def _reprice_all(self, jobs: list[tuple[DualPricer, PricingJob]]) -> None:
        for pricer, job in jobs:
            await self._reprice(job, pricer)

    async def _reprice(self, job: PricingJob, pricer: DualPricer) -> None:
        if self._pricing_pool is None:
            # spawn, not fork: a forked child would inherit the server's threads and sockets.
            # Niced: on a small machine the LP must not take CPU from the requests.
            self._pricing_pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                                     initializer=os.nice, initargs=(10,))
        try:
            duals = await asyncio.get_running_loop().run_in_executor(self._pricing_pool, job.solve)
        except Exception as exc:
            log.exception("pricing LP failed; the fast path keeps its old prices")
            if isinstance(exc, BrokenProcessPool):  # the child died: start a fresh one next time
                self._pricing_pool.shutdown(wait=False, cancel_futures=True)
                self._pricing_pool = None
            return
        await self.gate.call(lambda router: router.install_prices(duals, pricer))

    async def stop(self) -> None:
        """Stop the timers and any pricing solve; wait for the router call in progress."""
        self.ready = False
        for task in (self._timers, self._repricing):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        if self._pricing_pool is not None:
            self._pricing_pool.shutdown(wait=False, cancel_futures=True)
        # Buffered leads stay in the ledger for the next start.
        await self.gate.drained()

    async def run_timers(self) -> None:
        """Flush micro-batches on the batch timer, reassign stale leads on a slower one.

        A failed round is logged and retried on the next tick: the leads stay buffered.
        """
        last_stale = last_changes = time.monotonic()
        while True:
            await asyncio.sleep(self.tick_interval_s)
            start = time.perf_counter()
            try:
                flushed: list[Assignment] = []
                # An idle tick would hold the lock for a thread hand-off for nothing.
                # (counts, not listings: a listing of thousands of waiting leads, every tick, on the
                # event loop, stalled every request); on a ledger shared by replicas, the one
                # elected solves them (any other takes over when it dies)
                store = self.router.store
                if (self.router.pending or store.count_waiting()) and leads_batches(store):
                    flushed = await self.gate.call_in_thread(lambda router: router.tick(reprice=False))
                await self._start_repricing()
                if time.monotonic() - last_changes >= REP_CHANGES_INTERVAL_S:
                    last_changes = time.monotonic()
                    if followed := await self.follow_rep_changes():
                        log.info("applied %d rep change(s) recorded by another process", followed)
                if time.monotonic() - last_stale >= self.stale_interval_s:
                    last_stale = time.monotonic()
                    moved = await self.gate.call_in_thread(lambda router: router.reassign_stale())
                    if moved:
                        log.info("reassigned %d lead(s) untouched past their SLA", len(moved))
            except Exception:
                log.exception("router timer failed; buffered leads are retried on the next tick")
                continue
            if flushed:
                self.metrics.flush.observe(time.perf_counter() - start)
                self.metrics.observe_answers([LeadAnswer.of(a.lead_id, a) for a in flushed])

    def check(self, leads: Sequence[Lead], in_batch: bool) -> None:
        """Refuse (422) what the router would refuse, before anything of the request is recorded."""
        def where(k: int, name: str) -> str:
            return f"leads.{k}.{name}" if in_batch else name

        first: dict[str, int] = {}
        for k, lead in enumerate(leads):
            # Ids told apart by case or compatibility form only: a typo, refused as loaders do.
            if (j := first.setdefault(id_key(lead.id), k)) != k:
                raise InputError(f"duplicate lead id {lead.id!r} (also lead {j})" if leads[j].id == lead.id
                                 else f"lead id {lead.id!r} differs from lead {j}'s {leads[j].id!r} "
                                      "only by case or form", field=where(k, "id"))
            if lead.owner_id and lead.owner_id not in self.rep_ids:
                raise InputError(f"owner_id {lead.owner_id!r} names no known rep",
                                 field=where(k, "owner_id"))
        try:
            check_solver_fits(self.router.policy, leads)
        except InputError as exc:
            k = exc.row - 1 if isinstance(exc.row, int) else 0
            raise InputError(exc.message, field=where(k, exc.field or "")) from None
        rules = self.router.team.table.rules
        if rules is None:
            return
        try:  # text under a rule's number test: the router would refuse it once part was written
            check_leads(rules, leads)
        except InputError as exc:
            k = exc.row - 1 if isinstance(exc.row, int) else 0
            field = exc.field or ""
            if field in leads[k].attributes:
                field = f"attributes.{field}"
            raise InputError(f"lead {leads[k].id!r}: {exc.message}" if in_batch else exc.message,
                             field=where(k, field)) from None

    async def submit(self, leads: Sequence[Lead], in_batch: bool) -> list[LeadAnswer]:
        self.check(leads, in_batch)
        decisions = await self.gate.submit(leads)
        answers = [LeadAnswer.of(lead.id, d) for lead, d in zip(leads, decisions, strict=True)]
        self.metrics.observe_answers(answers)
        return answers


def _flush_on_thread(router: Router) -> list[Assignment]:
    router.store.loads()  # a ledger bound to the event loop's thread fails here, even with no leads
    return router.flush(reprice=False)  # the pricing LP runs in its own process


def lead_detail(router: Router, lead_id: str) -> LeadDetail | None:
    """The lead's decision, its explanation and audit trail from the ledger; None if unknown."""
    events = router.store.history(lead_id)
    if not events:
        return None
    answer = LeadAnswer.of(lead_id, router.store.decision(lead_id))
    explanation = next((e["explanation"] for e in reversed(events) if e["explanation"]), None)
    status = router.store.status(lead_id)
    outcome = next((e["kind"] for e in reversed(events) if e["kind"] in DISPOSITIONS), None)
    return LeadDetail(**answer.model_dump(), lifecycle=None if status is None else status.value,
                      outcome=outcome, explanation=explanation,
                      events=[LeadEvent.model_validate(e) for e in events])


def act_on_lead(router: Router, lead_id: str, method: Literal["touch", "release"]) -> LeadDetail | None:
    """Touch or release an assigned lead, or release (close) one waiting in the backlog or a named
    queue; then its detail.

    Other unassigned and pending leads: no-op.
    """
    detail = lead_detail(router, lead_id)
    if detail is not None and (detail.status == "assigned"
                               or (method == "release" and _closable(router, lead_id))):
        getattr(router, method)(lead_id)
        detail = lead_detail(router, lead_id)
    return detail


def _closable(router: Router, lead_id: str) -> bool:
    status = router.store.status(lead_id)
    return status is not None and status.closable


def follow(router: Router, changes: Sequence[Mapping[str, Any]]) -> None:
    """The running team with `changes` (rows of `rep_changes()`) applied over it."""
    reps, router.policy = apply_changes(router.reps, router.policy, changes)
    router.update_reps(reps)
