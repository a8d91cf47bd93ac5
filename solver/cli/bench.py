"""`leadsolver bench SUITE`: the same instances through every policy, recorded and reported.

Every suite shares the options below and writes results.json, results.csv,
summary.md and report.html to `--out` (default
benchmarks/results/SUITE-YYYYMMDD-HHMM under the current directory). stdout
gets the headline table, or the JSON / CSV with `--format`; progress goes to
stderr. A broken hard rule, or flow off the LP optimum, exits 1 after the
reports are written: the reports show what went wrong. `bench gap` has options
of its own and one `--out` file, which never replaces an instance or the
best-known table.
"""

from __future__ import annotations

import functools
import shlex
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from solver.bench import gap, harness
from solver.bench.options import TimeLimit
from solver.bench.report import POLICY_COLUMNS, cells, headings, to_csv, to_json, write_report
from solver.bench.synthetic import synthetic_grid
from solver.cli.common import format_option, input_errors_exit_2, refuse_to_overwrite
from solver.domain.errors import InputError
from solver.domain.io import write_atomic
from solver.policies import policy_names
from solver.report.tables import format_rows

_OPTIONS = (
    click.option("--policies", "policies_text", default="", metavar="A,B",
                 help="Comma-separated policies; NAME@W runs NAME with fairness weight W "
                      "(default: every registered policy and flow@1)."),
    click.option("--seeds", type=click.IntRange(min=1), default=3, show_default=True,
                 help="Seeds per instance (0..N-1)."),
    click.option("--time-limit", "time_limit_s",
                 type=TimeLimit(), default=10.0,
                 show_default=True, help="Time limit per solve in seconds (cpsat, naive CP-SAT)."),
    click.option("--repeats", type=click.IntRange(min=1), default=3, show_default=True,
                 help="Solves per policy and cell, for the time percentiles."),
    click.option("--out", "out_dir", type=click.Path(file_okay=False),
                 help="Directory for the reports (default benchmarks/results/SUITE-DATE)."),
    format_option,
    click.option("--scheduler", metavar="ADDRESS", help="Dask scheduler address (default: local)."),
    click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
                 help="Local worker processes; 1 keeps timings clean on a shared machine."),
    click.option("--quick", is_flag=True, help="A small subset: smoke runs and CI."),
)


def suite_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The options every suite takes, and the bad-input-to-exit-2 wrapper."""
    wrapped = input_errors_exit_2(fn)
    for option in reversed(_OPTIONS):
        wrapped = option(wrapped)
    return functools.wraps(fn)(wrapped)


def parse_policies(text: str) -> tuple[str, ...]:
    """`a,b` -> ('a', 'b'), each a registered policy, optionally `NAME@W` (fairness weight W)."""
    known = harness.default_policies()
    if not text.strip():
        return known
    names = tuple(p.strip() for p in text.split(",") if p.strip())
    for label in names:
        name, _, weight = label.partition("@")
        if name not in policy_names():
            raise InputError(f"unknown policy {name!r}; expected one of {', '.join(policy_names())}",
                             field="--policies")
        try:
            if weight and float(weight) < 0:
                raise ValueError
        except ValueError:
            raise InputError(f"fairness weight in {label!r} must be a number >= 0",
                             field="--policies") from None
    return names


def default_out(suite: str, quick: bool) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    return Path("benchmarks") / "results" / f"{suite}{'-quick' if quick else ''}-{stamp}"


def finish(report: dict[str, Any], out_dir: str | None, fmt: str, quick: bool) -> None:
    """Write the reports, print the chosen format, and fail (exit 1) on a broken rule or LP gap."""
    suite = report["record"]["suite"]
    paths = write_report(report, out_dir or default_out(suite, quick))
    if fmt == "json":
        click.echo(to_json(report), nl=False)
    elif fmt == "csv":
        click.echo(to_csv(report["rows"]), nl=False)
    else:
        table = format_rows(headings(POLICY_COLUMNS), [cells(r, POLICY_COLUMNS) for r in report["by_policy"]])
        click.echo(table)
        if report.get("notes"):
            click.echo("\n" + report["notes"])
    click.echo(f"wrote {', '.join(str(p) for p in paths)}", err=True)
    problems = report.get("failures", [])
    for problem in problems:
        click.echo(f"FAIL: {problem}", err=True)
    if problems:
        sys.exit(1)


def record(suite: str, **settings: Any) -> dict[str, Any]:
    command = "leadsolver " + shlex.join(sys.argv[1:]) if sys.argv else "leadsolver bench"
    return harness.run_record(suite, command, settings)


@click.group("bench")
def bench() -> None:
    """Benchmark suites: synthetic, gap, crm, online. See benchmarks/README.md for the protocol."""


@bench.command("synthetic")
@suite_options
def synthetic(policies_text: str, seeds: int, time_limit_s: float, repeats: int, out_dir: str | None,
              fmt: str, scheduler: str | None, workers: int, quick: bool) -> None:
    """Generated instances: sizes 100x10 to 10,000x1,000, tightness, density, skill spread."""
    policies = parse_policies(policies_text)
    specs = synthetic_grid(quick)
    cells_ = [harness.Cell("synthetic", spec, seed, policies, time_limit_s, repeats)
              for spec in specs for seed in range(seeds)]
    result = harness.run_grid(cells_, scheduler=scheduler, workers=workers)
    report = harness.build_report(
        record("synthetic", policies=policies, seeds=seeds, time_limit_s=time_limit_s, repeats=repeats,
               workers=workers, quick=quick, instances=[s.name for s in specs]),
        result,
    )
    report["failures"] = harness.failures(result["rows"])
    finish(report, out_dir, fmt, quick)


@bench.command("crm")
@click.option("--scenario", "scenario_path", type=click.Path(dir_okay=False),
              help="CRM replay scenario (default: scenarios/crm_replay.yaml of the repository).")
@suite_options
def crm(scenario_path: str | None, policies_text: str, seeds: int, time_limit_s: float, repeats: int,
        out_dir: str | None, fmt: str, scheduler: str | None, workers: int, quick: bool) -> None:
    """The CRM replay cut into two-week batches, at a tight and a loose per-rep capacity."""
    from solver.bench.crm import crm_windows

    policies = parse_policies(policies_text)
    windows = crm_windows(scenario_path, quick)
    cells_ = [harness.Cell("crm", w, seed, policies, time_limit_s, repeats)
              for w in windows for seed in range(seeds)]
    result = harness.run_grid(cells_, scheduler=scheduler, workers=workers)
    report = harness.build_report(
        record("crm", policies=policies, seeds=seeds, time_limit_s=time_limit_s, repeats=repeats,
               workers=workers, quick=quick, instances=[w.name for w in windows],
               scenario=windows[0].scenario_path),
        result,
    )
    report["failures"] = harness.failures(result["rows"])
    finish(report, out_dir, fmt, quick)


@bench.command("online")
@suite_options
def online(policies_text: str, seeds: int, time_limit_s: float, repeats: int, out_dir: str | None,
           fmt: str, scheduler: str | None, workers: int, quick: bool) -> None:
    """Random-order streams through the Router: fast path and micro-batches vs the offline optimum.

    The modes are fixed (fast path, batches of several sizes, all solved by
    flow); --policies, --time-limit and --repeats do not apply.
    """
    from solver.bench.online import batch_sizes, online_grid, run_online, theory_table

    result = run_online(quick, seeds, scheduler=scheduler, workers=workers)
    report = harness.build_report(
        record("online", seeds=seeds, workers=workers, quick=quick, batch_sizes=batch_sizes(quick),
               instances=[s.name for s in online_grid(quick)], order="random permutation per seed"),
        result,
    )
    report["notes"] = (
        "Share of the offline optimum (flow on the whole stream) reached online, next to the "
        "worst-case theory (Feng and Niazadeh, 2025): 1-1/e one by one, 1-(1-1/K)^K with K batches.\n\n"
        + theory_table(result["rows"])
    )
    report["failures"] = harness.failures(result["rows"])
    finish(report, out_dir, fmt, quick)


@bench.command("gap")
@click.option("--instances", "instances", multiple=True, type=click.Path(dir_okay=False),
              help="GAP files (OR-Library or single); repeatable. Default: all of "
                   f"shared/data/gap/single plus orlib gap1-12 (or ${gap.ENV_DATA}).")
@click.option("--time-limit", "time_limit_s", type=TimeLimit(), default=10.0, show_default=True,
              help="Seconds per problem.")
@click.option("--workers", type=click.IntRange(min=1), default=2, show_default=True,
              help="CP-SAT workers / LNS threads. A small batch races CP-SAT against LNS, one "
                   "thread each even at 1, so its CPU time can be twice the wall time.")
@click.option("--naive/--no-naive", default=True, show_default=True,
              help="Also solve each problem with the naive CP-SAT model, same run.")
@click.option("--best-known", type=click.Path(dir_okay=False),
              help="best_known.csv (default: the one in the data folder).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@click.option("--out", "out", type=click.Path(dir_okay=False),
              help="Also write the output here, after every problem (never over an input file).")
@input_errors_exit_2
def gap_command(instances: tuple[str, ...], time_limit_s: float, workers: int, naive: bool,
                best_known: str | None, fmt: str, out: str | None) -> None:
    """GAP suite: cpsat vs best known (and the naive CP-SAT model) per instance."""
    start = time.perf_counter()
    command = " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])
    paths = [Path(p) for p in instances] or gap.default_instances()
    for path in paths:  # the files given, or every file of the data folder
        refuse_to_overwrite(out, instances=str(path))
    refuse_to_overwrite(out, best_known=str(gap.best_known_path(best_known)))

    def render(result: dict[str, Any]) -> str:
        result["meta"]["command"] = command
        return gap.render_json(result) if fmt == "json" else gap.render_table(result)

    def save(result: dict[str, Any]) -> None:
        if out:
            write_out(out, render(result) + "\n")

    result = gap.run_gap(paths, time_limit_s, workers, naive, best_known, progress=True, on_row=save)
    save(result)
    click.echo(render(result))
    click.echo(f"{len(result['rows'])} problems in {time.perf_counter() - start:.0f} s", err=True)


def write_out(path: str, text: str) -> None:
    """`text` to `path`, whole or not at all; a path that cannot be written is an InputError (exit 2)."""
    try:
        write_atomic(path, text)
    except OSError as exc:  # e.g. a folder that cannot be made, or a file where a folder should be
        cause = exc.strerror or str(exc)
        if exc.filename and str(exc.filename) != path:
            cause = f"{exc.filename}: {cause}"
        raise InputError(f"cannot write the results ({cause})", file=path, field="out") from None
