"""`leadsolver db`: the ledger's schema and moving a ledger to another backend.

`db upgrade` applies the pending schema migrations of a SQLite or PostgreSQL
ledger (the ones `run` and `serve` apply when they open it) and says from
which version to which: run it before rolling out replicas of a new version.
`db copy` moves an existing SQLite ledger into a new PostgreSQL one. Ledger
failures (unreachable server, bad URL, a newer schema, a non-empty target)
exit 2 with one line naming the cause.
"""

from __future__ import annotations

import click

from solver.cli.common import LEDGER_HELP, input_errors_exit_2, ledger_name
from solver.domain.errors import InputError
from solver.online.store import StoreError
from solver.online.stores import open_store, sqlite_path, upgrade_store


@click.group()
def db() -> None:
    """The ledger's schema (upgrade) and moving a SQLite ledger to PostgreSQL (copy)."""


@db.command("upgrade")
@click.option("--db", "db_path", required=True, metavar="PATH|URL", help=f"The ledger: {LEDGER_HELP}.")
@click.option("--lock-timeout", type=click.FloatRange(min=0), default=600.0, show_default=True,
              help="Seconds to wait for a run or replica holding the ledger's lock.")
@input_errors_exit_2
def upgrade(db_path: str, lock_timeout: float) -> None:
    """Apply the ledger's pending schema migrations (create a new one); print from/to versions."""
    try:
        before, after = upgrade_store(db_path, timeout_s=lock_timeout)
    except StoreError as exc:
        raise InputError(str(exc)) from None
    if before == after:
        click.echo(f"{ledger_name(db_path)}: schema version {after}, up to date")
    else:
        start = "no ledger" if before is None else f"schema version {before}"
        click.echo(f"{ledger_name(db_path)}: {start} -> schema version {after}")


@db.command("copy")
@click.option("--from", "source", required=True, metavar="PATH",
              help="The SQLite ledger to copy (a path or sqlite:///PATH); read only.")
@click.option("--to", "target", required=True, metavar="URL",
              help="The PostgreSQL ledger to fill (postgresql://...): created if need be, and empty.")
@input_errors_exit_2
def copy(source: str, target: str) -> None:
    """Copy a SQLite ledger (runs, leads, events, rotations, rep changes) into a new PostgreSQL
    ledger, ids kept."""
    try:
        path = sqlite_path(source)
    except StoreError:  # another scheme
        path = None
    if path is None:
        raise InputError("--from takes a SQLite ledger (a path or sqlite:///PATH)", field="--from")
    if sqlite_path(target) is not None:
        raise InputError("--to takes a PostgreSQL URL (postgresql://USER@HOST:PORT/DBNAME)", field="--to")
    try:
        from solver.online.pg_copy import copy_sqlite_to_pg

        store = open_store(target)
        try:
            copied = copy_sqlite_to_pg(path, store)  # type: ignore[arg-type]
        finally:
            store.close()
    except StoreError as exc:
        raise InputError(str(exc)) from None
    click.echo(f"copied {copied.summary()} from {path} to {ledger_name(target)}")
