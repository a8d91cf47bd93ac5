"""The cell executor: serial, process pool and Dask give the same list in the same order."""

from __future__ import annotations

import pytest

from solver.domain.errors import InputError
from solver.sim.sweep import run_cells


def square_after_work(x: int) -> tuple[int, int]:
    return x, sum(i * i for i in range(1000 + 37 * x)) % 9973


CELLS = list(range(12))


def test_pool_matches_serial_in_order() -> None:
    serial = run_cells(square_after_work, CELLS, workers=1, progress=False)
    assert [x for x, _ in serial] == CELLS
    assert run_cells(square_after_work, CELLS, workers=2, progress=False) == serial


def test_dask_local_cluster_matches_serial() -> None:
    distributed = pytest.importorskip("distributed")
    serial = run_cells(square_after_work, CELLS, workers=1, progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        assert run_cells(square_after_work, CELLS, scheduler=cluster.scheduler_address,
                         progress=False) == serial


def test_progress_bar_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    run_cells(square_after_work, [1, 2], workers=1, progress=True)
    err = capsys.readouterr().err
    assert "2/2" in err


def fails(x: int) -> int:
    raise ValueError(f"cell {x}")


def test_a_scheduler_address_that_is_none_is_an_input_error() -> None:
    pytest.importorskip("distributed")
    with pytest.raises(InputError, match="cannot reach the Dask scheduler 'garbage'"):
        run_cells(square_after_work, CELLS, scheduler="garbage", progress=False)


def test_a_failing_run_ends_the_bar_so_the_error_has_its_own_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ValueError, match="cell 1"):
        run_cells(fails, [1, 2], workers=1, progress=True)
    assert capsys.readouterr().err.endswith("0/2\n")
