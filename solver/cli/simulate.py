"""`leadsolver simulate` (quota scenarios) and `leadsolver learn` (skills; speed to lead)."""

from __future__ import annotations

import json
import math
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click
import yaml

from solver.cli.common import (
    check_ledger_exists,
    emit,
    format_option,
    input_errors_exit_2,
    ledger_name,
    refuse_to_overwrite,
)
from solver.domain.errors import InputError
from solver.domain.io import json_text, load_policy, load_reps, write_atomic
from solver.domain.model import Rep

if TYPE_CHECKING:
    from solver.sim.learn import SkillCheck
    from solver.sim.response_learn import DecayFit, LearnedResponse


@click.command()
@click.argument("scenario_path", metavar="SCENARIO", type=click.Path(dir_okay=False))
@click.option("--policies", help="Comma-separated policies to compare (default: the scenario's).")
@click.option("--seeds", type=click.IntRange(min=1), help="Number of seeds (default: the scenario's).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False),
              help="Folder for result.json and report.html (with plots).")
@click.option("--scheduler", help="Dask scheduler address (tcp://host:8786); default: local processes.")
@click.option("--workers", type=click.IntRange(min=1), help="Local worker processes (default: CPUs).")
@click.option("--format", "fmt", type=click.Choice(("table", "json")), default="table", show_default=True,
              help="Output format: the comparison tables, or every figure as JSON (result.json's).")
@input_errors_exit_2
def simulate(scenario_path: str, policies: str | None, seeds: int | None, out_dir: str | None,
             scheduler: str | None, workers: int | None, fmt: str) -> None:
    """Simulate a scenario over weeks of traffic and compare policies with 95% intervals, and each of
    the scenario's variants (a what-if team change) with its base, policy by policy, paired by seed."""
    from solver.report.html import simulation_table
    from solver.report.simulation import simulation_report
    from solver.sim.scenario import load_scenario, variant_names, variant_of
    from solver.sim.simulate import simulate_scenario
    from solver.sim.stream import team_reps

    scenario = load_scenario(scenario_path)
    if policies:
        scenario = scenario.with_policies([p.strip() for p in policies.split(",") if p.strip()])
    for name in variant_names(scenario):  # each team's sources read (a CRM folder, its cutoff)
        team_reps(variant_of(scenario, name))  # before any run: an error is one line, no bar
    result = simulate_scenario(scenario, seeds=seeds, scheduler=scheduler, workers=workers,
                               progress=True)
    text = json_text(result)
    if out_dir:
        write_atomic(Path(out_dir) / "result.json", text)
        write_atomic(Path(out_dir) / "report.html", simulation_report(result))
        click.echo(f"wrote {out_dir}/result.json and {out_dir}/report.html", err=True)
    emit(text if fmt == "json" else simulation_table(result), None)


@click.command()
@click.option("--history", "history_path", type=click.Path(),
              help="Won/lost deals: a CSV (rep_id, outcome, industry, product, closed_at) or the "
                   "CRM sample folder: learns skills.")
@click.option("--ledger", "ledger_path", metavar="PATH|URL",
              help="The router's ledger (`leadsolver run --db`: a SQLite file or a PostgreSQL URL): "
                   "learns each rep's "
                   "response_minutes and handling_minutes from its touches, and checks the speed "
                   "section's decay against won/lost outcomes (needs --reps).")
@click.option("--before", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="Learn skills only from deals closed (CRM: engaged) before this date "
                   "(--history; the ledger is read whole).")
@click.option("--reps", "reps_path", type=click.Path(dir_okay=False),
              help="Reps file to update with what is learned (with --history alone, default: new "
                   "reps; required with --ledger: every rep the ledger names must be in it).")
@click.option("--policy", "policy_path", type=click.Path(dir_okay=False),
              help="Policy file whose speed section gives the minutes of a team without history "
                   "(--ledger; default: the built-in speed section).")
@click.option("--prior-strength", type=click.FloatRange(min=0, min_open=True),
              help="Pseudo-deals pulling each rate toward the team mean; fixes the strength and "
                   "keeps the skills (default: chosen by time-split cross-validation, skills kept "
                   "only if they beat the team average out of sample).")
@click.option("--capacity", type=click.IntRange(min=0), default=20, show_default=True,
              help="Capacity of new reps (--history without --reps).")
@click.option("--out", "out_path", type=click.Path(dir_okay=False),
              help="Write the reps CSV to this file (--format csv without --out: to stdout).")
@click.option("--policy-out", "policy_out", type=click.Path(dir_okay=False),
              help="Write the policy (--policy, or the defaults) with the decay fitted from the "
                   "ledger in its speed section, as YAML (--ledger; unchanged when the outcomes do "
                   "not support a fit).")
@format_option
@input_errors_exit_2
def learn(history_path: str | None, ledger_path: str | None, before: datetime | None,
          reps_path: str | None, policy_path: str | None, prior_strength: float | None, capacity: int,
          out_path: str | None, policy_out: str | None, fmt: str) -> None:
    """Learn reps' skills from won and lost deals (--history) and their speed to lead from the
    router's ledger (--ledger): one, the other, or both.

    Prints what was learned (table or json) and writes the reps CSV to --out.
    Skills that do not beat the team average out of sample are all 1.0. From
    the ledger: each rep's response minutes (assignment to first touch with
    nothing queued) and handling minutes (per untouched lead ahead), shrunk
    toward the team's, and the decay's half-life and floor fitted to outcomes
    (printed, and written into the policy with --policy-out).
    """
    if history_path is None and ledger_path is None:
        raise click.UsageError("give --history (skills from won and lost deals), --ledger (speed to "
                               "lead from the router's ledger), or both")
    if ledger_path is not None and reps_path is None:
        raise click.UsageError("--ledger needs --reps: the reps whose minutes are learned")
    if policy_out is not None and ledger_path is None:
        raise click.UsageError("--policy-out needs --ledger: the decay is fitted to its outcomes")
    # the reps file may be updated in place (--reps reps.csv --out reps.csv); the sources may not
    refuse_to_overwrite(out_path, ledger=ledger_path, history=history_path, policy=policy_path)
    refuse_to_overwrite(policy_out, option="--policy-out", ledger=ledger_path, history=history_path,
                        reps=reps_path)
    from solver.sim.learn import reps_csv, skilled_reps

    reps = load_reps(reps_path) if reps_path else None
    check = None
    if history_path is not None:
        check, skills, agents = _learn_skills(history_path, before, prior_strength)
        if reps is not None and not agents & {r.id for r in reps}:
            shown = ", ".join(repr(a) for a in sorted(agents)[:3])
            raise InputError(f"no rep of this file worked a deal of the history {history_path} "
                             f"({len(agents)} reps there, e.g. {shown}): the skills learned would reach "
                             "no rep; give the reps file whose ids the history uses",
                             file=reps_path, field="id")
        reps = skilled_reps(skills, reps, capacity)
    assert reps is not None
    if ledger_path is None:
        assert check is not None
        text = reps_csv(reps)
        report = json.dumps(check.to_json(), indent=1) + "\n" if fmt == "json" else check_table(check)
    else:
        from solver.sim.response_learn import reps_file_csv

        learned, fit = _learn_speed(ledger_path, reps, reps_path or "", policy_path)
        text = reps_file_csv(learned.apply(reps))
        if policy_out is not None:
            policy = load_policy(policy_path)
            fitted = policy.model_copy(update={"speed": fit.speed(policy.speed)})
            write_atomic(policy_out, yaml.safe_dump(fitted.model_dump(mode="json", exclude_defaults=True),
                                                    sort_keys=False))
        if fmt == "json":
            report = json.dumps({"skills": check.to_json() if check else None, "response": learned.to_json(),
                                 "decay": fit.to_json()}, indent=1) + "\n"
        else:
            head = check_table(check) + "\n" if check else ""
            report = head + speed_table(ledger_path, learned, fit, reps)
    if fmt == "csv":
        emit(text, out_path)
        return
    if out_path:
        emit(text, out_path)
    emit(report, None)


def _learn_skills(history_path: str, before: datetime | None, prior_strength: float | None
                  ) -> tuple[SkillCheck, dict[str, dict[str, float]], set[str]]:
    """The skills check, the skills learned from a deals CSV or the CRM sample folder, and the
    reps who worked its deals."""
    import numpy as np

    from solver.sim.learn import check_skills, learn_skills, load_history

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
    return check, learn_skills(history, check.strength), {str(r) for r in history.rep_id}


def _learn_speed(ledger_path: str, reps: list[Rep], reps_path: str, policy_path: str | None
                 ) -> tuple[LearnedResponse, DecayFit]:
    """Response and handling minutes per rep and the decay fit, from the ledger (read only)."""
    from solver.online.store import StoreError
    from solver.online.stores import open_store
    from solver.sim.response_learn import fit_decay, learn_response, outcome_table

    speed = load_policy(policy_path).speed
    check_ledger_exists(ledger_path, field="--ledger")  # a file, or a PostgreSQL URL
    try:
        ledger = open_store(ledger_path, read_only=True)
        try:
            events, leads = ledger.history(), ledger.leads()
            # each outcome's lead score, so the fit does not read better leads' wins as speed
            def score_of(lead_id: str) -> float:
                lead = ledger.record(lead_id)
                return 1.0 if lead is None else lead.score

            minutes, won, score = outcome_table(leads, events, score_of)
        finally:
            ledger.close()
    except StoreError as exc:  # not a ledger, unreadable: the store's message names the cause
        raise InputError(str(exc).replace(ledger_path, "the file"), file=ledger_name(ledger_path),
                         field="--ledger") from None
    learned = learn_response(events, reps, speed)
    unknown = learned.unknown(reps)
    if unknown:
        more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
        shown = ", ".join(repr(r) for r in unknown[:5]) + more
        raise InputError(f"rep id(s) {shown} of the ledger are not in the reps file {reps_path}",
                         file=ledger_name(ledger_path), field="rep_id")
    return learned, fit_decay(minutes, won, score, policy=speed)


def speed_table(ledger_path: str, learned: LearnedResponse, fit: DecayFit, reps: list[Rep]) -> str:
    """What the ledger taught, as text: per rep and team minutes (raw and shrunk), the decay fit."""

    def raw(x: float | None) -> str:
        return "-" if x is None else f"{x:g}"

    k = learned.prior_observations
    source = ledger_name(ledger_path)
    lines = [f"Speed to lead from {source}: {learned.touches:,} touches; each rep's median minutes "
             f"shrunk toward the team's with {k:g} pseudo-observations (in each rep's working "
             f"minutes: wall-clock for a rep without working hours).", "",
             f"{'rep':<16} {'response n':>10} {'raw':>8} {'learned':>8}   {'handling n':>10} {'raw':>8} "
             f"{'learned':>8}"]
    for rep in reps:
        s = learned.reps[rep.id]
        lines.append(f"{rep.id:<16} {s.response_n:>10} {raw(s.response_raw):>8} {s.response_minutes:>8g}   "
                     f"{s.handling_n:>10} {raw(s.handling_raw):>8} {s.handling_minutes:>8g}")
    lines += [f"{'team':<16} {learned.team_response_n:>10} {'':>8} {learned.team_response_minutes:>8g}   "
              f"{learned.team_handling_n:>10} {'':>8} {learned.team_handling_minutes:>8g}",
              f"(a team without history gets the policy's {learned.default_response_minutes:g} and "
              f"{learned.default_handling_minutes:g} minutes)", ""]
    if fit.half_life_minutes is None:
        lines.append(f"Decay: {fit.note}.")
    else:
        lines.append(f"Decay: half-life {fit.half_life_minutes:g} minutes, floor {fit.floor:g}, win rate "
                     f"touched at once {fit.base_rate:g} ({fit.leads:,} leads, {fit.wins:,} won); "
                     f"log-likelihood gain {fit.gain:.2f} over a flat curve: {fit.note}.")
    return "\n".join(lines) + "\n"


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
