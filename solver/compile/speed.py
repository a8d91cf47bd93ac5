"""Expected time to first touch, and what it leaves of a lead's worth (`solver.domain.speed`).

For rep j at decision time, the k-th lead it gets in a batch (k = 0 first) is
first touched, in expected clock minutes, after

    wait_j + work_j(k) (+ gap_j when work_j(k) runs past the end of the shift)
    work_j(k) = response_j + (untouched_j + k) x handling_j      (working minutes)

where wait_j is the time until the rep's next working minute, untouched_j the
leads it holds untouched, and gap_j the time off between this shift and the
next. A lead's expected value is ``value x score x skill x decay(minutes)``.
Only the next shift boundary is modelled: a queue longer than two shifts is
counted as if the second went on (its leads are nearly worthless either way).

`SpeedTerms` is what a compiled batch carries: each rep's first-slot factor
(already in `Problem.value`) and the means to price deeper queue positions, so
policies can put a rep's highest-value leads in its earliest slots.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from solver.domain.speed import Speed

MINUTE_S = 60.0


def half_life_decay(minutes: Any, half_life: float, floor: float | np.ndarray) -> np.ndarray:
    """``floor + (1 - floor) * 0.5 ** (minutes / half_life)``: halves every `half_life` minutes
    down to `floor` (broadcast over arrays of minutes and floors). The router's curve, the
    simulator's truth and the curve `learn` fits are this one function."""
    return floor + (1.0 - floor) * np.exp2(-np.asarray(minutes, dtype=np.float64) / half_life)


def decay(minutes: np.ndarray | float, speed: Speed) -> np.ndarray:
    """Share of a lead's worth kept when first touched after `minutes` (1 at 0, not rising)."""
    if speed.table:
        xs = np.array([m for m, _ in speed.table])
        ys = np.array([s for _, s in speed.table])
        return np.interp(np.asarray(minutes, dtype=np.float64), xs, ys, left=ys[0], right=ys[-1])
    return half_life_decay(minutes, speed.half_life_minutes, speed.floor)


def decay_one(minutes: float, speed: Speed) -> float:
    """`decay` of one number, in plain floats (the urgent path's per-rep update)."""
    if speed.table:
        return float(decay(minutes, speed))
    return speed.floor + (1.0 - speed.floor) * 2.0 ** (-minutes / speed.half_life_minutes)


@dataclass(frozen=True)
class RepTiming:
    """Each rep's clock at decision time, in minutes (m,): what the first-touch time is built of."""

    wait: np.ndarray  # until the next working minute (0 on shift; inf: not back within max wait)
    shift_left: np.ndarray  # working minutes left in that shift (inf: no end in sight)
    gap: np.ndarray  # minutes off between that shift and the next (inf: none known)
    work: np.ndarray  # response + untouched x handling: working minutes before a new lead's turn
    handling: np.ndarray  # working minutes each further lead in the queue adds

    @classmethod
    def always_on(cls, work: np.ndarray, handling: np.ndarray) -> RepTiming:
        """Reps without a calendar: on shift now and for good."""
        m = work.shape[0]
        return cls(np.zeros(m), np.full(m, np.inf), np.full(m, np.inf), work, handling)

    def minutes(self, reps: np.ndarray | slice, position: np.ndarray | int) -> np.ndarray:
        """Expected clock minutes to first touch of the lead at queue `position` of `reps`."""
        work = self.work[reps]
        if not (isinstance(position, int) and position == 0):
            work = work + np.asarray(position) * self.handling[reps]
        overrun = np.where(work > self.shift_left[reps], self.gap[reps], 0.0)
        return self.wait[reps] + work + overrun


def rep_work(response: np.ndarray, handling: np.ndarray, untouched: np.ndarray,
             speed: Speed) -> tuple[np.ndarray, np.ndarray]:
    """(work, handling) per rep: NaN (no learned figure) takes the policy's default."""
    response = np.where(np.isnan(response), speed.response_minutes, response)
    handling = np.where(np.isnan(handling), speed.handling_minutes, handling)
    return response + untouched * handling, handling


@dataclass(frozen=True)
class SpeedTerms:
    """A batch's speed model: the first-slot factor per rep and deeper slots' ratios to it."""

    speed: Speed
    timing: RepTiming
    factor: np.ndarray  # float (m,): decay at each rep's next slot (in `Problem.value` already)
    slots: int  # queue positions a flow solve models exactly (>= 1)

    @classmethod
    def of(cls, timing: RepTiming, speed: Speed) -> SpeedTerms:
        m = timing.wait.shape[0]
        factor = decay(timing.minutes(slice(None), 0), speed) if m else np.zeros(0)
        factor = np.where(np.isfinite(timing.wait), factor, 0.0)
        return cls(speed, timing, factor, max(1, speed.slots))

    @property
    def queues(self) -> bool:
        """A rep's second lead in a batch is worth less than its first (positions matter)."""
        return self.slots > 1 and bool(np.any(self.timing.handling > 0))

    def ratio(self, reps: np.ndarray, position: np.ndarray) -> np.ndarray:
        """Worth kept at queue `position` relative to the rep's first slot (1 at position 0)."""
        deeper = decay(self.timing.minutes(reps, position), self.speed)
        base = self.factor[reps]
        return np.divide(deeper, base, out=np.ones_like(deeper), where=base > 0)


# Reps back on shift within this many minutes of the first one back may take a lead no rep on
# shift may take: "the rep first on", allowing for reps whose shifts start a little apart.
FIRST_BACK_MINUTES = 60.0


def first_back(admitted: np.ndarray, wait: np.ndarray) -> np.ndarray:
    """bool (n, m) (or (m,) for one lead): of the reps `admitted` for each lead, those back on shift
    first (`wait` minutes, inf: not back in time), within FIRST_BACK_MINUTES of the earliest."""
    waits = np.where(admitted, wait, np.inf)
    earliest = waits.min(axis=-1, keepdims=True, initial=np.inf)
    return admitted & np.isfinite(waits) & (waits <= earliest + FIRST_BACK_MINUTES)


def positions(owner: np.ndarray, worth: np.ndarray, first: np.ndarray) -> np.ndarray:
    """int (n,): each placed lead's place in its rep's queue (-1 unplaced).

    The leads marked `first` (the owner rule's: the rep's own accounts) come first, then the
    rest; each group highest worth first, ties to the lower lead index (deterministic).
    """
    pos = np.full(owner.shape[0], -1, dtype=np.int64)
    placed = np.flatnonzero(owner >= 0)
    if placed.size == 0:
        return pos
    reps = owner[placed]
    order = np.lexsort((placed, -worth[placed], ~first[placed], reps))
    sorted_reps = reps[order]
    run_start = np.flatnonzero(np.r_[True, sorted_reps[1:] != sorted_reps[:-1]])
    starts = np.repeat(run_start, np.diff(np.r_[run_start, sorted_reps.size]))
    pos[placed[order]] = np.arange(sorted_reps.size) - starts
    return pos


def speed_terms(response: np.ndarray | None, handling: np.ndarray | None, untouched: np.ndarray | None,
                shifts: tuple[np.ndarray, np.ndarray, np.ndarray] | None, m: int,
                speed: Speed) -> SpeedTerms:
    """The batch's `SpeedTerms` from a rep table's speed columns (None: no figures, always on)."""
    none = np.full(m, np.nan)
    work, step = rep_work(none if response is None else response, none if handling is None else handling,
                          np.zeros(m) if untouched is None else untouched, speed)
    return timed_terms(work, step, shifts, speed)


def timed_terms(work: np.ndarray, handling: np.ndarray,
                shifts: tuple[np.ndarray, np.ndarray, np.ndarray] | None, speed: Speed) -> SpeedTerms:
    """`SpeedTerms` from each rep's work ahead and handling minutes (`rep_work`) and its shifts
    (`RepCalendar.shifts`; None: always on). A rep off shift for longer than
    `speed.max_wait_hours` gets an infinite wait (factor 0)."""
    if shifts is None:
        return SpeedTerms.of(RepTiming.always_on(work, handling), speed)
    wait, left, gap = shifts
    wait = np.where(wait <= speed.max_wait_hours * 60.0, wait, np.inf)
    return SpeedTerms.of(RepTiming(wait, left, gap, work, handling), speed)


class AlwaysOnTerms:
    """`SpeedTerms` of a team without calendars, kept up to date one rep at a time.

    The urgent path decides one lead at a time and each decision changes one rep's untouched
    queue: recomputing the decay of that rep only keeps the speed model to a few microseconds
    at 1,000 reps (the whole team's decay is ~20 us). Callers must not keep the returned
    terms past their next call: its arrays change in place.
    """

    def __init__(self, response: np.ndarray, handling: np.ndarray, speed: Speed) -> None:
        self.response, self.handling, self.speed = response, handling, speed
        self._untouched: np.ndarray | None = None
        self._terms: SpeedTerms | None = None

    def terms(self, untouched: np.ndarray) -> SpeedTerms:
        if self._untouched is not None and self._terms is not None:
            changed = (untouched != self._untouched).nonzero()[0]  # flatnonzero's wrappers cost ~1 us
            if changed.size <= 16:  # a few reps changed (one, mostly): patch them in place
                work, factor = self._terms.timing.work, self._terms.factor
                for k in changed.tolist():  # scalars: numpy's per-call cost dwarfs one rep's math
                    queue = int(untouched[k])
                    work[k] = minutes = float(self.response[k]) + queue * float(self.handling[k])
                    factor[k] = decay_one(minutes, self.speed)
                    self._untouched[k] = queue
                return self._terms
        work = self.response + untouched * self.handling
        self._terms = SpeedTerms.of(RepTiming.always_on(work, self.handling), self.speed)
        self._untouched = np.array(untouched, dtype=np.int64)
        return self._terms
