"""`leadsolver experiment report` and `leadsolver experiment stop`: read an experiment off the ledger,
and end it with its winner.

`report` opens the ledger read-only (as `history` does). `stop` records the
decision (winner, who, when, the report's figures) in the ledger; from then on
`run` and `serve` route every lead with the winner's policy, as long as the policy
holds the experiment's section (after, with the policy's own settings).
"""

from __future__ import annotations

import getpass
import json
from datetime import UTC, datetime

import click

from solver.cli.common import (
    LEDGER_HELP,
    check_ledger_exists,
    emit,
    input_errors_exit_2,
    ledger_name,
    out_option,
    refuse_to_overwrite,
)
from solver.domain.accounts import load_accounts
from solver.domain.errors import InputError
from solver.domain.experiment import ARMS
from solver.online.experiment import experiment_runs, record_stop, running
from solver.online.store import LeadStore, StoreError
from solver.online.stores import open_store
from solver.report.experiment import experiment_html, experiment_table
from solver.report.experiment_report import NoExperiment, experiment_report

db_option = click.option("--db", "db_path", required=True, metavar="LEDGER",
                         help=f"The ledger the experiment's leads were routed into: {LEDGER_HELP}.")
name_option = click.option(
    "--name", help="The experiment's name (default: the one running on the ledger; with none running, the "
                   "latest; with several running, give it).")
accounts_option = click.option(
    "--accounts", "accounts_path", type=click.Path(dir_okay=False),
    help="The accounts file the leads were routed with (`run --accounts`): with unit: account, its "
         "parent chains make the clusters, as they made the arms.")


@click.group("experiment")
def experiment() -> None:
    """Measure a routing change on your own leads: report on an experiment, stop it with a winner."""


@experiment.command("report")
@db_option
@name_option
@accounts_option
@click.option("--format", "fmt", type=click.Choice(("table", "json", "html")), default="table",
              show_default=True, help="table (terminal), json (every figure), html (a page with the "
                                      "cumulative lift over time; give --out).")
@out_option
@input_errors_exit_2
def report(db_path: str, name: str | None, accounts_path: str | None, fmt: str, out_path: str | None) -> None:
    """Per arm: leads, time to first touch, conversion, revenue per lead, fairness; the difference
    with its 95% interval (cluster-robust for account and switchback units), the always-valid
    p-value over daily looks, and the resolved leads still needed for the experiment's min_effect.

    Leads without an outcome yet are pending: counted in leads and speed, not as lost.
    """
    refuse_to_overwrite(out_path, ledger=db_path, accounts=accounts_path)
    accounts = load_accounts(accounts_path) if accounts_path else None
    ledger = _open(db_path, read_only=True)
    try:
        figures = experiment_report(ledger, _name(ledger, name, db_path), accounts)
    except (NoExperiment, StoreError) as exc:
        raise InputError(str(exc), file=ledger_name(db_path)) from None
    finally:
        ledger.close()
    if fmt == "json":
        text = json.dumps(figures, indent=2) + "\n"
    elif fmt == "html":
        text = experiment_html(figures)
    else:
        text = experiment_table(figures)
    emit(text, out_path)


@experiment.command("stop")
@db_option
@name_option
@click.option("--winner", required=True, type=click.Choice(ARMS),
              help="The arm whose policy routes every lead from now on.")
@accounts_option
@click.option("--by", "decided_by", help="Who decided (default: the user running the command).")
@input_errors_exit_2
def stop(db_path: str, name: str | None, winner: str, accounts_path: str | None,
         decided_by: str | None) -> None:
    """End the experiment with its winner, recorded in the ledger with the report's figures; the next
    `run` and `serve` (restart it) route every lead with the winner's policy, without arms.

    The winner routes only while the policy still holds this experiment's section: the ledger keeps
    the decision, the policy file keeps the settings. To drop the section, put the winner's settings
    in the policy first (for the challenger: its changes, e.g. solver: round_robin); `run` warns
    when the policy has no section and routes otherwise than the winner."""
    accounts = load_accounts(accounts_path) if accounts_path else None
    ledger = _open(db_path, read_only=False)
    try:
        figures = experiment_report(ledger, _name(ledger, name, db_path), accounts)
        start = {"definition": figures["experiment"], "arms": figures["arms_policy"]}
        kept = {key: figures[key] for key in ("arms", "difference", "sequential", "sample_size", "verdict")}
        summary = record_stop(ledger, start, winner, datetime.now(UTC), decided_by or _user(), kept)
    except (NoExperiment, StoreError, ValueError) as exc:
        raise InputError(str(exc), file=ledger_name(db_path)) from None
    finally:
        ledger.close()
    click.echo(f"stopped experiment {summary['experiment']!r}: {winner} ({summary['policy']}) routes "
               "every lead from the next run (restart a running service) while the policy keeps the "
               "experiment section; to drop the section, put the winner's settings in the policy")


def _open(db_path: str, *, read_only: bool) -> LeadStore:
    check_ledger_exists(db_path)
    try:
        return open_store(db_path, read_only=read_only)
    except StoreError as exc:
        raise InputError(str(exc)) from None


def _name(ledger: LeadStore, name: str | None, db_path: str) -> str | None:
    """The experiment to read or stop: `--name`; without it, the one running on the ledger, or
    with none running None (the latest recorded, `experiment_report`). Several running: which one
    is the user's to say (InputError naming them), not the order their records happened to land in."""
    if name is not None:
        return name
    names = running(experiment_runs(ledger))
    if len(names) > 1:
        raise InputError(f"{len(names)} experiments are running on this ledger "
                         f"({', '.join(map(repr, names))}): give --name to pick one",
                         file=ledger_name(db_path), field="name")
    return names[0] if names else None


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in the environment or the password database
        return "unknown"
