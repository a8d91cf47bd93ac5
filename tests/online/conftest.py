"""The `store` fixture: each store-level test runs over every `LeadStore` (a further backend is
one more entry here)."""

import pytest

from solver.online.memory_store import MemoryStore
from solver.online.sqlite_store import SqliteStore


@pytest.fixture(params=["memory", "sqlite"])
def store(request, tmp_path):
    s = MemoryStore() if request.param == "memory" else SqliteStore(tmp_path / "ledger.db")
    yield s
    s.close()
