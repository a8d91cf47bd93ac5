"""Running callables at the same moment in threads: replicas, jobs and services on one ledger;
holding a batch's solve while another caller acts."""

import threading
from collections.abc import Callable

import pytest

from solver.policies import greedy


def run_together(calls: list[Callable[[], object]], timeout_s: float = 60.0) -> list[BaseException]:
    """Start every call in its own thread behind one barrier, wait for all; what they raised.

    A thread's exception does not reach the caller by itself, so each is kept and returned
    for the test to assert on (an empty list: all of them ran to the end).
    """
    start = threading.Barrier(len(calls))
    raised: list[BaseException] = []

    def run(call: Callable[[], object]) -> None:
        try:
            start.wait()
            call()
        except BaseException as exc:  # surfaced by the caller
            raised.append(exc)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=timeout_s)
    hung = [t.name for t in threads if t.is_alive()]
    if hung:
        raised.append(TimeoutError(f"{len(hung)} of {len(calls)} threads still running after {timeout_s} s"))
    return raised


class Hold:
    """Holds greedy's solve (a batch's: the fast path does not use it) where `holds()` says so,
    until `go` is set or `timeout_s` passed (`timed_out`); `solving` is set once one is held,
    `solves` counts them. No sleeps: the test acts while the solve waits, then sets `go`."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, holds: Callable[[], bool], timeout_s: float = 60.0) -> None:
        self.solving, self.go = threading.Event(), threading.Event()
        self.solves = 0
        self.timed_out = False
        real = greedy.route_sequentially

        def held(problem, choose):
            if holds():
                self.solves += 1
                self.solving.set()
                self.timed_out |= not self.go.wait(timeout=timeout_s)
            return real(problem, choose)

        monkeypatch.setattr(greedy, "route_sequentially", held)
