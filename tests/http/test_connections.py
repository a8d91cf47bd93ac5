"""Idle and slow clients cannot starve the service (issue 12 item 4), with real sockets.

Before: 520 idle unauthenticated connections made every request, /healthz
included, answer 503 (uvicorn's limit_concurrency counts idle connections),
nothing closed them, and a body sent at 1 byte per 0.25 s was never timed out.

One `leadsolver serve` process on loopback with short limits set by its
options; every socket is closed at the end and each wait is bounded.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httptools")

from tests.http.test_service import TEAM, TOKEN, _free_port, _request, recorded

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

MAX_CONNECTIONS = 64
HEADER_TIMEOUT_S = 1.0
BODY_TIMEOUT_S = 1.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int, Path]]:
    tmp = tmp_path_factory.mktemp("conn")
    reps, db, port = tmp / "reps.json", tmp / "ledger.db", _free_port()
    reps.write_text(json.dumps({"reps": [r.model_dump(mode="json") for r in TEAM]}))
    process = subprocess.Popen(
        [sys.executable, "-m", "solver.cli", "serve", "--reps", str(reps), "--db", str(db),
         "--port", str(port), "--log-level", "warning", "--max-connections", str(MAX_CONNECTIONS),
         "--header-timeout", str(HEADER_TIMEOUT_S), "--body-timeout", str(BODY_TIMEOUT_S),
         "--keep-alive-timeout", "1"],
        env={**os.environ, "LEADSOLVER_TOKEN": TOKEN})
    try:
        deadline = time.monotonic() + 30
        while _status("127.0.0.1", port) != 200:
            assert process.poll() is None, "the server exited"
            assert time.monotonic() < deadline, "the server did not get ready"
            time.sleep(0.1)
        yield "127.0.0.1", port, db
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _status(host: str, port: int, path: str = "/healthz") -> int | None:
    try:
        return _request(f"http://{host}:{port}{path}", token=None)[0]
    except (OSError, json.JSONDecodeError):
        return None


def _closed_within(sock: socket.socket, seconds: float) -> tuple[bool, bytes]:
    """Whether the server closed `sock` within `seconds`, and what it sent before."""
    sock.settimeout(0.05)
    received, deadline = b"", time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(4096)
        except TimeoutError:
            continue
        except ConnectionResetError:
            return True, received
        if not chunk:
            return True, received
        received += chunk
    return False, received


def test_idle_connections_are_closed_and_health_answers_again(server):
    host, port, _ = server
    idle: list[socket.socket] = []
    try:
        for _ in range(MAX_CONNECTIONS + 40):  # past the cap, sending nothing
            idle.append(socket.create_connection((host, port), timeout=2))
        start = time.monotonic()
        while _status(host, port) != 200:
            assert time.monotonic() - start < HEADER_TIMEOUT_S + 4, "health starved by idle sockets"
            time.sleep(0.1)
        closed = [_closed_within(s, 0.2)[0] for s in idle]
        assert all(closed), f"{closed.count(False)} idle connections still open"
    finally:
        for s in idle:
            s.close()


def test_a_connection_beyond_the_cap_is_answered_503_and_the_open_ones_are_served(server):
    host, port, _ = server
    held: list[socket.socket] = []
    try:
        for _ in range(MAX_CONNECTIONS):
            held.append(socket.create_connection((host, port), timeout=2))
        time.sleep(0.2)  # the server has accepted them
        with socket.create_connection((host, port), timeout=2) as extra:
            closed, answer = _closed_within(extra, 2)
        assert closed and answer.startswith(b"HTTP/1.1 503"), answer
        first = held[0]
        first.sendall(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        assert _closed_within(first, 0.5)[1].startswith(b"HTTP/1.1 200")
    finally:
        for s in held:
            s.close()


def test_slow_headers_and_a_slow_body_are_cut_off_and_nothing_is_recorded(server):
    host, port, db = server
    body = json.dumps({"id": "SLOW-1", "value": 1.0, "territory": "EU", "urgent": True}).encode()
    head = (f"POST /v1/leads HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {TOKEN}\r\n"
            f"content-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n").encode()
    for prefix, trickle in [(b"", head), (head, body)]:  # headers, then a body, at 1 byte per 0.25 s
        with socket.create_connection((host, port), timeout=2) as sock:
            sock.sendall(prefix)
            start = time.monotonic()
            cut = False
            for byte in trickle:
                try:
                    sock.sendall(bytes([byte]))
                except (BrokenPipeError, ConnectionResetError):
                    cut = True
                    break
                closed, answer = _closed_within(sock, 0.25)
                if closed:
                    cut = True
                    assert answer == b"" or answer.startswith(b"HTTP/1.1 408"), answer
                    break
            assert cut, "a trickling request was never cut off"
            assert time.monotonic() - start < max(HEADER_TIMEOUT_S, BODY_TIMEOUT_S) + 1.5
    assert "SLOW-1" not in recorded(db)
    assert _status(host, port) == 200
