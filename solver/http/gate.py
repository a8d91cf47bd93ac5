"""Router access for the HTTP service: one caller at a time, submissions committed in groups."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import TypeVar

from solver.decode.result import Assignment
from solver.domain.model import Lead
from solver.online.router import Router
from solver.online.store import LeadConflict

log = logging.getLogger("leadsolver.service")
T = TypeVar("T")


class RouterGate:
    """One caller at a time into the router and its ledger.

    The Router is not thread-safe, so every call holds one asyncio lock. Short
    calls (a submission, a lookup) run inline on the event loop: handing them
    to a thread cost more than the call itself (GIL and scheduler hand-offs,
    ~0.5 ms a request on a loaded 2-core machine). Long calls (a micro-batch
    solve, SLA reassignment, a reps reload) run on a thread while holding the
    lock, so health checks and request parsing go on meanwhile; that is why the
    ledger must be opened with ``check_same_thread=False``. A batch's solve itself
    (`Router.off_lock`: arrays only, no store) lets the lock go, so urgent leads are
    routed while a micro-batch is solved; the batch takes it back to record its answer,
    which it checks against the ledger first (`solver.online.batch.settle`).

    Group commit: submissions that queue up while the lock is busy (or arrive
    in the same loop iteration) run in ONE ledger transaction, so a burst pays
    one commit (one fsync with synchronous=FULL), and every answer is released
    only after that commit. If a group fails, the ledger rolls back; the
    router, whose memory may already hold decisions from the group, is rebuilt
    from the ledger (what a restart does) and the submissions are retried one
    by one, so only the faulty one fails.
    """

    def __init__(self, router: Router, max_group: int = 256) -> None:
        self._max_group = max_group
        self._lock = asyncio.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._threads = 0  # calls running on worker threads (`drained`)
        self._idle = asyncio.Event()
        self._idle.set()
        self._queue: list[tuple[Sequence[Lead], asyncio.Future[list[Assignment | None]]]] = []
        self._drainer: asyncio.Task[None] | None = None
        self.router = self._adopted(router)

    def _adopted(self, router: Router) -> Router:
        router.off_lock = self._off_lock
        return router

    @property
    def busy(self) -> bool:
        """Whether a caller holds the lock now (a call would wait)."""
        return self._lock.locked()

    async def call(self, fn: Callable[[Router], T]) -> T:
        """fn(router) on the event loop, under the lock: for calls that take microseconds."""
        async with self._lock:
            return fn(self.router)

    async def call_in_thread(self, fn: Callable[[Router], T]) -> T:
        """fn(router) on a worker thread, under the lock: for calls that may take long.

        The thread gives the lock back when fn returns, not the caller: a caller cancelled
        meanwhile (a timer at shutdown) leaves the call running to its end, shielded (a job
        cancelled before its thread started would never run, and never give the lock back);
        `drained` waits for it.
        """
        loop = asyncio.get_running_loop()
        await self._lock.acquire()
        self._loop = loop
        self._threads += 1
        self._idle.clear()

        def run(router: Router) -> T:
            try:
                return fn(router)
            finally:
                loop.call_soon_threadsafe(self._thread_done)

        return await asyncio.shield(asyncio.to_thread(run, self.router))

    def _thread_done(self) -> None:
        self._lock.release()
        self._threads -= 1
        if not self._threads:
            self._idle.set()

    async def drained(self) -> None:
        """Once no call holds the router: those in progress, a batch's solve off the lock included,
        have returned."""
        await self._idle.wait()
        async with self._lock:
            pass

    def _off_lock(self, solve: Callable[[], T]) -> T:
        """`solve()` (a batch's, `Router.off_lock`) with the lock let go, taken back before the
        router carries on: on the worker thread of `call_in_thread`; on the event loop as it is."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # a worker thread: no loop runs here
            loop = self._loop
        else:
            loop = None
        if loop is None:
            return solve()
        asyncio.run_coroutine_threadsafe(self._let_go(), loop).result()
        try:
            return solve()
        finally:
            asyncio.run_coroutine_threadsafe(self._lock.acquire(), loop).result()

    async def _let_go(self) -> None:
        self._lock.release()

    async def submit(self, leads: Sequence[Lead]) -> list[Assignment | None]:
        """Submit leads in order; the answers come after their ledger transaction commits.

        `LeadConflict` if a lead id is known with other content: nothing of the call is recorded.
        """
        future: asyncio.Future[list[Assignment | None]] = asyncio.get_running_loop().create_future()
        self._queue.append((leads, future))
        if self._drainer is None:
            self._drainer = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            async with self._lock:
                while self._queue:
                    group = self._queue[: self._max_group]
                    del self._queue[: self._max_group]
                    try:
                        self._commit(group)
                    except Exception as exc:  # even the rebuild failed: answer 500s, never hang
                        for _, future in group:
                            if not future.done():
                                future.set_exception(exc)
        finally:
            self._drainer = None

    def _commit(self, group: list[tuple[Sequence[Lead], asyncio.Future[list[Assignment | None]]]]) -> None:
        try:
            with self.router.store.transaction():
                answers = [self._submit(leads) for leads, _ in group]
        except Exception as exc:
            self.router = self._adopted(_rebuilt(self.router))
            if len(group) > 1:
                for item in group:
                    self._commit([item])
            elif not group[0][1].done():
                group[0][1].set_exception(exc)
            return
        for (_, future), answer in zip(group, answers, strict=True):
            if future.done():  # the client went away; its leads are recorded anyway
                continue
            if isinstance(answer, LeadConflict):
                future.set_exception(answer)
            else:
                future.set_result(answer)

    def _submit(self, leads: Sequence[Lead]) -> list[Assignment | None] | LeadConflict:
        """The leads' answers, or their conflict having written nothing (the group goes on).

        A conflict is a client's error, not the ledger's: it must not roll back the
        group nor rebuild the router. Router.submit raises it before writing, so a
        single lead needs no check; several are checked first, as a conflict in a
        later one would come after the earlier ones were written.
        """
        store = self.router.store
        try:
            if len(leads) > 1:
                for lead in leads:
                    first = store.record(lead.id)
                    if first is not None and first != lead:
                        raise LeadConflict.between(first, lead)
            return [self.router.submit(lead) for lead in leads]
        except LeadConflict as exc:
            return exc


def _rebuilt(router: Router) -> Router:
    """A fresh router on the same ledger: its memory reloaded from what was committed."""
    log.error("router call failed inside a ledger transaction; rebuilding the router from the ledger")
    return Router(router.reps, router.policy, router.store, clock=router.clock,
                  catchup_window=router.catchup_window, run_id=router.run_id, accounts=router.accounts)
