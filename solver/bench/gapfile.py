"""Reader for Generalized Assignment Problem (GAP) benchmark files.

Two layouts, both plain whitespace-separated integers read as one token stream
(line breaks carry no meaning):

* OR-Library multi-problem files (``gap1.txt`` .. ``gap12.txt``, ``gapa.txt`` ..
  ``gapd.txt``): ``P`` then P problems;
* Yagiura / fontanf single files (``c10400``, ``e801600``, ...): one problem.

One problem is ``m n``, the m x n cost matrix (agent-major), the m x n resource
matrix (agent-major) and the m capacities. The reader builds a `Problem`
directly: agents are reps with capacity ``b``, jobs are leads with effort
``a[i, j]`` from rep i. Policies maximise profit, so a minimisation instance
gets ``profit = C - cost`` with ``C = max(cost) + 1``: when all n jobs are
placed, maximising profit is minimising cost (``cost = n C - profit``), and
every profit is >= 1 so no pair looks worthless.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from solver.compile.problem import UNASSIGNED, Problem, SolveOptions
from solver.domain.errors import InputError
from solver.domain.io import csv_dicts

MIN, MAX = "min", "max"
BEST_KNOWN_COLUMNS = ("file", "problem_index", "sense", "best_known_value")


@dataclass(frozen=True, eq=False)
class GapInstance:
    """One GAP problem: the raw matrices (job-major) and the `Problem` built from them."""

    name: str  # e.g. "c10400" or "gap1-3"
    file: str
    index: int  # 1-based problem index within the file
    sense: str  # "min" or "max"
    cost: np.ndarray  # int (n, m): cost (min) or profit (max) of job i on agent j
    weight: np.ndarray  # int (n, m): resource job i takes on agent j
    capacity: np.ndarray  # int (m,)
    problem: Problem

    @property
    def kind(self) -> str:
        """Instance type: the leading letter of a Chu-Beasley/Yagiura name (a-e), else 'orlib'."""
        first = self.name[:1].lower()
        return first if first in "abcde" and self.name[1:2].isdigit() else "orlib"

    def value(self, owner: np.ndarray) -> int | None:
        """GAP objective of an owner vector in the instance's own sense; None unless all placed."""
        if np.any(owner < 0):
            return None
        return int(self.cost[np.arange(len(owner)), owner].sum())

    def value_of_profit(self, profit: float) -> float:
        """Convert a bound/objective on the Problem's profit scale to the instance's scale."""
        if self.sense == MAX:
            return profit
        offset = int(self.cost.max()) + 1
        return len(self.cost) * offset - profit


def _tokens(path: Path) -> tuple[np.ndarray, str]:
    """The file's integers, and its text (for `line_of`, on the error path only)."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise InputError(f"cannot read GAP file: {exc.strerror}", file=str(path)) from None
    words = text.split()
    try:
        return np.array([int(w) for w in words], dtype=np.int64), text
    except ValueError:
        bad = next(k for k, w in enumerate(words) if not w.lstrip("-").isdigit())
        raise InputError(
            f"expected an integer, found {words[bad]!r}", file=str(path), row=line_of(text, bad),
            field="token",
        ) from None


def line_of(text: str, token: int) -> int:
    """The 1-based line holding the 0-based `token` of `text` (the last token's line if past the end).

    Errors name lines, as an editor shows them; only called when there is one to report.
    """
    last = 1
    for number, line in enumerate(text.split("\n"), start=1):
        count = len(line.split())
        if token < count:
            return number
        token -= count
        last = number if count else last
    return last


class _Stream:
    """Integer token stream with positions, so errors can name the line of the token."""

    def __init__(self, tokens: np.ndarray, file: str, text: str) -> None:
        self.tokens, self.pos, self.file, self.text = tokens, 0, file, text

    def take(self, count: int, what: str) -> np.ndarray:
        if self.pos + count > len(self.tokens):
            raise self.ends_early(f"needs {count} integers for {what}, {len(self.tokens) - self.pos} left",
                                  what)
        out = self.tokens[self.pos:self.pos + count]
        self.pos += count
        return out

    def ends_early(self, expected: str, field: str) -> InputError:
        """The file is shorter than its header says: named at its last line, with what was expected."""
        last = line_of(self.text, len(self.tokens))
        return InputError(f"file ends early, at line {last} (its last line): {expected}", file=self.file,
                          row=last, field=field)

    def error(self, message: str, field: str, token: int) -> InputError:
        """An error at the 0-based `token` of the stream, named by its line."""
        return InputError(message, file=self.file, row=line_of(self.text, token), field=field)


def _read_problem(stream: _Stream) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    start = stream.pos
    m, n = (int(v) for v in stream.take(2, "m n"))
    if m < 1 or n < 1:
        raise stream.error(f"agents and jobs must be >= 1, got m={m} n={n}", "m n", start)
    cost = stream.take(m * n, "cost matrix").reshape(m, n).T.copy()
    start = stream.pos
    raw = stream.take(m * n, "resource matrix")
    if np.any(raw < 0):
        raise stream.error("resource consumption must be >= 0", "resource matrix",
                           start + int(np.argmax(raw < 0)))
    weight = raw.reshape(m, n).T.copy()
    start = stream.pos
    capacity = stream.take(m, "capacity").copy()
    if np.any(capacity < 0):
        raise stream.error("capacity must be >= 0", "capacity", start + int(np.argmax(capacity < 0)))
    return cost, weight, capacity


def build_problem(
    cost: np.ndarray, weight: np.ndarray, capacity: np.ndarray, sense: str,
    *, time_limit_s: float = 10.0, workers: int = 0, seed: int = 0,
) -> Problem:
    """A `Problem` whose profit order is the GAP objective order (jobs = leads, agents = reps)."""
    n, m = cost.shape
    profit = cost.astype(np.float64) if sense == MAX else float(cost.max() + 1) - cost
    return Problem(
        lead_ids=tuple(f"job{i}" for i in range(n)),
        rep_ids=tuple(f"agent{j}" for j in range(m)),
        eligible=np.ones((n, m), dtype=bool),
        value=profit,
        penalty_factor=None,
        effort=weight.astype(np.int64),
        capacity=capacity.astype(np.int64),
        forced=np.full(n, UNASSIGNED, dtype=np.int64),
        group=np.full(n, UNASSIGNED, dtype=np.int64),
        base_load=np.zeros(m),
        lead_load=np.ones(n),
        share=np.full(m, 1.0 / m),
        available=np.ones(m, dtype=bool),
        score=np.ones(n),
        seniority=np.zeros(m, dtype=np.int64),
        quota_weight=np.ones(m),
        options=SolveOptions(seed=seed, time_limit_s=time_limit_s, workers=workers),
    )


def default_sense(path: Path) -> str:
    """OR-Library gap1-gap12 are maximisation problems; every other file is minimisation."""
    stem = path.name.removesuffix(".txt")
    return MAX if stem.startswith("gap") and stem[3:].isdigit() else MIN


def read_gap(
    path: str | os.PathLike[str], *, sense: str | None = None, time_limit_s: float = 10.0,
    workers: int = 0, seed: int = 0,
) -> list[GapInstance]:
    """All problems in a GAP file (one for single files, P for OR-Library files).

    The layout is told apart by the token count: a single file holds exactly
    ``2 + 2 m n + m`` integers. `sense` defaults to `default_sense`.
    """
    path = Path(path)
    tokens, text = _tokens(path)
    sense = sense or default_sense(path)
    if sense not in (MIN, MAX):
        raise InputError(f"sense must be 'min' or 'max', got {sense!r}", file=str(path))
    stream = _Stream(tokens, str(path), text)
    if len(tokens) < 3:
        raise stream.ends_early(f"a GAP problem needs at least 3 integers, found {len(tokens)}", "m n")
    m, n = int(tokens[0]), int(tokens[1])
    needed = 2 + 2 * m * n + m  # a single file of m agents and n jobs
    single = m > 0 and n > 0 and len(tokens) == needed
    count = 1 if single else int(stream.take(1, "problem count")[0])
    if count < 1:
        raise stream.error(f"problem count must be >= 1, got {count}", "problem count", 0)
    stem = path.name.removesuffix(".txt")
    instances = []
    for k in range(1, count + 1):
        try:
            cost, weight, capacity = _read_problem(stream)
        except InputError as exc:
            if m > 0 and n > 0 and len(tokens) < needed and exc.message.startswith("file ends early"):
                # read as a single file cut short, not as P = m problems of which nothing fits
                raise stream.ends_early(f"one problem of m={m} agents and n={n} jobs needs {needed} "
                                        f"integers (2 + 2 m n + m), found {len(tokens)}", "m n") from None
            raise
        name = stem if single else f"{stem}-{k}"
        problem = build_problem(cost, weight, capacity, sense, time_limit_s=time_limit_s,
                                workers=workers, seed=seed)
        instances.append(GapInstance(name, str(path), k, sense, cost, weight, capacity, problem))
    if stream.pos != len(tokens):
        raise stream.error(f"{len(tokens) - stream.pos} unexpected integers after the last problem",
                           "trailing data", stream.pos)
    return instances


def read_best_known(path: str | os.PathLike[str]) -> dict[tuple[str, int, str], int]:
    """Best-known values keyed by (file name, 1-based problem index, sense).

    The key uses the file's base name (``gap1.txt``, ``c10400``) so the table
    matches instances wherever the files live. A missing or empty file, a
    missing column, a bad cell or no rows at all is an InputError naming the
    file, row and field: a table that gives no value would leave every gap blank.
    """
    path = Path(path)
    table: dict[tuple[str, int, str], int] = {}
    for row_no, row in enumerate(csv_dicts(path, BEST_KNOWN_COLUMNS), start=1):
        for name in BEST_KNOWN_COLUMNS:
            if not (row[name] or "").strip():
                raise InputError("empty cell", file=str(path), row=row_no, field=name)
        sense = row["sense"].strip()
        if sense not in (MIN, MAX):
            raise InputError(f"sense must be 'min' or 'max', got {sense!r}", file=str(path), row=row_no,
                             field="sense")
        number = {}
        for name in ("problem_index", "best_known_value"):
            try:
                number[name] = int(row[name])
            except ValueError:
                raise InputError(f"expected an integer, found {row[name]!r}", file=str(path), row=row_no,
                                 field=name) from None
        table[(Path(row["file"].strip()).name, number["problem_index"], sense)] = number["best_known_value"]
    if not table:
        raise InputError("no rows: the table gives no best-known value", file=str(path))
    return table
