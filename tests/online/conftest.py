"""The `store` fixture: each store-level test runs over every `LeadStore` (a further backend is
one more entry here).

PostgreSQL runs at the URL in env LEADSOLVER_TEST_PG (default the local server's `test`
database); each test gets its own schema, dropped afterwards. Where no server answers there,
the PostgreSQL cases are skipped, saying so.
"""

import pytest

from solver.online.memory_store import MemoryStore
from solver.online.sqlite_store import SqliteStore


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "postgresql":
        from tests.pg_server import pg_schema_url

        with pg_schema_url() as url:  # skips, saying why, where there is no server (or no psycopg)
            from solver.online.pg_store import PostgresStore

            s = PostgresStore(url)
            yield s
            s.close()
        return
    s = MemoryStore() if request.param == "memory" else SqliteStore(tmp_path / "ledger.db")
    yield s
    s.close()
