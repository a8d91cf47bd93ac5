"""Connecting to a PostgreSQL ledger by URL, and psycopg's errors as the store errors callers catch.

The URL is libpq's (``postgresql://user:password@host:port/dbname?options=...``);
``postgres://`` is taken too. The ledger's tables live in the connection's
schema (its ``search_path``: ``public`` unless the URL's ``options`` say
``-csearch_path=NAME``), so one database can hold several ledgers, one per
schema. Messages name the URL with its password masked.

psycopg (3) is an optional extra (``pip install 'leadsolver[postgres]'``),
imported only when a PostgreSQL URL is opened.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal, ParamSpec, TypeVar
from urllib.parse import urlsplit, urlunsplit

from solver.online.store import (
    StoreBusy,
    StoreError,
    StoreFull,
    StoreReadOnly,
    StoreUnavailable,
)

if TYPE_CHECKING:
    import psycopg

P = ParamSpec("P")
T = TypeVar("T")

SCHEMES = ("postgresql://", "postgres://")
# Seconds to wait for the server to answer a connection: an unreachable host fails fast.
CONNECT_TIMEOUT_S = 5


def is_postgres_url(location: str) -> bool:
    """Whether `location` names a PostgreSQL database (and not a SQLite file)."""
    return location.startswith(SCHEMES)


def redacted(url: str) -> str:
    """The URL with its password masked, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def connect(url: str, *, read_only: bool, timeout_s: float,
            synchronous: Literal["FULL", "NORMAL"]) -> psycopg.Connection:
    """An autocommit connection to the ledger's database (the store issues BEGIN/COMMIT itself).

    Times come back in UTC. `timeout_s` bounds every wait for a lock (another
    writer's transaction); NORMAL turns ``synchronous_commit`` off (a commit
    survives a crash of this process, which is not the database's, but not
    one of the server: its last fraction of a second may be lost).
    """
    import psycopg

    if synchronous not in ("FULL", "NORMAL"):
        raise ValueError(f"synchronous must be FULL or NORMAL, not {synchronous!r}")
    try:
        db = psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)
    except psycopg.Error as exc:
        raise StoreUnavailable(f"cannot connect to the ledger database {redacted(url)} "
                               f"({_first_line(exc)})") from None
    except Exception as exc:  # a URL libpq cannot parse: its ValueError/ProgrammingError
        raise StoreUnavailable(f"not a PostgreSQL URL: {redacted(url)} ({_first_line(exc)})") from None
    try:
        db.execute("SET TIME ZONE 'UTC'")
        db.execute(f"SET lock_timeout = {max(1, int(timeout_s * 1000))}")
        db.execute(f"SET synchronous_commit = {'on' if synchronous == 'FULL' else 'off'}")
        if read_only:
            db.execute("SET default_transaction_read_only = on")
    except psycopg.Error as exc:
        db.close()
        raise store_error(exc, url, timeout_s) from None
    return db


def store_error(exc: Exception, url: str, timeout_s: float) -> StoreError:
    """psycopg's error as the store error callers catch, naming its cause and the database."""
    from psycopg import errors

    where = redacted(url)
    if isinstance(exc, errors.LockNotAvailable | errors.QueryCanceled | errors.DeadlockDetected):
        return StoreBusy(f"another run holds the ledger {where} locked: waited {timeout_s:g} s for it "
                         f"to finish ({_first_line(exc)}); try again when it is done, or raise "
                         "--lock-timeout")
    if isinstance(exc, errors.ReadOnlySqlTransaction | errors.InsufficientPrivilege):
        return StoreReadOnly(f"the ledger {where} is read-only ({_first_line(exc)}): nothing was written")
    if isinstance(exc, errors.DiskFull | errors.OutOfMemory | errors.ProgramLimitExceeded):
        return StoreFull(f"the database holding the ledger {where} is full ({_first_line(exc)}): "
                         "nothing of this write was kept")
    if isinstance(exc, errors.UndefinedTable):
        return StoreUnavailable(f"{where} holds no ledger tables ({_first_line(exc)}); "
                                "`leadsolver db upgrade --db URL` creates them")
    if isinstance(exc, errors.OperationalError):  # the connection was lost, the server shut down
        return StoreUnavailable(f"lost the ledger database {where} ({_first_line(exc)})")
    return StoreUnavailable(f"{where} is not a usable ledger ({_first_line(exc)})")


def mapped(method: Callable[P, T]) -> Callable[P, T]:
    """A store method whose psycopg errors leave as store errors (`args[0]` is the store)."""
    import psycopg

    @functools.wraps(method)
    def call(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return method(*args, **kwargs)
        except psycopg.Error as exc:
            store = args[0]
            raise store_error(exc, store.url, store.timeout_s) from exc  # type: ignore[attr-defined]

    return call


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
