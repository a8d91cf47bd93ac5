"""The backlog: unassigned leads that a rep could take later, and when they are worth another try.

A lead that gets no rep because every eligible rep is full, or because the
reps its rules admit are off shift or on leave (or, where batches are priced,
because it is worth less than every seat's price), is answered "unassigned,
<reason>; waits in the backlog ..." with status waiting (or deferred) in the
store. It is solved again with later flushes, and by `tick` once capacity has
freed (a release, here or by another process on the same ledger, a team change,
new prices) or a batch wait has passed and the reps on shift changed; a lead
whose rules admit no rep at all is final. Once room frees, the backlog is tried
turn by turn until every lead waiting then has had its try (or the room is
gone): a turn holds a few leads per free seat, and the freed seat may suit only
a lead further down (another territory's). The store holds the backlog;
`BacklogSchedule` holds only when it was last tried and where the next turn starts.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import numpy as np

from solver.compile.problem import Problem
from solver.compile.scoring import RepTable
from solver.decode.reasons import ReasonCode, without_wait_note
from solver.decode.result import Assignment, with_reason
from solver.online.store import LeadStore, WaitingLead

# At most this many backlogged leads join one batch solve, taken in turn, so a long
# backlog (demand above capacity for days) does not make every flush slow.
BACKLOG_PER_SOLVE = 1000
# How often an idle tick reads the ledger's loads for room freed by another process (a
# release by `leadsolver events`, another replica): one grouped count.
LOADS_CHECK_S = 1.0


class BacklogSchedule:
    """When the backlog is worth solving again, and which of its leads join the next solve."""

    def __init__(self, timed: bool = False) -> None:
        # Caps over time free room as the clock moves (a new day, the rolling 24 h), with no
        # release to say so: with caps the backlog is worth a try every batch wait.
        self.timed = timed
        self.retried: datetime | None = None  # when the backlog was last solved
        self.shift: np.ndarray | None = None  # who was on shift then
        self._freed = True  # capacity freed (or prices changed) since then
        self._frees = 0  # how many times it was said so (a batch solved off the lock sees the news)
        self.turn = 0  # where the next retry starts when the backlog exceeds BACKLOG_PER_SOLVE
        self.untried = 0  # leads waiting when room last freed that have not had a turn since
        self.held: np.ndarray | None = None  # each rep's capacity units in the ledger, as last read
        self.checked: datetime | None = None  # when an idle tick last read the loads

    @property
    def freed(self) -> bool:
        """Capacity freed (or prices changed) since the backlog was last tried."""
        return self._freed

    @freed.setter
    def freed(self, value: bool) -> None:
        self._freed = value
        self._frees += value

    def entered(self, now: datetime) -> None:
        """Leads joined the backlog: the first ones start its clock."""
        if self.retried is None:
            self.retried = now

    def due(self, waiting: int, available: np.ndarray) -> bool:
        """Worth solving again: never tried, capacity freed, or the shift changed.

        Otherwise its leads cannot be placed: new assignments only take room away.
        """
        return bool(waiting) and (
            self.retried is None or self.freed or self.untried > 0 or self.timed or self.shift is None
            or not np.array_equal(available, self.shift))

    def due_alone(self, waiting: int, now: datetime, max_wait_s: float,
                  available: Callable[[], np.ndarray], held: Callable[[], np.ndarray] | None = None) -> bool:
        """Worth a solve of its own (no batch due): capacity freed, never tried, or, a batch
        wait after the last try, the reps on shift changed (`available()`: who is on shift now).
        `held()`: each rep's capacity units in the ledger now, read at most every LOADS_CHECK_S:
        a rep holding less than at the last read had room freed elsewhere (per rep: another
        rep's new leads must not hide it)."""
        if not waiting:
            return False
        if held is not None and (self.checked is None
                                 or (now - self.checked).total_seconds() >= LOADS_CHECK_S):
            self.checked = now
            self.observe(held())
        return (self.freed or self.untried > 0 or self.retried is None
                or ((now - self.retried).total_seconds() >= max_wait_s and self.due(waiting, available())))

    def observe(self, held: np.ndarray) -> None:
        """The ledger's loads per rep now: room freed if any rep holds less than at the last read."""
        if self.held is not None and held.shape == self.held.shape and bool(np.any(held < self.held)):
            self.freed = True
        self.held = held

    def tried(self, now: datetime, available: np.ndarray, held: np.ndarray | None = None,
              news: int | None = None) -> None:
        """A solve took its turn of the backlog (`held`: the ledger's loads per rep after it; `news`:
        `news` when it was solved off the lock, room freed since then is still news).
        Leads still owed a try since room freed (`untried`) keep it due, so the next tick takes
        the next turn."""
        self.retried, self.shift = now, available
        self._freed = news is not None and self._frees != news
        if held is not None:
            self.held = held

    def mark(self) -> tuple[int, int]:
        """Where the backlog's turns stand (`rewind` there: a batch solved off the ledger's lock
        whose answer no longer holds gives its turn back)."""
        return self.turn, self.untried

    def rewind(self, mark: tuple[int, int]) -> None:
        self.turn, self.untried = mark

    @property
    def news(self) -> int:
        """How many times room was said to free so far (`tried`'s `news`)."""
        return self._frees

    def turns(self, store: LeadStore, table: RepTable) -> list[WaitingLead]:
        """The backlogged leads that join this solve, oldest first, taken in turns.

        At most twice as many as there are free capacity units (the solver then
        picks the best of them for the seats; more would only slow every flush
        while demand stays above capacity), and at most BACKLOG_PER_SOLVE.
        """
        room = int(np.maximum(table.capacity - table.open_leads, 0)[table.available].sum())
        n = store.count_waiting()
        if self.freed:  # room freed since the last turn: every lead waiting now is owed a try
            self.untried = n
        # A sweep after room freed takes full turns: the freed seat may suit a lead far down (another
        # territory's), and two leads a seat would take n / 2 ticks to reach it.
        k = min(BACKLOG_PER_SOLVE, n if self.untried else 2 * room, n) if room else 0
        self.untried = max(self.untried - k, 0) if k else 0  # no room: nothing to try for
        if k == 0:
            return []
        start = self.turn % n
        self.turn = start + k
        turn = store.waiting_leads(start=start, limit=k)
        if len(turn) < k:  # wrap around to the oldest
            turn += store.waiting_leads(limit=k - len(turn))
        return turn


def could_wait(problem: Problem, owner: np.ndarray) -> np.ndarray:
    """bool (n,): unassigned leads that some rep could take once it has room or is on shift.

    That is: the hard rules admit at least one rep, available now or not: the
    built-in ones and the routing rules (`problem.rules.admit`), or the row
    the batch compiled (`unpriced`: before seat prices), which holds named
    accounts and fallbacks. A lead no rep's rules admit (say, an uncovered
    territory, or every rep excluded by a routing rule) is final instead, and
    a lead a fallback sent to a named queue waits there for a person, not here.
    """
    waits = np.zeros(problem.n, dtype=bool)
    rows = np.flatnonzero(owner < 0)
    if rows.size:
        admitted = np.ones((rows.size, problem.m), dtype=bool)
        for name in problem.options.hard_rules:
            admitted &= problem.dimensions[name].admits(rows)
        if problem.rules is not None:
            # a fallback's row (a team, a rep, normal routing) stands in for the rules that emptied it
            by_fallback = np.fromiter((int(i) in problem.notes for i in rows), dtype=bool, count=rows.size)
            admitted &= problem.rules.admit[rows] | by_fallback[:, None]
        if problem.strategic is not None:  # a strategic-only rep never takes a lead of no named account
            admitted &= problem.strategic[rows]
        compiled = problem.eligible if problem.unpriced is None else problem.unpriced
        waits[rows] = (admitted | compiled[rows]).any(axis=1)
        waits[[i for i in problem.queued if owner[i] < 0]] = False
    return waits


def expire(store: LeadStore, hours: float | None, now: datetime, run_id: int | None) -> list[Assignment]:
    """Final "unassigned" answers for the leads that waited `hours` (`policy.sla.max_backlog_hours`)."""
    if hours is None or not store.count_waiting():
        return []
    ended: list[Assignment] = []
    with store.transaction():
        for item in store.waiting_leads(since_before=now - timedelta(hours=hours)):
            final = with_reason(item.answer, ReasonCode.BACKLOG_EXPIRED.reason(
                hours=hours, cause=without_wait_note(item.answer.reason)))
            if store.expire(final, now, run_id):
                ended.append(final)
    return ended
