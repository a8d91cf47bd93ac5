"""`leadsolver simulate` (quota scenarios) and `leadsolver learn` (skills from history)."""

from __future__ import annotations

import json
import math
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from solver.cli.common import emit, format_option, input_errors_exit_2
from solver.domain.errors import InputError
from solver.domain.io import load_reps, write_atomic

if TYPE_CHECKING:
    from solver.sim.learn import SkillCheck


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
@click.option("--prior-strength", type=click.FloatRange(min=0, min_open=True),
              help="Pseudo-deals pulling each rate toward the team mean; fixes the strength and "
                   "keeps the skills (default: chosen by time-split cross-validation, skills kept "
                   "only if they beat the team average out of sample).")
@click.option("--capacity", type=click.IntRange(min=0), default=20, show_default=True,
              help="Capacity of new reps (without --reps).")
@click.option("--out", "out_path", type=click.Path(dir_okay=False),
              help="Write the reps CSV to this file (--format csv without --out: to stdout).")
@format_option
@input_errors_exit_2
def learn(history_path: str, before: datetime | None, reps_path: str | None,
          prior_strength: float | None, capacity: int, out_path: str | None, fmt: str) -> None:
    """Learn each rep's skill multipliers from won and lost deals, checked out of sample.

    Prints the check (table or json) and writes the reps CSV to --out; skills
    that do not beat the team average out of sample are all 1.0.
    """
    import numpy as np

    from solver.sim.learn import check_skills, learn_skills, load_history, reps_csv, skilled_reps

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
    check = check_skills(history, prior_strength)
    skills = learn_skills(history, check.strength)
    base = load_reps(reps_path) if reps_path else None
    reps = reps_csv(skilled_reps(skills, base, capacity))
    if fmt == "csv":
        emit(reps, out_path)
        return
    if out_path:
        emit(reps, out_path)
    emit(json.dumps(check.to_json(), indent=1) + "\n" if fmt == "json" else check_table(check), None)


def check_table(check: SkillCheck) -> str:
    """The skills check as text: splits, the strength grid, the comparison and the verdict."""
    from solver.sim.learn import RULE

    def num(x: float) -> str:
        return "inf" if math.isinf(x) else f"{x:g}"

    def fig(x: float, digits: int = 4) -> str:
        return "n/a" if math.isnan(x) else f"{x:.{digits}f}"

    split = ("time-split cross-validation (rolling origin on the close date)"
             if check.method == "time-split" else "seeded k-fold cross-validation")
    lines = [f"Skills check: {check.deals:,} deals, {split}, {len(check.folds)} folds."]
    lines += [f"Note: {check.note}."] if check.note else []
    if check.grid:
        lines += ["", "fold  train  test  test deals closed       team log-loss  learned log-loss"]
        for k, f in enumerate(check.folds, start=1):
            dates = f"{f['from']}..{f['to']}" if "from" in f else "(random fold)"
            lines.append(f"{k:>4}  {f['train']:>5}  {f['test']:>4}  {dates:<22}  "
                         f"{f['team_log_loss']:>13.4f}  {f['learned_log_loss']:>16.4f}")
        search = ("fixed by --prior-strength (no search)" if check.fixed
                  else "lowest mean log-loss of the finite strengths")
        lines += ["", "strength  mean log-loss"]
        lines += [f"{num(g['strength']):>8}  {g['log_loss']:13.4f}"
                  + ("  team average" if math.isinf(g["strength"]) else "")
                  + ("  <- learned" if g["strength"] == check.best else "")
                  for g in check.grid]
        a, c = check.auc, check.calibration_slope
        lines += ["", f"Learned strength: {num(check.best)} ({search}).",
                  f"Out-of-sample log-loss: learned {check.learned_log_loss:.4f}, team average "
                  f"{check.team_log_loss:.4f}; team - learned {check.difference:+.5f} "
                  f"(standard error {check.se:.5f}).",
                  f"AUC: learned {fig(a['learned'], 3)}, team average {fig(a['team'], 3)}, "
                  f"multipliers alone {fig(a['multipliers'], 3)}.",
                  f"Calibration slope: learned {fig(c['learned'], 2)}, team average "
                  f"{fig(c['team'], 2)}, multipliers alone {fig(c['multipliers'], 2)} "
                  "(1 = right size, < 1 = too spread).",
                  f"Rule: {RULE}."]
    lines += ["", check.verdict, f"Strength used for the reps: {num(check.strength)}."]
    return "\n".join(lines) + "\n"
