"""The CRM replay's source read as a user's export: a bad number or a cutoff outside the data
is one message naming file, row and field (exit 2 from `simulate`, before any run)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from solver.cli.main import main
from solver.domain.errors import InputError
from solver.sim.crm import load_crm
from solver.sim.scenario import load_scenario, with_overrides
from solver.sim.stream import team_reps

ROOT = Path(__file__).resolve().parents[2]
CRM = ROOT.parent / "shared" / "data" / "crm"
SCENARIO = ROOT / "scenarios" / "crm_replay.yaml"


@pytest.mark.parametrize(("cutoff", "says"), [("2015-01-01", "nothing to learn from"),
                                               ("2019-01-01", "nothing to replay")])
def test_a_cutoff_outside_the_data_names_it(cutoff: str, says: str) -> None:
    scenario = with_overrides(load_scenario(SCENARIO), {"crm.cutoff": cutoff})
    with pytest.raises(InputError, match=says) as caught:
        team_reps(scenario)
    text = str(caught.value)
    assert f"crm.cutoff {cutoff}" in text and "sales_pipeline.csv" in text and "'engage_date'" in text
    assert "2016-10-20 to 2017-12-27" in text  # where the data's deals are


@pytest.mark.parametrize(("name", "field", "bad"), [("products.csv", "sales_price", "abc"),
                                                    ("accounts.csv", "employees", "-3")])
def test_a_number_column_holding_text_names_file_row_and_field(tmp_path: Path, name: str, field: str,
                                                               bad: str) -> None:
    folder = tmp_path / "crm"
    shutil.copytree(CRM, folder)
    lines = (folder / name).read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    cells = lines[2].split(",")
    cells[header.index(field)] = bad
    lines[2] = ",".join(cells)
    (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_crm(str(folder))
    assert f"{name}, row 2, field '{field}'" in str(caught.value) and repr(bad) in str(caught.value)


def test_simulate_refuses_a_bad_cutoff_before_running(tmp_path: Path) -> None:
    text = SCENARIO.read_text(encoding="utf-8").replace("cutoff: 2017-06-01", "cutoff: 2015-01-01")
    text = text.replace("../../shared/data/crm", str(CRM))
    (tmp_path / "early.yaml").write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["simulate", str(tmp_path / "early.yaml"), "--seeds", "1",
                                       "--workers", "1"])
    assert result.exit_code == 2
    assert "crm.cutoff 2015-01-01" in result.output and "[" not in result.output  # no run started
    assert "Traceback" not in result.output and "internal error" not in result.output
