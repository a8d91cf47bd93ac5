"""`leadsolver simulate` (quota scenarios) and `leadsolver learn` (skills from history)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import click

from solver.cli.common import emit, format_option, input_errors_exit_2, out_option
from solver.domain.errors import InputError
from solver.domain.io import load_reps, write_atomic


@click.command()
@click.argument("scenario_path", metavar="SCENARIO", type=click.Path(dir_okay=False))
@click.option("--policies", help="Comma-separated policies to compare (default: the scenario's).")
@click.option("--seeds", type=click.IntRange(min=1), help="Number of seeds (default: the scenario's).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False),
              help="Folder for result.json and report.html (with plots).")
@click.option("--scheduler", help="Dask scheduler address (tcp://host:8786); default: local processes.")
@click.option("--workers", type=click.IntRange(min=1), help="Local worker processes (default: CPUs).")
@format_option
@input_errors_exit_2
def simulate(scenario_path: str, policies: str | None, seeds: int | None, out_dir: str | None,
             scheduler: str | None, workers: int | None, fmt: str) -> None:
    """Simulate a scenario over weeks of traffic and compare policies with 95% intervals."""
    from solver.report.html import simulation_report, simulation_table
    from solver.sim.scenario import load_scenario
    from solver.sim.simulate import simulate_scenario

    scenario = load_scenario(scenario_path)
    if policies:
        scenario = scenario.with_policies([p.strip() for p in policies.split(",") if p.strip()])
    result = simulate_scenario(scenario, seeds=seeds, scheduler=scheduler, workers=workers,
                               progress=True)
    text = json.dumps(result, indent=1) + "\n"
    if out_dir:
        write_atomic(Path(out_dir) / "result.json", text)
        write_atomic(Path(out_dir) / "report.html", simulation_report(result))
        click.echo(f"wrote {out_dir}/result.json and {out_dir}/report.html", err=True)
    emit(text if fmt == "json" else simulation_table(result), None)


@click.command()
@click.option("--history", "history_path", required=True, type=click.Path(),
              help="Won/lost deals: a CSV (rep_id, outcome, industry, product, closed_at) or the "
                   "CRM sample folder.")
@click.option("--before", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="Learn only from deals closed (CRM: engaged) before this date.")
@click.option("--reps", "reps_path", type=click.Path(dir_okay=False),
              help="Reps file to update with the learned skills (default: new reps).")
@click.option("--prior-strength", type=click.FloatRange(min=0, min_open=True), default=20.0,
              show_default=True, help="Pseudo-deals pulling each rate toward the team mean.")
@click.option("--capacity", type=click.IntRange(min=0), default=20, show_default=True,
              help="Capacity of new reps (without --reps).")
@out_option
@input_errors_exit_2
def learn(history_path: str, before: datetime | None, reps_path: str | None, prior_strength: float,
          capacity: int, out_path: str | None) -> None:
    """Learn each rep's skill multipliers from won and lost deals; write a reps CSV."""
    import numpy as np

    from solver.sim.learn import learn_skills, load_history, reps_csv, skilled_reps

    cutoff = before.date() if before is not None else None
    if Path(history_path).is_dir():
        from solver.sim.crm import load_crm

        data = load_crm(history_path)
        rows = (data.engaged < np.datetime64(cutoff)) if cutoff else np.ones(data.won.size, bool)
        history = data.history(np.flatnonzero(rows))
    else:
        history = load_history(history_path).before(cutoff)
    if history.won.size == 0:
        raise InputError("no deals before the cutoff", file=history_path, field="closed_at")
    skills = learn_skills(history, prior_strength)
    base = load_reps(reps_path) if reps_path else None
    emit(reps_csv(skilled_reps(skills, base, capacity)), out_path)
