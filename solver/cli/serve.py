"""`leadsolver serve`: the router behind HTTP (see solver.http.app).

This module decides what the process may do before it listens: it resolves
the bearer token (env LEADSOLVER_TOKEN or --token-file), refuses to start
without one unless --insecure-local on a loopback address, loads reps and
policy (bad input: exit 2), opens the ledger and hands everything to uvicorn.
FastAPI and uvicorn are imported only when the command runs, so
`import solver.cli.main` works without the `service` extra.
"""

from __future__ import annotations

import ipaddress
import os
import stat
from pathlib import Path
from typing import Literal

import click

from solver.cli.batch import read_team
from solver.cli.common import (
    LEDGER_HELP,
    UsageFailure,
    accounts_option,
    columns_option,
    input_errors_exit_2,
    ledger_name,
    policy_option,
    reps_option,
    warn_forgotten_winner,
)
from solver.decode.batch import check_solver_fits
from solver.domain.errors import InputError
from solver.domain.io import load_reps
from solver.domain.model import Lead, Policy

TOKEN_ENV = "LEADSOLVER_TOKEN"
MIN_TOKEN_CHARS = 16  # a guessable token is no protection; `openssl rand -hex 32` gives 64


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name other than localhost: may resolve anywhere
        return False


def resolve_token(token_file: str | None, insecure_local: bool, host: str) -> str | None:
    """The token to require, or None (no auth) only for --insecure-local on loopback."""
    if token_file is not None:
        path = Path(token_file)
        try:
            token = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise UsageFailure(f"{token_file}: cannot read token file: {exc.strerror}") from None
        if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            click.echo(f"warning: {token_file} is readable by other users; chmod 600 it", err=True)
    else:
        token = os.environ.get(TOKEN_ENV, "").strip()
    if token:
        if len(token) < MIN_TOKEN_CHARS:
            raise UsageFailure(f"the token has {len(token)} characters; use at least {MIN_TOKEN_CHARS}")
        return token
    if not insecure_local:
        raise UsageFailure(f"no token: set {TOKEN_ENV} or pass --token-file "
                           "(or --insecure-local to serve without one on loopback)")
    if not is_loopback(host):
        raise UsageFailure(f"--insecure-local serves only on loopback, not on {host!r}")
    click.echo("warning: serving WITHOUT authentication (--insecure-local)", err=True)
    return None


def rule_attributes_note(policy: Policy) -> str | None:
    """What the service says at start about the lead attributes its routing rules read: a lead
    without one is blank there (it matches no test on it), so a misspelt field would pass
    unnoticed where `validate` and `run` check it against a file's columns."""
    if not policy.has_routing_rules:
        return None
    read, _ = policy.rule_set.inputs()
    custom = sorted(read - set(Lead.model_fields) - set(policy.rule_set.derived))
    if not custom:
        return None
    return (f"note: the routing rules read the lead attributes {', '.join(custom)}: a lead without one "
            "matches no test on it; check their spelling against the fields your CRM sends")


@click.command()
@reps_option
@policy_option
@columns_option
@accounts_option
@click.option("--db", "db_path", required=True, metavar="PATH|URL",
              help=f"The ledger, {LEDGER_HELP}: every accepted lead is recorded here before it is "
                   "answered. Replicas on one PostgreSQL ledger share its leads: any decides a dead one's.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind; loopback by default. Put TLS in front for anything else.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@click.option("--token-file", type=click.Path(dir_okay=False),
              help=f"File holding the bearer token (else the {TOKEN_ENV} environment variable).")
@click.option("--insecure-local", is_flag=True,
              help="Serve without a token; allowed on a loopback address only.")
@click.option("--max-body-bytes", type=click.IntRange(min=1), default=1_000_000, show_default=True,
              help="Larger request bodies are refused with 413.")
@click.option("--max-connections", type=click.IntRange(min=1), default=512, show_default=True,
              help="Open connections beyond this are answered 503 and closed; those open are served.")
@click.option("--header-timeout", type=click.FloatRange(min=0.01), default=10.0, show_default=True,
              help="Seconds a connection has to send a request's complete headers; else 408 and closed.")
@click.option("--body-timeout", type=click.FloatRange(min=0.01), default=60.0, show_default=True,
              help="Seconds a request has to send its whole body after its headers; else closed.")
@click.option("--keep-alive-timeout", type=click.IntRange(min=1), default=5, show_default=True,
              help="Seconds an idle kept-alive connection stays open between requests.")
@click.option("--durability", type=click.Choice(["power-loss", "process-crash"]), default="power-loss",
              show_default=True,
              help="What an accepted lead survives. power-loss: an fsync per ledger commit (group-committed "
                   "under load); process-crash: no fsync, survives a crash or restart of the service, not "
                   "of the machine (sub-millisecond commits).")
@click.option("--reports", "reports_dir", type=click.Path(file_okay=False),
              help="Folder whose simulation and benchmark reports (report.html, up to 3 levels down) the "
                   "console lists at /ui/reports.")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]), default="info",
              show_default=True)
@input_errors_exit_2
def serve(
    reps_path: str,
    policy_path: str | None,
    columns_path: str | None,
    accounts_path: str | None,
    db_path: str,
    host: str,
    port: int,
    token_file: str | None,
    insecure_local: bool,
    max_body_bytes: int,
    max_connections: int,
    header_timeout: float,
    body_timeout: float,
    keep_alive_timeout: int,
    durability: str,
    reports_dir: str | None,
    log_level: str,
) -> None:
    """Serve the router over HTTP: urgent leads answered at once, normal ones micro-batched.

    Every endpoint but /healthz and /readyz needs `Authorization: Bearer <token>`; the
    console at /ui (in a browser) asks for the same token once and keeps a session cookie.
    """
    token = resolve_token(token_file, insecure_local, host)
    try:
        import uvicorn

        from solver.http.app import create_app
        from solver.http.connections import guarded_protocol
    except ImportError as exc:
        raise UsageFailure(f"serve needs the service extra ({exc.name} is missing): "
                           "pip install 'leadsolver[service]'") from None
    from solver.online.router import Router
    from solver.online.store import StoreError
    from solver.online.stores import open_store

    # read as `run` reads them: the policy's column mapping, a --columns file over it, the accounts
    team = read_team(reps_path, policy_path, columns_path=columns_path, accounts_path=accounts_path)
    reps, policy = team.reps, team.policy
    # a policy its solver cannot run: exit 2 now
    check_solver_fits(policy, [], leads_file="request", policy_file=policy_path)
    note = rule_attributes_note(policy)
    if note:
        click.echo(note, err=True)
    synchronous: Literal["FULL", "NORMAL"] = "FULL" if durability == "power-loss" else "NORMAL"

    # check_same_thread=False: the service solves micro-batches on a thread, under its lock.
    try:
        ledger = open_store(db_path, synchronous=synchronous, check_same_thread=False)
    except StoreError as exc:
        raise InputError(str(exc), file=ledger_name(db_path)) from None
    try:
        # Refuse now, naming the file, what would otherwise fail every write once serving.
        try:
            if not ledger.writable():
                raise InputError("the ledger cannot take writes (read-only, disk full, or damaged)",
                                 file=ledger_name(db_path))
            warn_forgotten_winner(policy, ledger)
            # reloads leads buffered before a restart
            router = Router(reps, policy, ledger, accounts=team.accounts)
        except StoreError as exc:
            raise InputError(str(exc), file=ledger_name(db_path)) from None
        app = create_app(router, token,
                         reload_reps=lambda: load_reps(reps_path, policy=policy, columns=team.columns),
                         max_body_bytes=max_body_bytes,
                         reports_dir=Path(reports_dir) if reports_dir else None)
        # No access log: at hundreds of requests a second it costs latency; /metrics counts them.
        # No limit_concurrency: uvicorn counts idle connections against it, so idle sockets
        # would turn every request into a 503; the protocol caps connections and times them out.
        uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False,
                    http=guarded_protocol(max_connections, header_timeout, body_timeout),
                    timeout_keep_alive=keep_alive_timeout, timeout_graceful_shutdown=10)
    finally:
        ledger.close()
