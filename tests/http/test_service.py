"""The HTTP service (issue 7): endpoints, auth, limits, durability, a real server on loopback.

Every test drives the real Router and SqliteStore (a file in tmp_path) through
FastAPI's test client; one test starts `leadsolver serve` as a process.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from click.testing import CliRunner
from fastapi.testclient import TestClient

from solver.cli import main
from solver.cli.serve import resolve_token
from solver.domain.model import Batch, Lead, Policy, Rep
from solver.http.app import create_app
from solver.http.gate import RouterGate
from solver.online.router import Router
from solver.online.sqlite_store import SqliteStore as Ledger
from tests.servers import free_port as _free_port  # noqa: F401 (tests/http/test_connections uses it)
from tests.servers import serving

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

TOKEN = "test-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
# Two territory reps and an unrestricted enterprise specialist with room for one lead:
# a lead's territory and segment decide who may own it.
TEAM = [
    Rep(id="eu", territories=("EU",), capacity=3),
    Rep(id="us", territories=("US",), capacity=3),
    Rep(id="ent", territories=("*",), segments=("ENT",), capacity=1),
]
# Normal leads flush when two are waiting (never by age, so tests control the timing).
BATCH_OF_TWO = Policy(batch=Batch(max_size=2, max_wait_s=3600))


@contextmanager
def service(db: Path, policy: Policy = BATCH_OF_TWO, **options: Any) -> Iterator[TestClient]:
    """A running app on the ledger `db` (started and stopped like a process)."""
    ledger = Ledger(db, check_same_thread=False)
    try:
        app = create_app(Router(TEAM, policy, ledger), options.pop("token", TOKEN),
                         tick_interval_s=0.01, **options)
        with TestClient(app, raise_server_exceptions=False) as client:
            yield client
    finally:
        ledger.close()


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with service(tmp_path / "ledger.db") as c:
        yield c


def post_lead(client: TestClient, **fields: Any) -> Any:
    return client.post("/v1/leads", json={"value": 100.0, **fields}, headers=AUTH)


def wait_decided(client: TestClient, lead_id: str, until: str = "decided", timeout_s: float = 5.0
                 ) -> dict[str, Any]:
    """The lead's detail once the service's timer has decided it (or assigned it)."""
    deadline = time.monotonic() + timeout_s
    while True:
        detail = client.get(f"/v1/leads/{lead_id}", headers=AUTH).json()
        done = detail["status"] == "assigned" if until == "assigned" else detail["status"] != "pending"
        if done or time.monotonic() > deadline:
            return detail
        time.sleep(0.01)


def recorded(db: Path) -> set[str]:
    """Lead ids in the ledger file, read through a separate connection."""
    with Ledger(db) as ledger:
        return {row["lead_id"] for row in ledger.leads()}


# --- leads ---------------------------------------------------------------------------------


def test_urgent_lead_gets_an_owner_that_respects_the_rules_and_an_explanation(client):
    us = post_lead(client, id="L1", territory="US", urgent=True)
    ent = post_lead(client, id="L2", territory="APAC", segment="ENT", urgent=True)
    nobody = post_lead(client, id="L3", territory="APAC", segment="SMB", urgent=True)

    assert us.status_code == 200
    assert us.json()["rep_id"] == "us"  # the only rep whose territory admits US
    assert ent.json()["rep_id"] == "ent"  # APAC: only the unrestricted rep, who takes ENT
    assert nobody.json() == nobody.json() | {"status": "unassigned", "rep_id": None}
    assert "no eligible rep" in nobody.json()["reason"]
    detail = client.get("/v1/leads/L1", headers=AUTH).json()
    assert detail["rep_id"] == "us"
    assert detail["explanation"]["chosen"]["rep_id"] == "us"
    assert [e["kind"] for e in detail["events"]] == ["accepted", "assigned"]


def test_normal_lead_is_accepted_then_owned_after_the_next_micro_batch(client):
    first = post_lead(client, id="N1", territory="EU")
    assert first.status_code == 202
    assert first.json()["status"] == "pending"
    assert first.headers["location"] == "/v1/leads/N1"
    assert client.get("/v1/leads/N1", headers=AUTH).json()["status"] == "pending"

    post_lead(client, id="N2", territory="US")  # the second one fills the batch

    assert wait_decided(client, "N1")["rep_id"] == "eu"
    detail = wait_decided(client, "N2")
    assert detail["rep_id"] == "us"
    assert detail["policy"] == "flow"
    assert detail["explanation"]["batch"]["size"] == 2


def test_batch_answers_each_lead_in_order(client):
    response = client.post("/v1/leads/batch", headers=AUTH, json={"leads": [
        {"id": "B1", "value": 5, "territory": "EU", "urgent": True},
        {"id": "B2", "value": 5, "territory": "US"},
        {"id": "B3", "value": 5, "territory": "US", "urgent": True},
    ]})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [(r["lead_id"], r["status"], r["rep_id"]) for r in results] == [
        ("B1", "assigned", "eu"), ("B2", "pending", None), ("B3", "assigned", "us")]


@pytest.mark.parametrize(("leads", "loc"), [
    ([{"id": "A", "value": 1}, {"id": "B", "value": 1}, {"id": "A", "value": 2}],
     ["body", "leads", 2, "id"]),  # a lead id twice in one batch
    ([{"id": "A", "value": 1}, {"id": "B", "value": 1, "owner_id": "ghost"}],
     ["body", "leads", 1, "owner_id"]),  # the account owner is no rep
    ([{"id": "A", "value": 1}, {"id": "B", "value": 1, "effort": 2}],
     ["body", "leads", 1, "effort"]),  # flow needs unit effort
    ([{"id": "A", "value": 1}, {"id": "B", "value": -1}],
     ["body", "leads", 1, "value"]),  # negative value
])
def test_a_bad_lead_refuses_the_whole_batch_and_nothing_is_recorded(client, tmp_path, leads, loc):
    response = client.post("/v1/leads/batch", headers=AUTH, json={"leads": leads})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == loc
    assert recorded(tmp_path / "ledger.db") == set()


def test_a_retry_returns_the_first_answer_and_assigns_nothing_new(client):
    first = post_lead(client, id="R1", territory="EU", urgent=True).json()
    again = post_lead(client, id="R1", territory="EU", urgent=True).json()
    changed = post_lead(client, id="R1", territory="US", urgent=True)  # same id, other body

    assert again == first
    assert changed.status_code == 409  # issue 12 item 7: no longer the first answer without a word
    assert "'R1'" in changed.json()["detail"] and "territory" in changed.json()["detail"]
    assert client.get("/v1/reps/loads", headers=AUTH).json()["loads"] == {"eu": 1, "us": 0, "ent": 0}
    events = client.get("/v1/leads/R1", headers=AUTH).json()["events"]
    assert [e["kind"] for e in events] == ["accepted", "assigned"]

    assert post_lead(client, id="P1", territory="EU").status_code == 202
    assert post_lead(client, id="P1", territory="EU").status_code == 202
    assert client.get("/v1/reps/loads", headers=AUTH).json()["pending"] == 1


def test_touch_and_release(client):
    post_lead(client, id="T1", territory="EU", urgent=True)
    touched = client.post("/v1/leads/T1/touch", headers=AUTH)
    released = client.post("/v1/leads/T1/release", headers=AUTH)
    released_again = client.post("/v1/leads/T1/release", headers=AUTH)

    assert touched.status_code == released.status_code == released_again.status_code == 200
    kinds = [e["kind"] for e in released_again.json()["events"]]
    assert kinds == ["accepted", "assigned", "touched", "released"]
    assert client.get("/v1/reps/loads", headers=AUTH).json()["loads"]["eu"] == 0
    # the routing answer stays 'assigned'; where the lead stands now is its lifecycle
    assert (touched.json()["status"], touched.json()["lifecycle"]) == ("assigned", "assigned")
    now = client.get("/v1/leads/T1", headers=AUTH).json()
    assert (now["status"], now["lifecycle"], now["outcome"]) == ("assigned", "closed", None)


def test_touching_a_lead_without_an_owner_is_a_conflict_not_a_silent_200(client):
    answer = post_lead(client, id="NO-REP", territory="MARS", urgent=True)
    assert answer.status_code == 200 and answer.json()["rep_id"] is None
    touched = client.post("/v1/leads/NO-REP/touch", headers=AUTH)
    assert touched.status_code == 409 and "has no owner to touch (unassigned)" in touched.json()["detail"]
    kinds = [e["kind"] for e in client.get("/v1/leads/NO-REP", headers=AUTH).json()["events"]]
    assert "touched" not in kinds


def test_a_leads_detail_gives_its_recorded_outcome(client, tmp_path):
    post_lead(client, id="W1", territory="EU", urgent=True)
    assert client.get("/v1/leads/W1", headers=AUTH).json()["outcome"] is None
    with Ledger(tmp_path / "ledger.db") as ledger:  # `leadsolver events` records it so
        assert ledger.record_outcome("W1", datetime.now(UTC), "won", value=900.0)
    detail = client.get("/v1/leads/W1", headers=AUTH).json()
    assert (detail["status"], detail["outcome"]) == ("assigned", "won")


def test_a_lead_waiting_for_capacity_gets_the_room_a_release_frees(client):
    first = post_lead(client, id="C1", territory="APAC", segment="ENT", urgent=True).json()
    second = post_lead(client, id="C2", territory="APAC", segment="ENT", urgent=True).json()
    assert first["rep_id"] == "ent"
    assert second["status"] == "unassigned"
    assert second["reason"].startswith("capacity")  # "ent" holds one lead at a time

    client.post("/v1/leads/C1/release", headers=AUTH)

    assert wait_decided(client, "C2", until="assigned")["rep_id"] == "ent"


def test_releasing_a_lead_that_waits_for_capacity_closes_it(client):
    assert post_lead(client, id="C1", territory="APAC", segment="ENT", urgent=True).json()["rep_id"] == "ent"
    assert post_lead(client, id="C2", territory="APAC", segment="ENT", urgent=True).json()["status"] == "unassigned"

    closed = client.post("/v1/leads/C2/release", headers=AUTH)
    client.post("/v1/leads/C1/release", headers=AUTH)  # room again: C2 must not take it

    assert closed.status_code == 200
    assert closed.json()["reason"].startswith("closed while waiting in the backlog")
    assert [e["kind"] for e in closed.json()["events"]] == ["accepted", "unassigned", "released"]
    time.sleep(0.1)  # ten timer ticks
    assert client.get("/v1/leads/C2", headers=AUTH).json()["status"] == "unassigned"
    assert client.get("/v1/reps/loads", headers=AUTH).json()["loads"]["ent"] == 0


def test_touch_or_release_of_a_lead_without_owner(client):
    post_lead(client, id="W1", territory="EU")
    assert client.post("/v1/leads/W1/release", headers=AUTH).status_code == 409  # still pending
    assert client.post("/v1/leads/nope/release", headers=AUTH).status_code == 404
    assert client.get("/v1/leads/nope", headers=AUTH).status_code == 404


# --- reps ----------------------------------------------------------------------------------


def test_reload_reps_adds_a_rep_and_keeps_the_old_team_when_the_file_is_bad(tmp_path):
    reps_file = tmp_path / "reps.json"
    reps_file.write_text(json.dumps({"reps": [r.model_dump(mode="json") for r in TEAM]}))

    def reload() -> list[Rep]:
        from solver.domain.io import load_reps
        return load_reps(reps_file)

    with service(tmp_path / "ledger.db", reload_reps=reload) as client:
        post_lead(client, id="E1", territory="EU", urgent=True)
        team = json.loads(reps_file.read_text())["reps"] + [{"id": "apac", "territories": ["APAC"],
                                                              "capacity": 2}]
        reps_file.write_text(json.dumps({"reps": team}))
        assert client.post("/v1/reps/reload", headers=AUTH).json() == {"reps": 4}
        assert post_lead(client, id="A1", territory="APAC", urgent=True).json()["rep_id"] == "apac"
        assert client.get("/v1/reps/loads", headers=AUTH).json()["loads"] == {
            "eu": 1, "us": 0, "ent": 0, "apac": 1}

        reps_file.write_text(json.dumps({"reps": [{"id": "x", "capacity": -1}]}))
        refused = client.post("/v1/reps/reload", headers=AUTH)
        assert refused.status_code == 409
        assert "capacity" in refused.json()["detail"]
        assert post_lead(client, id="A2", territory="APAC", urgent=True).json()["rep_id"] == "apac"


# --- health, metrics, schema ---------------------------------------------------------------


def test_health_and_readiness_need_no_token(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready", "pending": 0}


def test_metrics_count_requests_latencies_outcomes_and_queue(client):
    post_lead(client, id="M1", territory="EU", urgent=True)
    post_lead(client, id="M2", territory="EU")
    client.post("/v1/leads", json={"id": "M3"}, headers=AUTH)  # 422: no value
    text = client.get("/metrics", headers=AUTH).text

    assert 'leadsolver_http_requests_total{method="POST",route="/v1/leads",status="200"} 1' in text
    assert 'leadsolver_http_requests_total{method="POST",route="/v1/leads",status="202"} 1' in text
    assert 'leadsolver_http_requests_total{method="POST",route="/v1/leads",status="422"} 1' in text
    assert 'leadsolver_http_request_seconds_count{method="POST",route="/v1/leads"} 3' in text
    assert 'leadsolver_leads_total{status="pending"} 1' in text
    assert "leadsolver_pending_leads 1" in text


def test_openapi_schema_documents_the_models_and_bearer_auth(client):
    schema = client.get("/openapi.json", headers=AUTH).json()
    assert {"/v1/leads", "/v1/leads/batch", "/v1/leads/{lead_id}", "/v1/leads/{lead_id}/release",
            "/v1/reps/loads", "/v1/reps/reload", "/healthz", "/readyz", "/metrics"} <= set(schema["paths"])
    assert {"LeadRequest", "LeadAnswer", "LeadDetail", "BatchRequest"} <= set(schema["components"]["schemas"])
    assert schema["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert schema["paths"]["/v1/leads"]["post"]["security"] == [{"bearer": []}]
    assert "security" not in schema["paths"]["/healthz"]["get"]


# --- refusals: nothing recorded ------------------------------------------------------------


@pytest.mark.parametrize("headers", [
    {},  # no credentials
    {"Authorization": "Bearer wrong-token-0123456789abcdef"},
    {"Authorization": f"Basic {TOKEN}"},  # right secret, wrong scheme
    {"Authorization": f"Bearer {TOKEN}x"},  # a longer token is not a match
])
@pytest.mark.parametrize(("method", "path"), [
    ("POST", "/v1/leads"), ("POST", "/v1/leads/batch"), ("GET", "/v1/leads/L1"),
    ("POST", "/v1/leads/L1/release"), ("GET", "/v1/reps/loads"), ("POST", "/v1/reps/reload"),
    ("GET", "/metrics"), ("GET", "/openapi.json"),
])
def test_every_endpoint_but_health_needs_the_token(client, tmp_path, headers, method, path):
    response = client.request(method, path, headers=headers, json={"id": "L1", "value": 1, "urgent": True})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert recorded(tmp_path / "ledger.db") == set()


def test_oversized_bodies_are_refused_with_413(tmp_path):
    with service(tmp_path / "ledger.db", max_body_bytes=2_000) as client:
        big = {"id": "O1", "value": 1, "urgent": True, "account_id": "x" * 3_000}
        declared = client.post("/v1/leads", json=big, headers=AUTH)
        streamed = client.post("/v1/leads", headers={**AUTH, "content-type": "application/json"},
                               content=(chunk for chunk in [json.dumps(big).encode()[:1500]] * 3))
        small = post_lead(client, id="O2", territory="EU", urgent=True)
    assert declared.status_code == 413  # Content-Length over the limit: refused before reading
    assert streamed.status_code == 413  # chunked, no length: refused while reading
    assert small.status_code == 200
    assert recorded(tmp_path / "ledger.db") == {"O2"}


@pytest.mark.parametrize(("body", "loc"), [
    (b'{"id": "X1", "value": ', ["body", 22]),  # malformed JSON: where it broke
    (b'{"id": "X1"}', ["body", "value"]),  # a required field missing
    (b'{"id": "X1", "value": "lots"}', ["body", "value"]),  # not a number
    (b'{"id": "X1", "value": 1, "segment": "XL"}', ["body", "segment"]),
    (b'{"id": "X1", "value": 1, "colour": "red"}', ["body", "colour"]),  # unknown field
    (b'{"id": "X1", "value": 1, "owner_id": "ghost"}', ["body", "owner_id"]),  # owner is no rep
    (b'{"id": "X1", "value": 1, "effort": 3}', ["body", "effort"]),  # flow: unit effort only
    (b'[{"id": "X1", "value": 1}]', ["body"]),  # a list, not a lead
])
def test_malformed_leads_are_422_naming_the_field_and_not_recorded(client, tmp_path, body, loc):
    response = client.post("/v1/leads", content=body, headers={**AUTH, "content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == loc
    assert recorded(tmp_path / "ledger.db") == set()


def test_internal_errors_reach_the_client_without_details(client, monkeypatch):
    def broken(lead: Lead, now: Any = None) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(client.app.state.service.router, "submit", broken)
    response = post_lead(client, id="I1", territory="EU", urgent=True)
    assert response.status_code == 500
    assert response.json() == {"detail": "internal error"}


# --- durability ----------------------------------------------------------------------------


def test_a_restart_flushes_the_leads_buffered_before_it(tmp_path):
    db = tmp_path / "ledger.db"
    slow = Policy(batch=Batch(max_size=100, max_wait_s=3600))  # nothing flushes in the first life
    with service(db, slow) as client:
        assert post_lead(client, id="S1", territory="EU").status_code == 202
        assert post_lead(client, id="S2", territory="US").status_code == 202
    with service(db, slow) as client:
        assert client.get("/v1/leads/S1", headers=AUTH).json()["rep_id"] == "eu"
        assert client.get("/v1/leads/S2", headers=AUTH).json()["rep_id"] == "us"
        retry = post_lead(client, id="S1", territory="EU")
        assert retry.status_code == 200
        assert retry.json()["rep_id"] == "eu"
        assert client.get("/v1/reps/loads", headers=AUTH).json() == {
            "loads": {"eu": 1, "us": 1, "ent": 0}, "pending": 0}


def test_the_service_never_solves_the_pricing_lp_under_its_lock(tmp_path, monkeypatch):
    """Its LP runs in another process: in-process repricing (a batch learning from itself) is off."""
    def in_process(router: Router, unplaced: int = 0) -> None:
        raise AssertionError("the pricing LP ran inside the router's lock")

    monkeypatch.setattr(Router, "_reprice_if_due", in_process)
    db = tmp_path / "ledger.db"
    policy = Policy(batch=Batch(max_size=20, max_wait_s=3600), pricing={"horizon_leads": 100})
    with service(db, policy) as client:
        for k in range(20):  # a full batch, and enough leads for the prices to be due
            post_lead(client, id=f"P{k}", territory="EU")
        assert wait_decided(client, "P19")["status"] != "pending"
        post_lead(client, id="Q0", territory="EU")  # still buffered when the service stops
    with service(db, policy) as client:  # the restart flushes it
        assert wait_decided(client, "Q0")["status"] != "pending"


def test_group_commit_failure_fails_only_the_faulty_submission(tmp_path, monkeypatch):
    """Three submissions share one transaction; one raises: the others still commit, once."""
    real_submit = Router.submit

    def submit(self: Router, lead: Lead, now: Any = None) -> Any:
        if lead.id == "bad":
            raise RuntimeError("boom")
        return real_submit(self, lead, now)

    monkeypatch.setattr(Router, "submit", submit)
    db = tmp_path / "ledger.db"
    ledger = Ledger(db, check_same_thread=False)

    async def scenario() -> list[Any]:
        gate = RouterGate(Router(TEAM, BATCH_OF_TWO, ledger))
        leads = [Lead(id=i, value=1, territory="EU", urgent=True) for i in ("a", "bad", "c")]
        return await asyncio.gather(*(gate.submit([lead]) for lead in leads), return_exceptions=True)

    try:
        a, bad, c = asyncio.run(scenario())
    finally:
        ledger.close()
    assert isinstance(bad, RuntimeError)
    assert a[0].rep_id == c[0].rep_id == "eu"
    assert recorded(db) == {"a", "c"}
    with Ledger(db) as check:
        assert check.loads().by_rep() == {"eu": 2}


# --- the command ---------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "env", "message"), [
    ([], {}, "no token"),
    (["--insecure-local", "--host", "0.0.0.0"], {}, "loopback"),
    ([], {"LEADSOLVER_TOKEN": "short"}, "at least 16"),
])
def test_serve_refuses_to_start_without_a_proper_token(tmp_path, args, env, message):
    result = CliRunner().invoke(
        main, ["serve", "--reps", str(tmp_path / "r.csv"), "--db", str(tmp_path / "l.db"), *args],
        env={"LEADSOLVER_TOKEN": "", **env})
    assert result.exit_code == 2
    assert message in result.output
    assert not (tmp_path / "l.db").exists()


def test_the_token_comes_from_a_file_and_a_readable_file_is_flagged(tmp_path, capsys):
    token_file = tmp_path / "token"
    token_file.write_text(f"{TOKEN}\n")
    token_file.chmod(0o600)
    assert resolve_token(str(token_file), insecure_local=False, host="127.0.0.1") == TOKEN
    assert "readable by other users" not in capsys.readouterr().err
    token_file.chmod(0o644)
    assert resolve_token(str(token_file), insecure_local=False, host="0.0.0.0") == TOKEN
    assert "readable by other users" in capsys.readouterr().err


def test_insecure_local_serves_without_a_token(tmp_path, monkeypatch):
    monkeypatch.delenv("LEADSOLVER_TOKEN", raising=False)
    assert resolve_token(None, insecure_local=True, host="::1") is None
    with service(tmp_path / "ledger.db", token=None) as client:
        assert post_lead(client, id="U1", territory="EU", urgent=True).json()["rep_id"] == "eu"
        assert client.get("/v1/reps/loads").status_code == 200  # no Authorization header


def _request(url: str, body: dict[str, Any] | None = None, token: str | None = TOKEN) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"content-type": "application/json"} | ({"authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data, headers), timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_a_real_server_on_loopback_answers_and_the_lead_is_in_history(tmp_path):
    reps = tmp_path / "reps.json"
    reps.write_text(json.dumps({"reps": [r.model_dump(mode="json") for r in TEAM]}))
    db = tmp_path / "ledger.db"
    with serving(["--reps", str(reps), "--db", str(db)], TOKEN) as served:
        lead = {"id": "WEB-1", "value": 250.0, "territory": "US", "urgent": True}
        assert _request(f"{served.url}/v1/leads", lead, token=None)[0] == 401
        status, answer = _request(f"{served.url}/v1/leads", lead)
        assert (status, answer["rep_id"]) == (200, "us")
    assert served.process.returncode == 0
    history = CliRunner().invoke(main, ["history", "--db", str(db), "--lead", "WEB-1", "--format", "json"])
    assert history.exit_code == 0, history.output
    events = json.loads(history.output)["events"]
    assert [e["kind"] for e in events] == ["accepted", "assigned"]
    assert events[1]["rep_id"] == "us"
    assert events[1]["explanation"]["chosen"]["rep_id"] == "us"


def test_serve_reads_an_accounts_file_and_a_column_mapping_as_run_does(tmp_path):
    """The account's owner keeps its leads in the service as in `run` (serve had no --accounts: a
    lead of an owned account went to whoever scored best), and a --columns mapping reads the reps."""
    (tmp_path / "reps.csv").write_text("Rep Id,territories,capacity\neu,EU,3\nus,US;EU,3\n")
    (tmp_path / "columns.yaml").write_text("reps: {id: Rep Id}\n")
    (tmp_path / "accounts.csv").write_text("account_id,name,owner_id\nACC-1,Globex,us\n")
    args = ["--reps", str(tmp_path / "reps.csv"), "--columns", str(tmp_path / "columns.yaml"),
            "--accounts", str(tmp_path / "accounts.csv"), "--db", str(tmp_path / "ledger.db")]
    with serving(args, TOKEN) as served:
        lead = {"id": "W1", "value": 100.0, "territory": "EU", "account_id": "ACC-1", "urgent": True}
        status, answer = _request(f"{served.url}/v1/leads", lead)
        assert (status, answer["rep_id"]) == (200, "us") and "owner" in answer["reason"]
    assert served.process.returncode == 0


def test_the_service_names_the_attributes_its_rules_read_at_start():
    # a lead without one is blank in the service, so a misspelt field would otherwise pass unnoticed
    from solver.cli.serve import rule_attributes_note

    on_attribute = Policy.model_validate({"routing_rules": [
        {"name": "big", "when": "employees >= 2000", "then": {"admit": {"reps": ["eu"]}}}]})
    note = rule_attributes_note(on_attribute)
    assert note is not None and "the lead attributes employees:" in note
    assert rule_attributes_note(Policy()) is None  # no routing rules, nothing to say
    on_own_fields = Policy.model_validate({"routing_rules": [
        {"name": "eu", "when": {"territory": "EU"}, "then": {"admit": {"reps": ["eu"]}}}]})
    assert rule_attributes_note(on_own_fields) is None  # territory is a lead's own field
