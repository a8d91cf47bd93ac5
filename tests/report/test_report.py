"""The HTML report: self-contained, with every plot, and numbers that match the JSON."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from solver.report.html import fmt_interval, simulation_report, simulation_table
from solver.sim.scenario import load_scenario
from solver.sim.simulate import simulate_scenario
from tests.sim.test_simulate import TINY


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> dict:
    path = tmp_path_factory.mktemp("rep") / "tiny.yaml"
    path.write_text(TINY)
    return simulate_scenario(load_scenario(path), seeds=2, workers=1, progress=False)


def test_report_is_self_contained_with_all_plots(result: dict) -> None:
    page = simulation_report(result)
    images = re.findall(r"<img alt='([^']*)' src='data:image/png;base64,[A-Za-z0-9+/=]{200,}'>", page)
    # revenue, attainment, response times, one load plot per policy, the trade-off curve
    assert len(images) == 3 + len(result["policies"]) + 1
    assert "value versus fairness" in images
    assert not re.search(r"(src|href)=['\"]?https?:", page)  # nothing fetched from the network


def test_report_and_table_numbers_match_the_json(result: dict) -> None:
    page, table = simulation_report(result), simulation_table(result)
    flow = result["cells"]["base"]["flow"]
    revenue = fmt_interval(flow["metrics"]["expected_revenue"], 1)
    diff = fmt_interval(flow["vs_baseline"]["expected_revenue"], 1)
    assert revenue in page and revenue in table
    assert diff in page and diff in table
    assert fmt_interval(result["cells"]["capacity 30"]["flow"]["vs_base_variant"]["unassigned"], 1) in page


def test_fairness_sweep_has_one_point_per_weight(result: dict) -> None:
    points = result["fairness_sweep"]["points"]
    assert [p["weight"] for p in points] == [0, 1]
    assert all(0 < p["jain"]["mean"] <= 1 for p in points)


def test_missing_matplotlib_names_the_extra(monkeypatch: pytest.MonkeyPatch, result: dict) -> None:
    import builtins

    real_import = builtins.__import__

    def no_matplotlib(name: str, *args: object, **kwargs: object) -> object:
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    with pytest.raises(RuntimeError, match=r"leadsolver\[report\]"):
        simulation_report(result)


def test_report_written_by_cli_opens_offline(tmp_path: Path, result: dict) -> None:
    (tmp_path / "r.html").write_text(simulation_report(result))
    assert (tmp_path / "r.html").read_text().startswith("<!DOCTYPE html>")
