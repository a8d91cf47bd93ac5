"""The service and a ledger that cannot write (issue 12 item 9, service half).

Before: `serve` on a corrupt or unwritable ledger could exit 1 with a traceback
instead of naming the path, and /readyz said ready while every write failed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from click.testing import CliRunner

from solver.cli import main
from solver.online import sqlite_open
from tests.http.test_service import TEAM, TOKEN, post_lead, recorded, service

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_readiness_follows_whether_the_ledger_can_write(tmp_path, monkeypatch):
    db = tmp_path / "ledger.db"
    with service(db) as client:
        assert post_lead(client, id="OK-1", territory="EU", urgent=True).status_code == 200
        assert client.get("/readyz").status_code == 200
        ledger = client.app.state.service.router.store  # type: ignore[attr-defined]
        pages = ledger._db.execute("PRAGMA page_count").fetchone()[0]
        ledger._db.execute(f"PRAGMA max_page_count = {pages}")  # every write now fails in SQLite
        monkeypatch.setattr("solver.http.service.WRITABLE_TTL_S", 0.0)  # no cached answer in the test

        not_ready = client.get("/readyz")
        refused = post_lead(client, id="LOST-1", territory="EU", urgent=True,
                            industry="x" * 20_000)  # a write that needs new pages

        assert not_ready.status_code == 503
        assert "write" in not_ready.json()["reason"]
        assert refused.status_code == 503, refused.text  # the store's failure, not an internal error
        assert "ledger" in refused.json()["detail"]

        ledger = client.app.state.service.router.store  # type: ignore[attr-defined]
        ledger._db.execute("PRAGMA max_page_count = 1073741823")
        assert client.get("/readyz").status_code == 200
        assert post_lead(client, id="OK-2", territory="EU", urgent=True).status_code == 200
    assert recorded(db) == {"OK-1", "OK-2"}


def _damaged(db: Path) -> None:
    """A real ledger whose pages past the header are overwritten: it opens, then fails to read."""
    with service(db) as client:
        for k in range(50):
            post_lead(client, id=f"L{k}", territory="EU", urgent=True, industry="x" * 500)
    data = bytearray(db.read_bytes())
    data[4096:] = b"\xff" * (len(data) - 4096)
    db.write_bytes(bytes(data))


@pytest.mark.parametrize("case", ["random bytes", "damaged pages", "read-only", "disk full"])
def test_serve_on_a_ledger_it_cannot_use_exits_2_naming_the_path(tmp_path, monkeypatch, case):
    reps, db = tmp_path / "reps.json", tmp_path / "ledger.db"
    reps.write_text(json.dumps({"reps": [r.model_dump(mode="json") for r in TEAM]}))
    if case == "random bytes":
        db.write_bytes(bytes(range(256)) * 16)
    elif case == "damaged pages":
        _damaged(db)
    elif case == "read-only":  # root passes chmod: fake the access check the store makes
        monkeypatch.setattr(sqlite_open, "can_write", lambda file: False)
    else:
        monkeypatch.setattr(sqlite_open, "disk_has_room", lambda file: False)

    def served(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("serve started on a ledger it cannot use")

    monkeypatch.setattr("uvicorn.run", served)
    result = CliRunner().invoke(main, ["serve", "--reps", str(reps), "--db", str(db)],
                                env={"LEADSOLVER_TOKEN": TOKEN})

    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and str(db) in lines[0], result.output
    assert "Traceback" not in result.output

