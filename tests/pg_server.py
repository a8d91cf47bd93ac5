"""The PostgreSQL server the tests use: env LEADSOLVER_TEST_PG, by default the local one.

`pg_schema_url` gives each test a schema of its own in that database (a URL whose
search_path is it), dropped afterwards. Where no server answers, the test is
skipped with the reason; CI runs one, so there the PostgreSQL cases run.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import pytest

PG_URL = os.environ.get("LEADSOLVER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def admin_connection():  # -> psycopg.Connection; skips the test where there is no server
    psycopg = pytest.importorskip("psycopg", reason="the postgres extra is not installed")
    try:
        return psycopg.connect(PG_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"no PostgreSQL server answers at LEADSOLVER_TEST_PG={PG_URL} "
                    f"({str(exc).strip().splitlines()[0]})")


def with_search_path(url: str, schema: str) -> str:
    """`url` with its connections' search_path set to `schema`."""
    return f"{url}{'&' if '?' in url else '?'}options={quote(f'-csearch_path={schema}')}"


@contextmanager
def pg_schema_url() -> Iterator[str]:
    """A URL to a fresh, empty schema of the test database, dropped on exit."""
    schema = f"test_{uuid.uuid4().hex[:12]}"
    with admin_connection() as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    try:
        yield with_search_path(PG_URL, schema)
    finally:
        with admin_connection() as admin:  # a new one: a test may have cut connections
            admin.execute(f"DROP SCHEMA {schema} CASCADE")
