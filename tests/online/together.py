"""Running callables at the same moment in threads: replicas, jobs and services on one ledger."""

import threading
from collections.abc import Callable


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
