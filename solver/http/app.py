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
groups; micro-batches run on a thread, reading and recording under the lock
and solving off it, so urgent leads, health checks and metrics are answered
while a batch is solved; the fast path's pricing LP (seconds at 1,000 reps)
runs in a separate process, off the lock.

Safety, outermost first: metrics (counts every request, refused ones too),
bearer-token auth on every path but the health probes, a request body size
limit, then FastAPI's validation (422 naming the field). Unexpected errors
become a bare 500 for the client and a traceback in the server log only.
FastAPI is an optional extra: import this module only when serving.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import FastAPI, Request, Response
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import AfterValidator
from starlette.exceptions import HTTPException

from solver.domain.errors import InputError
from solver.domain.ids import MAX_ID_CHARS, normalize_id
from solver.domain.model import Rep
from solver.http.json_body import JSONRoute
from solver.http.metrics import MetricsMiddleware
from solver.http.middleware import HEALTH_PATHS, MAX_BODY_BYTES, BearerAuthMiddleware, BodyLimitMiddleware
from solver.http.schemas import (
    BatchAnswer,
    BatchRequest,
    LeadAnswer,
    LeadDetail,
    LeadRequest,
    Loads,
    Probe,
    Reloaded,
)
from solver.http.service import Service, act_on_lead, follow, lead_detail
from solver.http.ui import ui_router
from solver.online.rep_changes import apply_changes
from solver.online.router import Router
from solver.online.store import LeadConflict, StoreError

log = logging.getLogger("leadsolver.service")


def create_app(
    router: Router,
    token: str | None,
    *,
    reload_reps: Callable[[], Sequence[Rep]] | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
    tick_interval_s: float = 0.1,
    stale_interval_s: float = 30.0,
    reports_dir: Path | None = None,
) -> FastAPI:
    """The HTTP app around a router and its ledger (`router.store`).

    The ledger must be opened with ``check_same_thread=False`` (micro-batches
    are solved on a worker thread, see `RouterGate`); the caller closes it
    after the app stops. Leads the router reloaded from the ledger (buffered
    before a restart) are flushed at start-up. `token` None turns
    authentication off (the CLI allows that only on loopback with
    --insecure-local). `reload_reps` re-reads the reps file for
    POST /v1/reps/reload. The console (`solver.http.ui`) is served at /ui, with
    its reports page listing the reports under `reports_dir`; the rep changes
    its operators recorded in the ledger are replayed over the reps at start and
    on each reload.
    """
    replay_rep_changes(router)
    if reload_reps is not None:
        reload_reps = with_rep_changes(router, reload_reps)
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
    app.router.route_class = JSONRoute  # bodies FastAPI's parser fails on: 422 or 415, not 400
    _add_routes(app, service)
    app.include_router(ui_router(service, token, reports_dir))
    _add_error_handlers(app)
    _document_auth(app)
    # Added innermost first: requests meet metrics, then auth, then the size limit.
    app.add_middleware(BodyLimitMiddleware, max_bytes=max_body_bytes)
    if token is not None:
        app.add_middleware(BearerAuthMiddleware, token=token, open_prefixes=("/ui",))
    app.add_middleware(MetricsMiddleware, metrics=service.metrics)
    return app


def replay_rep_changes(router: Router) -> None:
    """Put the team as the console's operators left it: the ledger's rep changes over the reps file."""
    if changes := router.store.rep_changes():
        follow(router, changes)


def with_rep_changes(router: Router, reload_reps: Callable[[], Sequence[Rep]]) -> Callable[[], Sequence[Rep]]:
    """`reload_reps` with the ledger's rep changes replayed over what it reads."""
    return lambda: apply_changes(reload_reps(), router.policy, router.store.rep_changes())[0]


# `{lead_id:path}` in the routes: an id may hold "/" (percent-encoded or not, the path
# is matched decoded); the id rule applies as to a submitted lead, so NFC and NFD spellings
# of one id find the same lead.
LeadId = Annotated[str, PathParam(json_schema_extra={"minLength": 1, "maxLength": MAX_ID_CHARS}),
                   AfterValidator(normalize_id)]
UNKNOWN_LEAD: dict[int | str, dict[str, Any]] = {
    404: {"description": "No lead with this id was ever accepted"}}
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"description": "A lead id already accepted with other content; nothing recorded"}}


def lead_url(lead_id: str) -> str:
    """The lead's URL, the id percent-encoded: a header is Latin-1, and "/" or "?" would change the path.

    "." and ".." are encoded too (quote leaves dots alone): clients drop them as dot segments.
    """
    segment = quote(lead_id, safe="")
    return f"/v1/leads/{segment.replace('.', '%2E') if segment in ('.', '..') else segment}"


def _add_routes(app: FastAPI, service: Service) -> None:
    gate = service.gate

    @app.post("/v1/leads", response_model=LeadAnswer, status_code=200, tags=["leads"],
              responses={202: {"model": LeadAnswer, "description": "Accepted; owner on the next batch"},
                         **CONFLICT})
    async def submit_lead(lead: LeadRequest, response: Response) -> LeadAnswer:
        """Submit one lead. Urgent: answered with its owner. Normal: 202, owner on the next micro-batch.

        The lead is in the ledger before the answer is sent. Retrying with the
        same lead id returns the first answer and assigns nothing new; the same id with
        other content is a 409 (the first version is kept).
        """
        (answer,) = await service.submit([lead.to_lead()], in_batch=False)
        if answer.status == "pending":
            response.status_code = 202
            response.headers["location"] = lead_url(lead.id)
        return answer

    @app.post("/v1/leads/batch", response_model=BatchAnswer, tags=["leads"], responses=CONFLICT)
    async def submit_batch(batch: BatchRequest) -> BatchAnswer:
        """Submit up to 1,000 leads, answered in order as if submitted one by one.

        The whole batch is validated before any lead is recorded, and recorded in one transaction.
        """
        leads = [lead.to_lead() for lead in batch.leads]
        return BatchAnswer(results=await service.submit(leads, in_batch=True))

    async def act_on(lead_id: str, method: Literal["touch", "release"]) -> LeadDetail:
        detail = await gate.call(lambda router: act_on_lead(router, lead_id, method))
        if detail is None:
            raise HTTPException(404, f"no lead {lead_id!r}")
        if detail.status == "pending":
            raise HTTPException(409, f"lead {lead_id!r} has no owner yet; it waits for the next batch")
        if method == "touch" and detail.status != "assigned":  # a 200 here recorded nothing
            raise HTTPException(409, f"lead {lead_id!r} has no owner to touch ({detail.lifecycle}): "
                                     f"{detail.reason}")
        return detail

    @app.post("/v1/leads/{lead_id:path}/touch", response_model=LeadDetail, tags=["leads"],
              responses={**UNKNOWN_LEAD, 409: {"description": "The lead has no owner (yet, or at all)"}})
    async def touch_lead(lead_id: LeadId) -> LeadDetail:
        """The owner responded: the lead's SLA clock stops (it will not be reassigned). Idempotent."""
        return await act_on(lead_id, "touch")

    @app.post("/v1/leads/{lead_id:path}/release", response_model=LeadDetail, tags=["leads"],
              responses={**UNKNOWN_LEAD, 409: {"description": "The lead has no owner yet"}})
    async def release_lead(lead_id: LeadId) -> LeadDetail:
        """Close the lead (worked, won or lost): its owner's capacity is free again. Idempotent.

        A lead still waiting in the backlog for a rep leaves it and will not be assigned.
        """
        return await act_on(lead_id, "release")

    # After touch and release: a method-less match of ".../touch" (OPTIONS, a 405) then names
    # the touch route's methods; a GET of ".../touch" still reaches this route (an id may end so).
    @app.get("/v1/leads/{lead_id:path}", response_model=LeadDetail, tags=["leads"], responses=UNKNOWN_LEAD)
    async def get_lead(lead_id: LeadId) -> LeadDetail:
        """The lead's owner (or why it has none), the explanation of the choice and its audit trail."""
        detail = await gate.call(lambda router: lead_detail(router, lead_id))
        if detail is None:
            raise HTTPException(404, f"no lead {lead_id!r}")
        return detail

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

    @app.get("/readyz", response_model=Probe, response_model_exclude_none=True, tags=["health"],
             responses={503: {"model": Probe,
                              "description": "Starting, stopping, or the ledger cannot write"}})
    async def ready() -> Any:
        """Readiness: buffered leads flushed, timers running, the ledger takes writes. No token needed."""
        if not service.ready:
            return JSONResponse({"status": "not ready", "reason": "starting or stopping"}, status_code=503)
        if not await service.writable():
            return JSONResponse({"status": "not ready", "reason": "the ledger cannot take writes"},
                                status_code=503)
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

    @app.exception_handler(LeadConflict)
    async def conflict(request: Request, exc: LeadConflict) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=409)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's default echoes the whole input; keep the location, message and type only.
        errors = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
        return JSONResponse({"detail": errors}, status_code=422)

    @app.exception_handler(StoreError)
    async def store_error(request: Request, exc: StoreError) -> JSONResponse:
        # The ledger failed (full, read-only, locked): nothing of the request was recorded,
        # and a retry later may succeed. The cause goes to the log, not to the client.
        log.error("ledger error on %s %s: %s", request.method, request.url.path, exc)
        return JSONResponse({"detail": "the ledger cannot take writes now; nothing was recorded, "
                                       "retry later"}, status_code=503, headers={"retry-after": "5"})

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        log.error("internal error on %s %s", request.method, request.url.path, exc_info=exc)
        return JSONResponse({"detail": "internal error"}, status_code=500)


def _refusal(description: str) -> dict[str, Any]:
    detail = {"type": "object", "properties": {"detail": {"type": "string"}}, "required": ["detail"]}
    return {"description": description, "content": {"application/json": {"schema": detail}}}


def _document_auth(app: FastAPI) -> None:
    """Declare the bearer scheme in the OpenAPI document (enforced by the middleware)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = FastAPI.openapi(app)
            schema.setdefault("components", {})["securitySchemes"] = {
                "bearer": {"type": "http", "scheme": "bearer"}}
            for path, operations in schema["paths"].items():
                for op in operations.values():
                    if path not in HEALTH_PATHS:
                        op["security"] = [{"bearer": []}]
                        op["responses"].setdefault("401", _refusal("Missing or invalid bearer token"))
                    if "requestBody" in op:  # refused by the middleware and JSONRoute, before validation
                        op["responses"].setdefault("413", _refusal("Request body too large"))
                        op["responses"].setdefault("415", _refusal("The body is not JSON"))
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
