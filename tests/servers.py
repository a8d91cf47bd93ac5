"""`leadsolver serve` in a process of its own on loopback, for the tests that need a real server
(a real socket, a real browser): started on a free port, polled until /readyz answers, and
stopped with Ctrl-C (SIGINT) as an operator would, its exit code kept for the test to check.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Served:
    """A running server: its base URL (`host` as given, so 'localhost' stays a secure context for
    a browser) and its process (`returncode` is set once the `serving` block is left)."""

    url: str
    process: subprocess.Popen[bytes]


@contextmanager
def serving(args: Sequence[str], token: str | None, host: str = "127.0.0.1") -> Iterator[Served]:
    """`leadsolver serve ARGS --port P` with LEADSOLVER_TOKEN=`token`, once /readyz says 200."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "LEADSOLVER_TOKEN"}
    process = subprocess.Popen(
        [sys.executable, "-m", "solver.cli", "serve", *args, "--host", "127.0.0.1", "--port", str(port),
         "--log-level", "warning"],
        env=env if token is None else {**env, "LEADSOLVER_TOKEN": token})
    served = Served(f"http://{host}:{port}", process)
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            assert process.poll() is None, f"the server exited with {process.returncode}"
            try:
                with urllib.request.urlopen(f"{served.url}/readyz", timeout=2) as ready:
                    if ready.status == 200:
                        break
            except (OSError, urllib.error.HTTPError):
                pass
            assert time.monotonic() < deadline, f"the server did not get ready in {READY_TIMEOUT_S:.0f} s"
            time.sleep(0.1)
        yield served
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise
