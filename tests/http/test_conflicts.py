"""A lead id sent again with other content is a 409 that writes nothing (issue 12 item 7, API half).

The conflict is the client's error: in a group commit it fails only its own
submission, without rolling back the others nor rebuilding the router.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

pytest.importorskip("fastapi")

from solver.domain.model import Lead
from solver.http.gate import RouterGate
from solver.online.router import Router
from solver.online.sqlite_store import SqliteStore as Ledger
from solver.online.store import LeadConflict
from tests.http.test_service import AUTH, BATCH_OF_TWO, TEAM, client, post_lead, recorded  # noqa: F401


def lead(lead_id: str, territory: str = "EU") -> Lead:
    return Lead(id=lead_id, value=1, territory=territory, urgent=True)


def test_a_conflict_in_a_group_commit_fails_alone_and_rebuilds_nothing(tmp_path):
    ledger = Ledger(tmp_path / "ledger.db", check_same_thread=False)

    async def scenario() -> tuple[Router, RouterGate, list[Any]]:
        gate = RouterGate(Router(TEAM, BATCH_OF_TWO, ledger))
        await gate.submit([lead("seen")])
        router = gate.router
        calls = [[lead("a")], [lead("seen", "US")], [lead("b"), lead("seen", "US")], [lead("c")]]
        return router, gate, await asyncio.gather(*(gate.submit(c) for c in calls), return_exceptions=True)

    try:
        router, gate, (a, single, batch, c) = asyncio.run(scenario())
        assert gate.router is router  # no rebuild from the ledger
        assert isinstance(single, LeadConflict) and isinstance(batch, LeadConflict)
        assert a[0].rep_id == c[0].rep_id == "eu"
        assert ledger.record("seen").territory == "EU"  # the first version is kept
    finally:
        ledger.close()
    assert recorded(tmp_path / "ledger.db") == {"seen", "a", "c"}  # "b" went with its batch's conflict


def test_the_api_answers_409_naming_the_id_and_keeps_the_first_version(client, tmp_path):  # noqa: F811
    assert post_lead(client, id="D1", territory="EU", urgent=True).json()["rep_id"] == "eu"
    changed = post_lead(client, id="D1", territory="US", urgent=True, value=5.0)
    batch = client.post("/v1/leads/batch", headers=AUTH, json={"leads": [
        {"id": "D2", "value": 1, "territory": "EU"}, {"id": "D1", "value": 1, "territory": "US"}]})
    retry = post_lead(client, id="D1", territory="EU", urgent=True)

    assert changed.status_code == batch.status_code == 409
    assert "'D1'" in changed.json()["detail"] and "value" in changed.json()["detail"]
    assert retry.status_code == 200 and retry.json()["rep_id"] == "eu"  # an identical retry is no conflict
    assert recorded(tmp_path / "ledger.db") == {"D1"}
    assert client.get("/v1/leads/D1", headers=AUTH).json()["events"][0]["kind"] == "accepted"
