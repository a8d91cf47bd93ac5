"""An experiment through the HTTP service (issue 15): leads posted to the API land in their unit's arm,
`GET /v1/leads/{id}` shows it, and `leadsolver experiment report` reads the service's ledger."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from click.testing import CliRunner
from fastapi.testclient import TestClient

from solver.cli.main import main
from solver.domain.model import Account, Policy, Rep
from solver.http.app import create_app
from solver.http.gate import _rebuilt
from solver.online.memory_store import MemoryStore
from solver.online.router import Router
from solver.online.sqlite_store import SqliteStore

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

TOKEN = "test-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
TEAM = [Rep(id=f"R{j}", territories=("*",), capacity=100) for j in range(4)]
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def experiment_policy(unit: str, name: str | None = None) -> Policy:
    return Policy(batch={"max_size": 5, "max_wait_s": 0},
                  experiment={"name": name or f"by-{unit}", "challenger": {"solver": "round_robin"},
                              "unit": unit, "block_hours": 1})


def serve_leads(db: Path, unit: str, leads: list[dict[str, Any]], hours: list[int],
                name: str | None = None) -> dict[str, dict]:
    """Post each lead (urgent ones decided at once, the others at the next tick) at its hour, and
    return every lead's detail as the API shows it (`name`: the experiment's, default by-UNIT)."""
    clock = Clock()
    ledger = SqliteStore(db, check_same_thread=False)
    try:
        app = create_app(Router(TEAM, experiment_policy(unit, name), ledger, clock=clock), TOKEN,
                         tick_interval_s=0.01)
        with TestClient(app, raise_server_exceptions=False) as client:
            for lead, hour in zip(leads, hours, strict=True):
                clock.now = T0 + timedelta(hours=hour)
                assert client.post("/v1/leads", json=lead, headers=AUTH).status_code in (200, 201, 202)
            details = {}
            for lead in leads:
                for _ in range(500):  # the batch timer decides the normal leads
                    detail = client.get(f"/v1/leads/{lead['id']}", headers=AUTH).json()
                    if detail["status"] != "pending":
                        break
                details[lead["id"]] = detail
    finally:
        ledger.close()
    return details


def close_leads(tmp_path: Path, db: Path, lead_ids: list[str]) -> None:
    rows = ["lead_id,action,at,value"]
    for k, lead_id in enumerate(lead_ids):
        rows.append(f"{lead_id},touch,{(T0 + timedelta(hours=12)).isoformat()},")
        rows.append(f"{lead_id},{'won' if k % 2 else 'lost'},{(T0 + timedelta(days=2)).isoformat()},"
                    f"{'500' if k % 2 else ''}")
    events = tmp_path / "events.csv"
    events.write_text("\n".join(rows) + "\n")
    result = CliRunner().invoke(main, ["events", "--db", str(db), "--file", str(events)])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("unit", ["account", "switchback"])
def test_the_service_routes_each_unit_in_one_arm_and_the_report_reads_its_ledger(tmp_path, unit):
    db = tmp_path / "ledger.db"
    leads = [{"id": f"L{i}", "value": 100.0 + i, "account_id": f"A{i % 8}", "urgent": i % 3 == 0}
             for i in range(40)]
    hours = [i // 5 for i in range(40)]  # eight hours, five leads each: eight switchback blocks
    details = serve_leads(db, unit, leads, hours)
    assert all(d["status"] == "assigned" for d in details.values())
    units = defaultdict(set)
    for lead, hour in zip(leads, hours, strict=True):
        detail = details[lead["id"]]
        units[lead["account_id"] if unit == "account" else hour].add(detail["arm"])
        assert detail["arm"] in ("control", "challenger")
        assert {e["arm"] for e in detail["events"] if e["kind"] != "accepted"} == {detail["arm"]}
    assert all(len(arms) == 1 for arms in units.values())
    assert set().union(*units.values()) == {"control", "challenger"}

    close_leads(tmp_path, db, [lead["id"] for lead in leads])
    result = CliRunner().invoke(main, ["experiment", "report", "--db", str(db), "--format", "json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["experiment"]["unit"] == unit and figures["difference"]["cluster_robust"]
    assert figures["difference"]["clusters"] == 8
    arms = figures["arms"]
    assert arms["control"]["leads"] + arms["challenger"]["leads"] == 40
    assert arms["control"]["resolved"] + arms["challenger"]["resolved"] == 40
    assert figures["arms_policy"] == {"control": "flow", "challenger": "round_robin"}


def test_two_experiments_served_over_the_same_hours_on_one_ledger_report_apart(tmp_path):
    """Two services (two teams' experiments) on one ledger over the same hours: both started at
    the same time, so the start times cannot tell their leads apart; the recorded name does."""
    db = tmp_path / "ledger.db"
    hours = [i // 5 for i in range(20)]
    served = {}
    for name in ("speed-test", "rr-test"):
        leads = [{"id": f"{name}-{i}", "value": 100.0 + i, "urgent": i % 3 == 0} for i in range(20)]
        served[name] = serve_leads(db, "lead", leads, hours, name=name)
    for name, details in served.items():
        result = CliRunner().invoke(main, ["experiment", "report", "--db", str(db), "--name", name,
                                           "--format", "json"])
        assert result.exit_code == 0, result.output
        arms = json.loads(result.stdout)["arms"]
        assert [arms[arm]["leads"] for arm in ("control", "challenger")] == [
            sum(d["arm"] == arm for d in details.values()) for arm in ("control", "challenger")], name
    with SqliteStore(db, read_only=True) as ledger:
        rows = ledger.leads()
    assert len(rows) == 40  # the fast path's and the micro-batches' decisions alike name their experiment
    assert all(row["experiment"] == row["lead_id"].rsplit("-", 1)[0] for row in rows)


def test_a_router_rebuilt_after_a_failure_keeps_the_accounts_and_so_each_accounts_arm():
    """The rebuilt router lost the accounts file: owners and the account units' parent chains."""
    accounts = [Account(id="TOP"), Account(id="A1", parent_id="TOP")]
    policy = Policy(experiment={"name": "acct", "challenger": {"solver": "round_robin"}, "unit": "account"})
    router = Router(TEAM, policy, MemoryStore(), clock=Clock(), accounts=accounts)
    again = _rebuilt(router)
    assert router.units is not None
    assert again.accounts == accounts and again.units == router.units
