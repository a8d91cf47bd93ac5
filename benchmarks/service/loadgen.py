"""Open-loop load generator for `leadsolver serve`: latency of lead submissions at a fixed rate.

Protocol
--------
- A synthetic team (`--reps` reps, seeded) and one distinct lead per request are
  written to a temp folder; `leadsolver serve` is started on a free loopback
  port in its own process, with a fresh ledger, and polled until /readyz says
  ready. (`--url` targets a server that is already running instead.)
- Requests are sent on a fixed schedule: request k is due at start + k / rate,
  whatever happened to earlier ones (open loop). Latency is measured from the
  DUE time to the last byte of the response, so a stalled server shows up as
  latency instead of silently lowering the offered rate (no coordinated
  omission). A warm-up phase at the same rate is sent first and not counted.
- The client is raw asyncio over a pool of keep-alive HTTP/1.1 connections with
  pre-encoded request bytes, to spend as little of the shared CPU as possible.
- The run is bounded: `--duration` seconds of schedule, a per-request timeout,
  and a hard stop for the whole run. Anything but the expected status is an error.

Writes `<out>/<stamp>.json` (all figures, machine, date, command) and appends
one row to `<out>/RESULTS.md`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from solver.bench.synthetic import make_instance

HERE = Path(__file__).parent

try:  # a faster event loop keeps the client's own overhead out of the figures
    import uvloop

    run, LOOP = uvloop.run, "uvloop"
except ImportError:
    run, LOOP = asyncio.run, "asyncio"


@dataclass
class Outcome:
    latencies: list[float] = field(default_factory=list)  # seconds, due time -> response end
    statuses: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    first_error: str = ""

    def note(self, status: str, ok: bool, latency: float) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if ok:
            self.latencies.append(latency)
        else:
            self.errors += 1
            self.first_error = self.first_error or status


class Connection:
    """One keep-alive HTTP/1.1 connection; reads exactly one response per request."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def exchange(self, request: bytes) -> tuple[int, bytes]:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        body = await self.reader.readexactly(length)
        if b"connection: close" in head.lower():
            raise ConnectionResetError("server closed the connection")
        return status, body


def encode_request(host: str, port: int, token: str, body: bytes) -> bytes:
    return (
        f"POST /v1/leads HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


async def run_schedule(
    host: str, port: int, requests: list[bytes], rate: float, expect: set[int],
    connections: int, timeout_s: float,
) -> tuple[Outcome, float]:
    """Send `requests` at `rate` per second; return outcomes and the schedule's real duration."""
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(Connection(*await asyncio.open_connection(host, port)))
    outcome = Outcome()

    async def one(request: bytes, due: float) -> None:
        conn = await pool.get()  # waiting for a free connection counts: latency runs from `due`
        try:
            status, _ = await asyncio.wait_for(conn.exchange(request), timeout_s)
            outcome.note(str(status), status in expect, time.perf_counter() - due)
            pool.put_nowait(conn)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
            outcome.note(type(exc).__name__, False, time.perf_counter() - due)
            conn.writer.close()
            with contextlib.suppress(OSError):  # replace the broken connection
                pool.put_nowait(Connection(*await asyncio.open_connection(host, port)))

    # perf_counter, not loop.time(): uvloop's clock has millisecond steps, cached per iteration.
    tasks = []
    start = time.perf_counter() + 0.05
    for k, request in enumerate(requests):
        due = start + k / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(request, due)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    while not pool.empty():
        pool.get_nowait().writer.close()
    return outcome, elapsed


def summarize(outcome: Outcome) -> dict[str, float]:
    if not outcome.latencies:
        return {}
    ms = np.asarray(outcome.latencies) * 1000
    return {
        "p50": round(float(np.percentile(ms, 50)), 3),
        "p90": round(float(np.percentile(ms, 90)), 3),
        "p99": round(float(np.percentile(ms, 99)), 3),
        "p99.9": round(float(np.percentile(ms, 99.9)), 3),
        "max": round(float(ms.max()), 3),
        "mean": round(float(ms.mean()), 3),
    }


def machine() -> dict[str, object]:
    cpu = platform.processor()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform(), "load_avg_1m_before": round(os.getloadavg()[0], 2)}


def cpu_seconds(process: subprocess.Popen[bytes] | None) -> float:
    """User + system CPU time of a child process so far (Linux /proc), 0 when unknown."""
    if process is None:
        return 0.0
    try:
        fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_buckets(url: str, token: str) -> dict[str, float]:
    """Cumulative counts of POST /v1/leads by server-side time bound (the service's /metrics)."""
    request = urllib.request.Request(f"{url}/metrics", headers={"authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        text = response.read().decode()
    prefix = 'leadsolver_http_request_seconds_bucket{method="POST",route="/v1/leads",le="'
    return {line[len(prefix):].split('"')[0]: float(line.rsplit(" ", 1)[1])
            for line in text.splitlines() if line.startswith(prefix)}


def server_shares(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """Share of the measured requests the server itself answered within 1, 2.5 and 5 ms."""
    total = after.get("+Inf", 0) - before.get("+Inf", 0)
    if total <= 0:
        return {}
    return {f"{float(le) * 1000:g}ms": round((after[le] - before.get(le, 0)) / total, 4)
            for le in ("0.001", "0.0025", "0.005") if le in after}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, deadline_s: float, server: subprocess.Popen[bytes] | None) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if server is not None and server.poll() is not None:
            raise SystemExit(f"server exited with code {server.returncode} before it was ready")
        with contextlib.suppress(OSError), urllib.request.urlopen(f"{url}/readyz", timeout=1) as response:
            if response.status == 200:
                return
        time.sleep(0.1)
    raise SystemExit(f"server not ready after {deadline_s} s")


def write_inputs(folder: Path, n_reps: int, n_leads: int, urgent_share: float, seed: int) -> list[bytes]:
    """Reps file and policy for the server; one JSON body per lead (a share of them urgent)."""
    instance = make_instance(n_leads, n_reps, tightness=1.5, seed=seed)
    reps = [r.model_dump(mode="json", exclude_defaults=True) for r in instance.reps]
    (folder / "reps.json").write_text(json.dumps({"reps": reps}))
    # Flow for the micro-batches; the urgent path is the router's greedy either way.
    (folder / "policy.yaml").write_text("solver: flow\nbatch:\n  max_size: 100\n  max_wait_s: 1\n")
    rng = np.random.default_rng(seed)
    bodies = []
    for lead in instance.leads:
        record = lead.model_dump(mode="json", exclude_defaults=True)
        record["urgent"] = bool(rng.random() < urgent_share)
        bodies.append(json.dumps(record).encode())
    return bodies


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=500, help="requests per second (default 500)")
    parser.add_argument("--duration", type=float, default=20, help="measured seconds (default 20)")
    parser.add_argument("--warmup", type=float, default=3, help="unmeasured seconds first (default 3)")
    parser.add_argument("--reps", type=int, default=1000, help="reps in the synthetic team (default 1000)")
    parser.add_argument("--urgent-share", type=float, default=1.0,
                        help="share of urgent leads; the rest are micro-batched (default 1.0)")
    parser.add_argument("--connections", type=int, default=32, help="keep-alive connections (default 32)")
    parser.add_argument("--timeout", type=float, default=5, help="per-request timeout, s (default 5)")
    parser.add_argument("--durability", choices=["power-loss", "process-crash"], default="power-loss",
                        help="the spawned server's ledger durability (see leadsolver serve --help)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--url", help="use this running server (http://127.0.0.1:PORT) instead of "
                                      "starting one; its token from LEADSOLVER_TOKEN")
    parser.add_argument("--out", type=Path, default=HERE / "results", help="results folder")
    parser.add_argument("--note", default="", help="free text recorded with the result (e.g. load)")
    args = parser.parse_args(argv)
    if not (0 < args.rate <= 5000 and 0 < args.duration <= 120 and 0 <= args.warmup <= 30):
        parser.error("bounded runs only: rate in (0, 5000], duration <= 120 s, warm-up <= 30 s")

    n_warm = int(args.rate * args.warmup)
    n_measured = int(args.rate * args.duration)
    expect = {200, 202}
    server = None
    with tempfile.TemporaryDirectory(prefix="loadgen-") as tmp:
        folder = Path(tmp)
        bodies = write_inputs(folder, args.reps, n_warm + n_measured, args.urgent_share, args.seed)
        if args.url:
            url, token = args.url.rstrip("/"), os.environ.get("LEADSOLVER_TOKEN", "")
        else:
            port, token = free_port(), secrets.token_hex(32)
            url = f"http://127.0.0.1:{port}"
            cmd = [sys.executable, "-m", "solver.cli", "serve", "--reps", str(folder / "reps.json"),
                   "--policy", str(folder / "policy.yaml"), "--db", str(folder / "ledger.db"),
                   "--port", str(port), "--durability", args.durability, "--log-level", "warning"]
            server = subprocess.Popen(cmd, env={**os.environ, "LEADSOLVER_TOKEN": token})
        host, port = url.removeprefix("http://").rsplit(":", 1)
        requests = [encode_request(host, int(port), token, b) for b in bodies]
        try:
            wait_ready(url, 60, server)
            info = machine()
            if n_warm:
                run(run_schedule(host, int(port), requests[:n_warm], args.rate, expect,
                                         args.connections, args.timeout))
            cpu_before, buckets_before = cpu_seconds(server), server_buckets(url, token)
            outcome, elapsed = run(asyncio.wait_for(
                run_schedule(host, int(port), requests[n_warm:], args.rate, expect, args.connections,
                             args.timeout),
                timeout=args.duration * 3 + 30))
            info["load_avg_1m_after"] = round(os.getloadavg()[0], 2)
            server_cpu = cpu_seconds(server) - cpu_before
            shares = server_shares(buckets_before, server_buckets(url, token))
        finally:
            if server is not None:
                server.send_signal(signal.SIGINT)
                try:
                    server.wait(15)
                except subprocess.TimeoutExpired:
                    server.kill()
    result = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": shlex.join(["python", "benchmarks/service/loadgen.py", *(argv or sys.argv[1:])]),
        "machine": info,
        "config": {"rate": args.rate, "duration_s": args.duration, "warmup_s": args.warmup,
                   "reps": args.reps, "urgent_share": args.urgent_share,
                   "connections": args.connections, "url": args.url or "spawned",
                   "durability": None if args.url else args.durability, "client_loop": LOOP},
        "note": args.note,
        "requests": n_measured,
        "achieved_rate": round(n_measured / elapsed, 1),
        "errors": outcome.errors,
        "first_error": outcome.first_error,
        "statuses": outcome.statuses,
        "latency_ms": summarize(outcome),
        # CPU the server process spent per measured request: independent of other load on the machine.
        "server_cpu_ms_per_request": round(server_cpu * 1000 / n_measured, 3) if server else None,
        # From the server's own histogram (arrival to response in the app): what the client
        # measured beyond this is kernel, scheduling and client time.
        "server_share_within": shares,
    }
    write_result(args.out, result)
    print(json.dumps(result, indent=2))
    return 0 if outcome.errors == 0 else 1


def write_result(out: Path, result: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    stamp = result["date"].replace(":", "").replace("-", "")
    (out / f"{stamp}.json").write_text(json.dumps(result, indent=2) + "\n")
    table = out / "RESULTS.md"
    if not table.exists():
        table.write_text(
            "# Service latency (benchmarks/service/loadgen.py)\n\n"
            "Latency from the scheduled send time to the response's last byte, loopback, "
            "server and load generator on the same machine.\n\n"
            "| date | rate/s | urgent share | reps | durability | requests | errors | p50 ms | p90 ms "
            "| p99 ms | max ms | server CPU ms/req | load 1m | note |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
    lat = result["latency_ms"] or dict.fromkeys(("p50", "p90", "p99", "max"), "-")
    c = result["config"]
    with table.open("a") as fh:
        fh.write(f"| {result['date']} | {c['rate']:g} | {c['urgent_share']:g} | {c['reps']} | "
                 f"{c['durability'] or '-'} | {result['requests']} | {result['errors']} | {lat['p50']} | "
                 f"{lat['p90']} | {lat['p99']} | {lat['max']} | {result['server_cpu_ms_per_request']} | "
                 f"{result['machine']['load_avg_1m_before']} | {result['note']} |\n")


if __name__ == "__main__":
    sys.exit(main())
