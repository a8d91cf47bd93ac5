"""HTTP API for real-time leads: the `Router` behind FastAPI.

A web form, a chat bot or a CRM webhook posts a lead; an urgent lead is
answered with its owner at once (the router's greedy fast path), a normal lead
is accepted (202) and gets its owner on the next micro-batch, which a
background task flushes on the batch timer.

Guarantees are the router's and the ledger's, not this module's: the ledger
records an accepted lead before the router returns, so a response that says
"accepted" is durable; a retried lead id returns the first answer; leads
buffered when the process stopped are reloaded by the router and flushed on
start-up here.

Concurrency: the Router is not thread-safe, so one lock serializes every
call (`RouterGate`): submissions run inline on the event loop and commit in
groups; micro-batch solves run on a thread under the lock, so health checks
and metrics answer while a batch is solved; the fast path's pricing LP
(seconds at 1,000 reps) runs in a separate process, off the lock.

Safety, outermost first: metrics (counts every request, refused ones too),
bearer-token auth on every path but the health probes, a request body size
limit, then FastAPI's validation (422 naming the field). Unexpected errors
become a bare 500 for the client and a traceback in the server log only.
FastAPI is an optional extra: import this module only when serving.
"""

from __future__ import annotations

import asyncio
import gc
import hmac
import json
import logging
import multiprocessing
import os
import sqlite3
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import asynccontextmanager
from dataclasses import asdict
from typing import Annotated, Any, Literal, TypeVar

from fastapi import FastAPI, Request, Response
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from solver.decode.batch import check_solver_fits
from solver.decode.result import Assignment
from solver.domain.errors import InputError
from solver.domain.model import Lead, Rep
from solver.online.fastpath import DualPricer, PricingJob
from solver.online.router import Router

log = logging.getLogger("leadsolver.service")
T = TypeVar("T")

MAX_BODY_BYTES = 1_000_000  # a 1,000-lead batch of ordinary leads is ~300 kB
MAX_BATCH_LEADS = 1_000
HEALTH_PATHS = frozenset({"/healthz", "/readyz"})  # probes carry no token


# --- Schemas: what the OpenAPI document shows -------------------------------------------


class LeadAnswer(BaseModel):
    """Where a lead stands: assigned or unassigned (with the reason), or pending a micro-batch."""

    lead_id: str
    status: Literal["assigned", "unassigned", "pending"]
    rep_id: str | None = None
    reason: str = ""
    expected_value: float | None = None
    policy: str | None = None

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


class LeadDetail(LeadAnswer):
    """A lead's answer, the ledger's explanation of why this rep (and not others), its audit trail."""

    explanation: dict[str, Any] | None = None
    events: list[LeadEvent] = Field(default_factory=list)


class BatchRequest(BaseModel):
    leads: list[Lead] = Field(min_length=1, max_length=MAX_BATCH_LEADS)


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


# --- Router access: one caller at a time -----------------------------------------------


class RouterGate:
    """One caller at a time into the router and its ledger.

    The Router is not thread-safe, so every call holds one asyncio lock. Short
    calls (a submission, a lookup) run inline on the event loop: handing them
    to a thread cost more than the call itself (GIL and scheduler hand-offs,
    ~0.5 ms a request on a loaded 2-core machine). Long calls (a micro-batch
    solve, SLA reassignment, a reps reload) run on a thread while holding the
    lock, so health checks and request parsing go on meanwhile; that is why the
    ledger must be opened with ``check_same_thread=False``.

    Group commit: submissions that queue up while the lock is busy (or arrive
    in the same loop iteration) run in ONE ledger transaction, so a burst pays
    one commit (one fsync with synchronous=FULL), and every answer is released
    only after that commit. If a group fails, the ledger rolls back; the
    router, whose memory may already hold decisions from the group, is rebuilt
    from the ledger (what a restart does) and the submissions are retried one
    by one, so only the faulty one fails.
    """

    def __init__(self, router: Router, max_group: int = 256) -> None:
        self.router = router
        self._max_group = max_group
        self._lock = asyncio.Lock()
        self._queue: list[tuple[Sequence[Lead], asyncio.Future[list[Assignment | None]]]] = []
        self._drainer: asyncio.Task[None] | None = None

    async def call(self, fn: Callable[[Router], T]) -> T:
        """fn(router) on the event loop, under the lock: for calls that take microseconds."""
        async with self._lock:
            return fn(self.router)

    async def call_in_thread(self, fn: Callable[[Router], T]) -> T:
        """fn(router) on a worker thread, under the lock: for calls that may take long."""
        async with self._lock:
            return await asyncio.to_thread(fn, self.router)

    async def submit(self, leads: Sequence[Lead]) -> list[Assignment | None]:
        """Submit leads in order; the answers come after their ledger transaction commits."""
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
        assert self.router.ledger is not None  # the service checks at start
        try:
            with self.router.ledger.transaction():
                answers = [[self.router.submit(lead) for lead in leads] for leads, _ in group]
        except Exception as exc:
            self.router = _rebuilt(self.router)
            if len(group) > 1:
                for item in group:
                    self._commit([item])
            elif not group[0][1].done():
                group[0][1].set_exception(exc)
            return
        for (_, future), answer in zip(group, answers, strict=True):
            if not future.done():  # done = the client went away; its leads are recorded anyway
                future.set_result(answer)


def _rebuilt(router: Router) -> Router:
    """A fresh router on the same ledger: its memory reloaded from what was committed."""
    log.error("router call failed inside a ledger transaction; rebuilding the router from the ledger")
    return Router(router.reps, router.policy, router.ledger, clock=router.clock,
                  catchup_window=router.catchup_window, run_id=router.run_id)


# --- Metrics: Prometheus text format, no dependency -------------------------------------


class Histogram:
    """Cumulative-bucket histogram of seconds, as Prometheus expects."""

    BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)

    def __init__(self) -> None:
        self.counts = [0] * len(self.BUCKETS)
        self.total = 0
        self.sum = 0.0

    def observe(self, seconds: float) -> None:
        self.total += 1
        self.sum += seconds
        for k, bound in enumerate(self.BUCKETS):
            if seconds <= bound:
                self.counts[k] += 1
                break

    def lines(self, name: str, labels: str) -> list[str]:
        sep = "," if labels else ""
        out, running = [], 0
        for bound, count in zip(self.BUCKETS, self.counts, strict=True):
            running += count
            out.append(f'{name}_bucket{{{labels}{sep}le="{bound}"}} {running}')
        out.append(f'{name}_bucket{{{labels}{sep}le="+Inf"}} {self.total}')
        out.append(f"{name}_sum{{{labels}}} {self.sum:.6f}")
        out.append(f"{name}_count{{{labels}}} {self.total}")
        return out


class Metrics:
    """Request counts and latencies per route, lead outcomes, micro-batch flushes.

    Only touched from the event loop thread, so plain counters need no lock.
    Routes are labelled by template (`/v1/leads/{lead_id}`), unrouted requests
    as "unmatched", so label cardinality stays bounded.
    """

    def __init__(self) -> None:
        self.requests: Counter[tuple[str, str, int]] = Counter()
        self.latency: dict[tuple[str, str], Histogram] = {}
        self.leads: Counter[str] = Counter()
        self.flush = Histogram()

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests[method, route, status] += 1
        self.latency.setdefault((method, route), Histogram()).observe(seconds)

    def observe_answers(self, answers: Sequence[LeadAnswer]) -> None:
        self.leads.update(a.status for a in answers)

    def render(self, pending: int) -> str:
        out = ["# HELP leadsolver_http_requests_total HTTP requests by method, route and status.",
               "# TYPE leadsolver_http_requests_total counter"]
        for (method, route, status), n in sorted(self.requests.items()):
            out.append(f'leadsolver_http_requests_total{{method="{method}",route="{route}",'
                       f'status="{status}"}} {n}')
        out += ["# HELP leadsolver_http_request_seconds Time from request received to response sent.",
                "# TYPE leadsolver_http_request_seconds histogram"]
        for (method, route), hist in sorted(self.latency.items()):
            out += hist.lines("leadsolver_http_request_seconds", f'method="{method}",route="{route}"')
        out += ["# HELP leadsolver_leads_total Answers given, by status (pending = accepted for a batch).",
                "# TYPE leadsolver_leads_total counter"]
        out += [f'leadsolver_leads_total{{status="{s}"}} {n}' for s, n in sorted(self.leads.items())]
        out += ["# HELP leadsolver_pending_leads Normal leads waiting for the next micro-batch.",
                "# TYPE leadsolver_pending_leads gauge", f"leadsolver_pending_leads {pending}",
                "# HELP leadsolver_flush_seconds Time to route one micro-batch (tick that flushed).",
                "# TYPE leadsolver_flush_seconds histogram"]
        out += self.flush.lines("leadsolver_flush_seconds", "")
        return "\n".join(out) + "\n"


# --- ASGI middleware: metrics, auth, size limit ------------------------------------------


async def _send_json(
    send: Send, status: int, detail: str, headers: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()), *headers]})
    await send({"type": "http.response.body", "body": body})


class MetricsMiddleware:
    """Times every HTTP request, from arrival to the last byte of the response."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500  # unless the app says otherwise before failing

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.observe_request(scope["method"], route, status, time.perf_counter() - start)


class BearerAuthMiddleware:
    """401 unless `Authorization: Bearer <token>` matches; health probes are open.

    Runs before routing and body parsing, so an unauthenticated request learns
    nothing about the API (not even whether its body would validate).
    """

    def __init__(self, app: ASGIApp, token: str, open_paths: frozenset[str] = HEALTH_PATHS) -> None:
        self.app = app
        self.token = token.encode()
        self.open_paths = open_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.open_paths or self._authorized(scope):
            await self.app(scope, receive, send)
            return
        await _send_json(send, 401, "missing or invalid bearer token",
                         [(b"www-authenticate", b'Bearer realm="leadsolver"')])

    def _authorized(self, scope: Scope) -> bool:
        for name, value in scope["headers"]:
            if name == b"authorization":
                scheme, _, supplied = value.partition(b" ")
                # Constant-time: the comparison does not reveal how much of the token matched.
                return scheme.lower() == b"bearer" and hmac.compare_digest(supplied.strip(), self.token)
        return False


class BodyLimitMiddleware:
    """413 for bodies over `max_bytes`: at once when Content-Length says so, else while reading."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if declared is not None:
            if not declared.isdigit():
                await _send_json(send, 400, "invalid Content-Length")
                return
            if int(declared) > self.max_bytes:
                await _send_json(send, 413, f"request body over {self.max_bytes} bytes")
                return
        received = 0

        async def limited_receive() -> Message:
            # Chunked bodies carry no length: count as they arrive. An HTTPException
            # raised here passes through FastAPI's body parsing and becomes the 413.
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise HTTPException(413, f"request body over {self.max_bytes} bytes")
            return message

        await self.app(scope, limited_receive, send)


# --- The application ---------------------------------------------------------------------


# Prices move slowly (they summarise thousands of leads), but at hundreds of
# leads a second the router's lead-count schedule would keep the pricing LP
# running back to back, taking a core from the requests on a small machine.
REPRICE_MIN_INTERVAL_S = 10.0


class Service:
    """State behind the endpoints: the gated router, rep ids, readiness, metrics."""

    def __init__(
        self,
        router: Router,
        reload_reps: Callable[[], Sequence[Rep]] | None,
        tick_interval_s: float,
        stale_interval_s: float,
    ) -> None:
        if router.ledger is None:
            raise ValueError("the service needs a router with a ledger: accepted leads must be durable")
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

    @property
    def router(self) -> Router:
        """For atomic reads from the event loop (`pending`, `policy`); calls go through the gate."""
        return self.gate.router

    async def start(self) -> None:
        """Flush the leads buffered before a restart (on a thread, as every flush), start the timers."""
        try:
            flushed = await self.gate.call_in_thread(_flush_on_thread)
        except sqlite3.ProgrammingError as exc:
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
        job = await self.gate.call(lambda router: router.pricing_job())
        if job is not None:
            self._repricing = asyncio.create_task(self._reprice(job, self.router.pricer))

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
        await self.gate.call(lambda router: router.install_prices(duals) if router.pricer is pricer else None)

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
        await self.gate.call(lambda router: None)

    async def run_timers(self) -> None:
        """Flush micro-batches on the batch timer, reassign stale leads on a slower one.

        A failed round is logged and retried on the next tick: the leads stay buffered.
        """
        last_stale = time.monotonic()
        while True:
            await asyncio.sleep(self.tick_interval_s)
            start = time.perf_counter()
            try:
                flushed: list[Assignment] = []
                # An idle tick would hold the lock for a thread hand-off for nothing.
                if self.router.pending or self.router.backlog:
                    flushed = await self.gate.call_in_thread(lambda router: router.tick(reprice=False))
                await self._start_repricing()
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
            if first.setdefault(lead.id, k) != k:
                raise InputError(f"duplicate lead id {lead.id!r} (also lead {first[lead.id]})",
                                 field=where(k, "id"))
            if lead.owner_id and lead.owner_id not in self.rep_ids:
                raise InputError(f"owner_id {lead.owner_id!r} names no known rep",
                                 field=where(k, "owner_id"))
        try:
            check_solver_fits(self.router.policy, leads)
        except InputError as exc:
            k = exc.row - 1 if isinstance(exc.row, int) else 0
            raise InputError(exc.message, field=where(k, exc.field or "")) from None

    async def submit(self, leads: Sequence[Lead], in_batch: bool) -> list[LeadAnswer]:
        self.check(leads, in_batch)
        decisions = await self.gate.submit(leads)
        answers = [LeadAnswer.of(lead.id, d) for lead, d in zip(leads, decisions, strict=True)]
        self.metrics.observe_answers(answers)
        return answers


def _flush_on_thread(router: Router) -> list[Assignment]:
    assert router.ledger is not None
    router.ledger.rep_loads()  # a ledger bound to the event loop's thread fails here, even with no leads
    return router.flush(reprice=False)  # the pricing LP runs in its own process


def lead_detail(router: Router, lead_id: str) -> LeadDetail | None:
    """The lead's decision, its explanation and audit trail from the ledger; None if unknown."""
    assert router.ledger is not None  # checked at start
    events = router.ledger.history(lead_id)
    if not events:
        return None
    answer = LeadAnswer.of(lead_id, router.ledger.decision(lead_id))
    explanation = next((e["explanation"] for e in reversed(events) if e["explanation"]), None)
    return LeadDetail(**answer.model_dump(), explanation=explanation,
                      events=[LeadEvent.model_validate(e) for e in events])


def act_on_lead(router: Router, lead_id: str, method: Literal["touch", "release"]) -> LeadDetail | None:
    """Touch or release an assigned lead, or release (close) one waiting in the backlog; then its detail.

    Other unassigned and pending leads: no-op.
    """
    detail = lead_detail(router, lead_id)
    if detail is not None and (detail.status == "assigned"
                               or (method == "release" and lead_id in router.backlog)):
        getattr(router, method)(lead_id)
        detail = lead_detail(router, lead_id)
    return detail


def create_app(
    router: Router,
    token: str | None,
    *,
    reload_reps: Callable[[], Sequence[Rep]] | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
    tick_interval_s: float = 0.1,
    stale_interval_s: float = 30.0,
) -> FastAPI:
    """The HTTP app around a router and its ledger (`router.ledger`).

    The ledger must be opened with ``check_same_thread=False`` (micro-batches
    are solved on a worker thread, see `RouterGate`); the caller closes it
    after the app stops. Leads the router reloaded from the ledger (buffered
    before a restart) are flushed at start-up. `token` None turns
    authentication off (the CLI allows that only on loopback with
    --insecure-local). `reload_reps` re-reads the reps file for
    POST /v1/reps/reload.
    """
    service = Service(router, reload_reps, tick_interval_s, stale_interval_s)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await service.start()
        try:
            yield
        finally:
            await service.stop()

    app = FastAPI(
        title="leadsolver",
        summary="Real-time lead routing: each lead gets one owner under hard rules and fairness.",
        version="1",
        lifespan=lifespan,
        docs_url=None,  # no browser UI on a token-protected service; the schema is /openapi.json
        redoc_url=None,
    )
    app.state.service = service
    _add_routes(app, service)
    _add_error_handlers(app)
    _document_auth(app)
    # Added innermost first: requests meet metrics, then auth, then the size limit.
    app.add_middleware(BodyLimitMiddleware, max_bytes=max_body_bytes)
    if token is not None:
        app.add_middleware(BearerAuthMiddleware, token=token)
    app.add_middleware(MetricsMiddleware, metrics=service.metrics)
    return app


LeadId = Annotated[str, PathParam(min_length=1, max_length=200)]
UNKNOWN_LEAD: dict[int | str, dict[str, Any]] = {
    404: {"description": "No lead with this id was ever accepted"}}


def _add_routes(app: FastAPI, service: Service) -> None:
    gate = service.gate

    @app.post("/v1/leads", response_model=LeadAnswer, status_code=200, tags=["leads"],
              responses={202: {"model": LeadAnswer, "description": "Accepted; owner on the next batch"}})
    async def submit_lead(lead: Lead, response: Response) -> LeadAnswer:
        """Submit one lead. Urgent: answered with its owner. Normal: 202, owner on the next micro-batch.

        The lead is in the ledger before the answer is sent. Retrying with the
        same lead id returns the first answer and assigns nothing new.
        """
        (answer,) = await service.submit([lead], in_batch=False)
        if answer.status == "pending":
            response.status_code = 202
            response.headers["location"] = f"/v1/leads/{lead.id}"
        return answer

    @app.post("/v1/leads/batch", response_model=BatchAnswer, tags=["leads"])
    async def submit_batch(batch: BatchRequest) -> BatchAnswer:
        """Submit up to 1,000 leads, answered in order as if submitted one by one.

        The whole batch is validated before any lead is recorded, and recorded in one transaction.
        """
        return BatchAnswer(results=await service.submit(batch.leads, in_batch=True))

    @app.get("/v1/leads/{lead_id}", response_model=LeadDetail, tags=["leads"], responses=UNKNOWN_LEAD)
    async def get_lead(lead_id: LeadId) -> LeadDetail:
        """The lead's owner (or why it has none), the explanation of the choice and its audit trail."""
        detail = await gate.call(lambda router: lead_detail(router, lead_id))
        if detail is None:
            raise HTTPException(404, f"no lead {lead_id!r}")
        return detail

    async def act_on(lead_id: str, method: Literal["touch", "release"]) -> LeadDetail:
        detail = await gate.call(lambda router: act_on_lead(router, lead_id, method))
        if detail is None:
            raise HTTPException(404, f"no lead {lead_id!r}")
        if detail.status == "pending":
            raise HTTPException(409, f"lead {lead_id!r} has no owner yet; it waits for the next batch")
        return detail

    @app.post("/v1/leads/{lead_id}/touch", response_model=LeadDetail, tags=["leads"],
              responses={**UNKNOWN_LEAD, 409: {"description": "The lead has no owner yet"}})
    async def touch_lead(lead_id: LeadId) -> LeadDetail:
        """The owner responded: the lead's SLA clock stops (it will not be reassigned). Idempotent."""
        return await act_on(lead_id, "touch")

    @app.post("/v1/leads/{lead_id}/release", response_model=LeadDetail, tags=["leads"],
              responses={**UNKNOWN_LEAD, 409: {"description": "The lead has no owner yet"}})
    async def release_lead(lead_id: LeadId) -> LeadDetail:
        """Close the lead (worked, won or lost): its owner's capacity is free again. Idempotent.

        A lead still waiting in the backlog for a rep leaves it and will not be assigned.
        """
        return await act_on(lead_id, "release")

    @app.get("/v1/reps/loads", response_model=Loads, tags=["reps"])
    async def loads() -> Loads:
        """Open leads per rep as the router counts them, and the micro-batch queue length."""
        return await gate.call(lambda router: Loads(loads=router.loads(), pending=router.pending))

    @app.post("/v1/reps/reload", response_model=Reloaded, tags=["reps"],
              responses={409: {"description": "The reps file is invalid; the old reps stay in force"}})
    async def reload_reps() -> Reloaded:
        """Re-read the reps file the service was started with (capacity, availability, new reps)."""
        if service.reload_reps is None:
            raise HTTPException(409, "the service was started without a reps file to reload")
        try:
            reps = await asyncio.to_thread(service.reload_reps)
        except InputError as exc:  # the operator's file, not the request, is wrong
            raise HTTPException(409, f"reps file not reloaded: {exc}") from None
        await gate.call_in_thread(lambda router: router.update_reps(reps))  # recompiles the team
        service.rep_ids = frozenset(r.id for r in reps)
        log.info("reloaded %d reps", len(reps))
        return Reloaded(reps=len(reps))

    @app.get("/healthz", response_model=Probe, response_model_exclude_none=True, tags=["health"])
    async def health() -> Probe:
        """Liveness: the process answers. No token needed."""
        return Probe(status="ok")

    @app.get("/readyz", response_model=Probe, tags=["health"],
             responses={503: {"model": Probe, "description": "Starting or stopping"}})
    async def ready() -> Any:
        """Readiness: leads buffered before a restart are flushed and the timers run. No token needed."""
        if not service.ready:
            return JSONResponse({"status": "not ready"}, status_code=503)
        return Probe(status="ready", pending=service.router.pending)

    @app.get("/metrics", tags=["health"], response_class=Response,
             responses={200: {"content": {"text/plain": {}}}})
    async def metrics() -> Response:
        """Prometheus text format: request counts and latencies, lead outcomes, queue length."""
        text = service.metrics.render(pending=service.router.pending)
        return Response(text, media_type="text/plain; version=0.0.4")


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(InputError)
    async def input_error(request: Request, exc: InputError) -> JSONResponse:
        # The same shape as FastAPI's own 422, so clients parse one format.
        parts = exc.field.split(".") if exc.field else []
        loc = ["body", *(int(p) if p.isdigit() else p for p in parts)]
        return JSONResponse({"detail": [{"loc": loc, "msg": exc.message, "type": "input_error"}]},
                            status_code=422)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's default echoes the whole input; keep the location, message and type only.
        errors = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
        return JSONResponse({"detail": errors}, status_code=422)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        log.error("internal error on %s %s", request.method, request.url.path, exc_info=exc)
        return JSONResponse({"detail": "internal error"}, status_code=500)


def _document_auth(app: FastAPI) -> None:
    """Declare the bearer scheme in the OpenAPI document (enforced by the middleware)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = FastAPI.openapi(app)
            schema.setdefault("components", {})["securitySchemes"] = {
                "bearer": {"type": "http", "scheme": "bearer"}}
            for path, operations in schema["paths"].items():
                if path not in HEALTH_PATHS:
                    for op in operations.values():
                        op["security"] = [{"bearer": []}]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
