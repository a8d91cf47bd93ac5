"""An urgent lead is answered while the service solves a micro-batch (the router's lock is let go
for the solve: `solver.http.gate`); the batch's answer is recorded after it."""

from __future__ import annotations

import pytest

from solver.domain.model import Batch, Policy
from tests.http.test_service import post_lead, service, wait_decided
from tests.online.together import Hold

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_an_urgent_lead_is_answered_while_a_micro_batch_is_solved(tmp_path, monkeypatch):
    hold = Hold(monkeypatch, lambda: True, timeout_s=20.0)  # every batch solve waits for `go`
    policy = Policy(solver="greedy", batch=Batch(max_size=2, max_wait_s=3600))
    with service(tmp_path / "ledger.db", policy) as client:
        for lead_id, territory in (("N1", "EU"), ("N2", "US")):
            assert post_lead(client, id=lead_id, territory=territory).status_code == 202
        assert hold.solving.wait(timeout=30), "the micro-batch never reached its solve"
        try:
            urgent = post_lead(client, id="U1", territory="EU", urgent=True)
            held = hold.solves == 1 and not hold.go.is_set() and not hold.timed_out
        finally:
            hold.go.set()
        assert held  # answered while the batch's solve still waited
        assert urgent.status_code == 200 and urgent.json()["rep_id"] == "eu"
        assert [wait_decided(client, lead_id)["rep_id"] for lead_id in ("N1", "N2")] == ["eu", "us"]
