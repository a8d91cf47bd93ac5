"""Running many independent cells: in this process, on a local process pool, or on Dask.

    results = run_cells(fn, cells)                          # local process pool
    results = run_cells(fn, cells, scheduler="tcp://host:8786")   # a Dask cluster

`fn` must be a top-level function (so it pickles) and each cell's result must
depend on the cell alone (seeds inside the cell). Then the answer is the same
list, in the order of `cells`, whichever executor ran it. Dask
(`distributed`) is an optional extra, imported only when a scheduler is named.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, TypeVar

from solver.domain.errors import InputError

T = TypeVar("T")
R = TypeVar("R")


def run_cells(
    fn: Callable[[T], R],
    cells: Sequence[T],
    scheduler: Any = None,
    workers: int | None = None,
    progress: bool = True,
) -> list[R]:
    """`[fn(c) for c in cells]`, in parallel; results in the order of `cells`.

    `scheduler`: a Dask scheduler address (or a `distributed.Client`) to run on
    that cluster; None runs on a local process pool of `workers` processes
    (default: the CPU count), or in this process when `workers` is 1 or there
    is a single cell. `progress` draws a bar on stderr.
    """
    bar = ProgressBar(len(cells), enabled=progress)
    try:
        if scheduler is not None:
            return _run_dask(fn, cells, scheduler, bar)
        workers = workers or os.cpu_count() or 1
        if workers == 1 or len(cells) <= 1:
            out = []
            for cell in cells:
                out.append(fn(cell))
                bar.step()
            return out
        results: list[Any] = [None] * len(cells)
        with ProcessPoolExecutor(max_workers=min(workers, len(cells))) as pool:
            futures = {pool.submit(fn, cell): k for k, cell in enumerate(cells)}
            _collect(as_completed(futures), futures, results, bar)
        return results
    finally:  # done or failed: an error's message starts on a line of its own
        bar.close()


def _run_dask(fn: Callable[[T], R], cells: Sequence[T], scheduler: Any, bar: ProgressBar) -> list[R]:
    try:
        from distributed import Client
        from distributed import as_completed as dask_completed
    except ImportError:
        raise InputError("running on a Dask scheduler needs the dask extra: "
                         "pip install 'leadsolver[dask]'", field="scheduler") from None
    own = not isinstance(scheduler, Client)
    try:
        client = Client(scheduler) if own else scheduler
    except (ValueError, OSError) as exc:  # a malformed address, or no scheduler there (TimeoutError)
        raise InputError(f"cannot reach the Dask scheduler {scheduler!r} ({exc})",
                         field="scheduler") from None
    try:
        # pure=False: equal cells are still separate runs (no caching by Dask).
        futures = client.map(fn, list(cells), pure=False)
        results: list[Any] = [None] * len(cells)
        _collect(dask_completed(futures), {f: k for k, f in enumerate(futures)}, results, bar)
        return results
    finally:
        if own:
            client.close()


def _collect(done: Iterable[Any], index: dict[Any, int], results: list[Any], bar: ProgressBar) -> None:
    for future in done:
        results[index[future]] = future.result()
        bar.step()


class ProgressBar:
    """`[#####.....] 12/40` on stderr, redrawn in place; silent when disabled."""

    def __init__(self, total: int, enabled: bool = True, width: int = 30) -> None:
        self.total, self.done, self.width = total, 0, width
        self.enabled = enabled and total > 0
        self._draw()

    def step(self) -> None:
        self.done += 1
        self._draw()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")
            sys.stderr.flush()
            self.enabled = False

    def _draw(self) -> None:
        if not self.enabled:
            return
        filled = self.width * self.done // self.total
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (self.width - filled)}] {self.done}/{self.total}")
        sys.stderr.flush()
