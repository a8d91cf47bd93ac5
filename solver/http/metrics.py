"""Service metrics in the Prometheus text format (no dependency), and the middleware that times requests."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from solver.http.schemas import LeadAnswer


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
