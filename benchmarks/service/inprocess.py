"""The service's own cost per urgent lead: the ASGI app called in-process, no sockets, no client.

Complements loadgen.py: that one measures what a client sees (kernel, scheduler
and other processes included); this one isolates what the app spends per
request (validation, auth, metrics, router fast path, one ledger commit), as
CPU time, which other load on the machine inflates far less than wall time.

    python benchmarks/service/inprocess.py [--reps 1000] [--requests 3000] [--durability process-crash]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from solver.bench.synthetic import make_instance
from solver.http.app import create_app
from solver.online.router import Router
from solver.online.sqlite_store import SqliteStore

TOKEN = "in-process-benchmark-token"


async def call(app, body: bytes) -> int:
    """One POST /v1/leads through the full ASGI stack; returns the status."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/v1/leads", "raw_path": b"/v1/leads", "query_string": b"",
        "root_path": "", "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 2),
        "headers": [(b"authorization", f"Bearer {TOKEN}".encode()),
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode())],
    }
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    status = []

    async def receive():
        return messages.pop() if messages else {"type": "http.disconnect"}

    async def send(message):
        if message["type"] == "http.response.start":
            status.append(message["status"])

    await app(scope, receive, send)
    return status[0]


async def measure(app, bodies: list[bytes], warmup: int) -> tuple[np.ndarray, float]:
    service = app.state.service
    await service.start()
    try:
        for body in bodies[:warmup]:
            await call(app, body)
        wall = []
        cpu = time.process_time()
        for body in bodies[warmup:]:
            start = time.perf_counter()
            assert await call(app, body) == 200
            wall.append(time.perf_counter() - start)
        return np.asarray(wall) * 1000, (time.process_time() - cpu) * 1000 / (len(bodies) - warmup)
    finally:
        await service.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--durability", choices=["power-loss", "process-crash"], default="process-crash")
    args = parser.parse_args()
    warmup = 300
    instance = make_instance(args.requests + warmup, args.reps, tightness=1.5, seed=0)
    bodies = [json.dumps(lead.model_dump(mode="json", exclude_defaults=True) | {"urgent": True}).encode()
              for lead in instance.leads]
    synchronous = "FULL" if args.durability == "power-loss" else "NORMAL"
    with tempfile.TemporaryDirectory() as tmp:
        ledger = SqliteStore(Path(tmp) / "ledger.db", synchronous=synchronous, check_same_thread=False)
        try:
            app = create_app(Router(instance.reps, instance.policy, ledger), TOKEN)
            wall, cpu_ms = asyncio.run(measure(app, bodies, warmup))
        finally:
            ledger.close()
    p50, p90, p99 = np.percentile(wall, [50, 90, 99])
    print(json.dumps({"reps": args.reps, "requests": args.requests, "durability": args.durability,
                      "cpu_ms_per_request": round(cpu_ms, 3),
                      "wall_ms": {"p50": round(p50, 3), "p90": round(p90, 3), "p99": round(p99, 3)}}))


if __name__ == "__main__":
    main()
