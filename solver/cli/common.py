"""Pieces shared by the `leadsolver` subcommands: errors to exit 2, options, output."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from solver.domain.errors import InputError
from solver.domain.io import InputWarning, write_atomic
from solver.domain.model import Policy
from solver.online.pg_open import redacted
from solver.online.store import LeadStore, StoreError
from solver.online.stores import sqlite_path

F = TypeVar("F", bound=Callable[..., Any])
FORMATS = ("table", "json", "csv")


class UsageFailure(click.ClickException):
    """Bad input: one line on stderr, exit code 2."""

    exit_code = 2

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.message}", err=True)


def show_warning(message: Warning | str, category: type[Warning], *args: Any, **kwargs: Any) -> None:
    if issubclass(category, InputWarning):
        click.echo(f"warning: {message}", err=True)
    else:
        click.echo(f"warning: {category.__name__}: {message}", err=True)


def input_errors_exit_2(fn: F) -> F:
    """Turn InputError into a one-line message and exit code 2."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except InputError as exc:
            raise UsageFailure(str(exc)) from None

    return wrapper  # type: ignore[return-value]


reps_option = click.option("--reps", "reps_path", required=True, type=click.Path(dir_okay=False),
                           help="Reps file (.csv, .json, .yaml).")
leads_option = click.option("--leads", "leads_path", required=True, type=click.Path(dir_okay=False),
                            help="Leads file (.csv, .json, .yaml).")
policy_option = click.option("--policy", "policy_path", type=click.Path(dir_okay=False),
                             help="Policy file (.yaml or .json); defaults apply when omitted.")
columns_option = click.option(
    "--columns", "columns_path", type=click.Path(dir_okay=False),
    help="Column mapping file (YAML/JSON: preset: salesforce | hubspot, leads: {field: column, or "
         "[column, ...]: the first not blank on each record}, reps: {...}, aliases: {field: {value: "
         "label}}); over the policy's columns: section.")
accounts_option = click.option(
    "--accounts", "accounts_path", type=click.Path(dir_okay=False),
    help="Accounts file (.csv, .json, .yaml): account_id, name, owner_id, parent_account_id, "
         "named, named_rep_id, named_team_id.")


LEDGER_HELP = ("a SQLite file (a path, or sqlite:///PATH) or a PostgreSQL database "
               "(postgresql://USER@HOST:PORT/DBNAME, which several service replicas and the job may share)")


def ledger_name(location: str) -> str:
    """A `--db` value as messages name it: a URL's password masked."""
    return redacted(location)


def check_ledger_exists(location: str, field: str | None = None) -> None:
    """For commands that read a ledger: a SQLite file must be there (a database is checked when
    opened: no ledger tables is a store error). InputError (exit 2) if not, or not a location;
    `field` names the option when it is not --db."""
    try:
        path = sqlite_path(location)
    except StoreError as exc:
        raise InputError(str(exc), field=field) from None
    if path is not None and not Path(path).is_file():
        raise InputError("no ledger at this path", file=location, field=field)


def input_options(fn: F) -> F:
    """The input files every routing command reads: reps, leads, policy, column mapping, accounts."""
    for option in reversed((reps_option, leads_option, policy_option, columns_option, accounts_option)):
        fn = option(fn)
    return fn


format_option = click.option("--format", "fmt", type=click.Choice(FORMATS), default="table",
                             show_default=True, help="Output format.")
out_option = click.option("--out", "out_path", type=click.Path(dir_okay=False),
                          help="Write the output to this file instead of stdout.")


def refuse_to_overwrite(out_path: str | None, *, ledger: str | None = None, option: str = "--out",
                        **inputs: str | None) -> None:
    """InputError (exit 2, before anything is read or written) when `out_path` is the ledger or
    one of the command's input files (`inputs`: option name -> path): the output would replace
    them, and a ledger written over by a report is lost with every decision in it."""
    if not out_path:
        return
    try:
        named = {"ledger": sqlite_path(ledger) if ledger else None}
    except StoreError:  # not a ledger location: said when the ledger is opened
        named = {}
    named.update({f"--{name.replace('_', '-')} file": path for name, path in inputs.items()})
    for what, path in named.items():
        if path and _same_file(out_path, path):
            raise InputError(f"{option} {out_path} is the {what}: writing there would replace it; "
                             "give another file", field=option.lstrip("-"))


def _same_file(a: str, b: str) -> bool:
    """Whether two paths name one file (through links and relative paths alike)."""
    try:
        if Path(a).exists() and Path(b).exists():
            return Path(a).samefile(b)
        return Path(a).resolve() == Path(b).resolve()  # a ledger `run` is about to create
    except OSError:
        return False


def emit(text: str, out_path: str | None) -> None:
    if out_path:
        write_atomic(out_path, text)
        click.echo(f"wrote {out_path}", err=True)
    else:
        click.echo(text, nl=not text.endswith("\n"))


now_option = click.option(
    "--now", "now_text", metavar="ISO-TIME",
    help="Decide as of this time (ISO 8601 with offset) instead of the clock's: who is on shift "
         "(working hours, time zones, leave) and, with a ledger, the caps' days and the SLA clocks "
         "count from it. For tests and replays.")


def parse_now(text: str | None) -> datetime:
    """`--now` as a time (ISO 8601 with its offset; `Z` is UTC), or the clock's time without it."""
    if text is None:
        return datetime.now(UTC)
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"{text!r} is not an ISO 8601 time (e.g. 2026-03-02T09:00:00+00:00)",
                         field="now") from None
    if at.tzinfo is None:
        raise InputError(f"{text!r} has no time zone offset (add +00:00 or Z)", field="now")
    return at


def warn_forgotten_winner(policy: Policy, ledger: LeadStore) -> None:
    """Say on stderr when the policy no longer holds a stopped experiment's section and routes
    otherwise than its winner (`run` and `serve` both open a ledger with a policy)."""
    from solver.online.experiment import forgotten_winner

    if (note := forgotten_winner(policy, ledger)) is not None:
        click.echo(f"warning: {note}", err=True)
