"""A lead a fallback sent to a named queue, released over HTTP: it is closed, as `events` closes it."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from fastapi.testclient import TestClient

from solver.domain.accounts import Account
from solver.domain.model import Policy, Rep
from solver.http.app import create_app
from solver.online.router import Router
from solver.online.sqlite_store import SqliteStore

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

TOKEN = "test-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
QUEUE_DEPARTED = Policy.model_validate(
    {"fallback": {"owner_inactive": {"queue": "review"}, "queues": ["review"]}})


def test_releasing_a_queued_lead_over_http_closes_it(tmp_path: Path) -> None:
    ledger = SqliteStore(tmp_path / "ledger.db", check_same_thread=False)
    try:
        router = Router([Rep(id="R1", capacity=9)], QUEUE_DEPARTED, ledger,
                        accounts=[Account(id="acme", owner_id="OLD")])
        with TestClient(create_app(router, TOKEN, tick_interval_s=0.01), raise_server_exceptions=False) as client:
            queued = client.post("/v1/leads", json={"id": "Q1", "value": 10.0, "account_id": "acme",
                                                    "urgent": True}, headers=AUTH)
            assert queued.status_code == 200, queued.text
            assert queued.json()["rep_id"] is None and queued.json()["reason_code"] == "queued", queued.text
            assert [r["lead_id"] for r in ledger.queued_leads("review")] == ["Q1"]
            released = client.post("/v1/leads/Q1/release", headers=AUTH)
            assert released.status_code == 200, released.text
            assert released.json()["events"][-1]["kind"] == "released"
            assert ledger.queued_leads("review") == []
            assert ledger.decision("Q1").reason_code == "closed_in_queue"
    finally:
        ledger.close()
