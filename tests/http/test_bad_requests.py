"""Every kind of bad HTTP request (issue 12 items 3, 7, 12): one clear 4xx, nothing recorded.

One table, one row per kind, the reason inline. Each row is sent to a service
that already holds one lead ("SEEN", for the changed-duplicate row); after it
the ledger must hold exactly that lead, the answer must not be a 500 nor carry
a traceback, and a 422 must name the field (its `loc`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from fastapi.testclient import TestClient

from tests.http.test_service import AUTH, TOKEN, post_lead, recorded, service

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

JSON = {"content-type": "application/json"}
LEAD = {"id": "X1", "value": 100.0, "territory": "EU"}


def lead(**fields: Any) -> bytes:
    return json.dumps(LEAD | fields).encode()


def nested(depth: int) -> bytes:
    return b'{"id": "X1", "value": 1, "territory": ' + b"[" * depth + b"]" * depth + b"}"


# (kind, method, path, headers, body, status, loc or None, text the message must hold)
ROWS: list[tuple[str, str, str, dict[str, str], bytes, int, list[Any] | None, str]] = [
    # -- the body is not JSON the API reads
    ("malformed JSON", "POST", "/v1/leads", JSON, b'{"id": "X1", ', 422, ["body", 13], "JSON"),
    ("a list where a lead belongs", "POST", "/v1/leads", JSON, b"[1, 2]", 422, ["body"], "object"),
    ("deeply nested JSON (the parser's recursion limit)", "POST", "/v1/leads", JSON, nested(100_000),
     422, ["body"], "nested"),
    ("5,000-digit integer (Python's int-string limit)", "POST", "/v1/leads", JSON,
     b'{"id": "X1", "value": ' + b"9" * 5_000 + b"}", 422, ["body"], "digits"),
    ("NaN is not JSON", "POST", "/v1/leads", JSON, b'{"id": "X1", "value": NaN}', 422, ["body"], "NaN"),
    ("Infinity is not JSON", "POST", "/v1/leads", JSON, b'{"id": "X1", "value": -Infinity}', 422,
     ["body"], "Infinity"),
    ("a float beyond float range", "POST", "/v1/leads", JSON, b'{"id": "X1", "value": 1e400}', 422,
     ["body", "value"], "Input should be"),
    ("oversized body", "POST", "/v1/leads", JSON, lead(industry="x" * 1_100_000), 413, None, "bytes"),
    ("wrong content type (form post)", "POST", "/v1/leads",
     {"content-type": "application/x-www-form-urlencoded"}, b"id=X1&value=1", 415, None,
     "application/json"),
    ("wrong content type (text)", "POST", "/v1/leads", {"content-type": "text/plain"}, lead(), 415, None,
     "application/json"),
    # -- wrong types: JSON's own types, no coercion
    ("JSON true as a number", "POST", "/v1/leads", JSON, lead(value=True), 422, ["body", "value"], "number"),
    ("a number as a string", "POST", "/v1/leads", JSON, lead(value="100"), 422, ["body", "value"], "number"),
    ("true as an integer", "POST", "/v1/leads", JSON, lead(effort=True), 422, ["body", "effort"], "integer"),
    ("a string as a boolean", "POST", "/v1/leads", JSON, lead(urgent="yes"), 422, ["body", "urgent"],
     "boolean"),
    ("an id that is a number", "POST", "/v1/leads", JSON, lead(id=7), 422, ["body", "id"], "string"),
    ("negative value", "POST", "/v1/leads", JSON, lead(value=-1), 422, ["body", "value"], "greater"),
    ("score over 1", "POST", "/v1/leads", JSON, lead(score=1.5), 422, ["body", "score"], "less"),
    ("unknown segment", "POST", "/v1/leads", JSON, lead(segment="XL"), 422, ["body", "segment"], "ENT"),
    ("unknown field", "POST", "/v1/leads", JSON, lead(colour="red"), 422, ["body", "colour"], "Extra"),
    ("a date that is no date", "POST", "/v1/leads", JSON, lead(created_at="yesterday"), 422,
     ["body", "created_at"], "datetime"),
    # a key given twice: JSON parsers keep the last value without a word; refused, as in a JSON file
    ("a key given twice", "POST", "/v1/leads", JSON, b'{"id": "DK1", "value": 10, "value": 20}', 422,
     ["body", "value"], "'value' given twice"),
    ("a key given twice in a batch lead's attributes", "POST", "/v1/leads/batch", JSON,
     b'{"leads": [{"id": "D1", "value": 1}, {"id": "D2", "value": 1, "attributes": {"x": 1, "x": 2}}]}',
     422, ["body", "leads", 1, "attributes", "x"], "'x' given twice"),
    # -- bad ids (solver.domain.ids): the same rule everywhere
    ("id with a control character", "POST", "/v1/leads", JSON, lead(id="X\n1"), 422, ["body", "id"],
     "U+000A"),
    ("id with a zero-width space", "POST", "/v1/leads", JSON, lead(id="X\u200b1"), 422, ["body", "id"],
     "U+200B"),
    ("id with a bidi override", "POST", "/v1/leads", JSON, lead(id="X\u202e1"), 422, ["body", "id"],
     "U+202E"),
    ("id over 200 characters", "POST", "/v1/leads", JSON, lead(id="x" * 201), 422, ["body", "id"], "200"),
    ("empty id", "POST", "/v1/leads", JSON, lead(id=""), 422, ["body", "id"], "empty"),
    ("id of white space only", "POST", "/v1/leads", JSON, lead(id="  "), 422, ["body", "id"], "empty"),
    ("owner id with a control character", "POST", "/v1/leads", JSON, lead(owner_id="e\tu"), 422,
     ["body", "owner_id"], "U+0009"),
    ("a path id over 200 characters", "GET", "/v1/leads/" + "x" * 201, {}, b"", 422,
     ["path", "lead_id"], "200"),
    ("a path id with a control character", "POST", "/v1/leads/X%001/touch", {}, b"", 422,
     ["path", "lead_id"], "U+0000"),
    # -- refused by the service's own checks
    ("unknown owner", "POST", "/v1/leads", JSON, lead(owner_id="ghost"), 422, ["body", "owner_id"], "ghost"),
    ("effort the policy's solver cannot place", "POST", "/v1/leads", JSON, lead(effort=2), 422,
     ["body", "effort"], "unit effort"),
    ("a huge effort", "POST", "/v1/leads", JSON, lead(effort=10**30), 422, ["body", "effort"], "less than"),
    ("a huge value", "POST", "/v1/leads", JSON, lead(value=1e300), 422, ["body", "value"], "less than"),
    ("duplicate ids in a batch", "POST", "/v1/leads/batch", JSON,
     json.dumps({"leads": [LEAD, LEAD | {"value": 5}]}).encode(), 422, ["body", "leads", 1, "id"],
     "duplicate"),
    ("ids equal once normalized, in a batch", "POST", "/v1/leads/batch", JSON,
     json.dumps({"leads": [LEAD | {"id": "Caf\u00e9"}, LEAD | {"id": "Cafe\u0301"}]}).encode(), 422,
     ["body", "leads", 1, "id"], "duplicate"),
    ("empty batch", "POST", "/v1/leads/batch", JSON, b'{"leads": []}', 422, ["body", "leads"], "at least 1"),
    ("batch over 1,000 leads", "POST", "/v1/leads/batch", JSON,
     json.dumps({"leads": [LEAD | {"id": f"B{k}"} for k in range(1_001)]}).encode(), 422,
     ["body", "leads"], "at most 1000"),
    ("a changed duplicate of a recorded lead", "POST", "/v1/leads", JSON,
     json.dumps({"id": "SEEN", "value": 999.0, "territory": "US"}).encode(), 409, None, "'SEEN'"),
    ("a changed duplicate in a batch: none of the batch recorded", "POST", "/v1/leads/batch", JSON,
     json.dumps({"leads": [LEAD, {"id": "SEEN", "value": 1.0}]}).encode(), 409, None, "'SEEN'"),
    ("a lead never accepted", "GET", "/v1/leads/NOPE", {}, b"", 404, None, "NOPE"),
    # -- credentials
    ("missing token", "POST", "/v1/leads", {**JSON, "Authorization": ""}, lead(), 401, None, "token"),
    ("bad token", "POST", "/v1/leads", {**JSON, "Authorization": "Bearer wrong-token-0123456789"}, lead(),
     401, None, "token"),
    ("token in the wrong scheme", "POST", "/v1/leads", {**JSON, "Authorization": f"Basic {TOKEN}"}, lead(),
     401, None, "token"),
]


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[tuple[TestClient, Path]]:
    """A fresh service for each row (a row that leaks a lead must not fail the next), holding SEEN."""
    db = tmp_path / "ledger.db"
    with service(db) as client:
        assert post_lead(client, id="SEEN", territory="EU", urgent=True).status_code == 200
        yield client, db


@pytest.mark.parametrize(("kind", "method", "path", "headers", "body", "status", "loc", "text"), ROWS,
                         ids=[row[0] for row in ROWS])
def test_a_bad_request_gets_one_clear_4xx_and_records_nothing(
    seeded: tuple[TestClient, Path], kind: str, method: str, path: str, headers: dict[str, str],
    body: bytes, status: int, loc: list[Any] | None, text: str,
) -> None:
    client, db = seeded
    response = client.request(method, path, content=body or None, headers=AUTH | headers)

    assert response.status_code == status, response.text[:500]
    assert "Traceback" not in response.text
    detail = response.json()["detail"]
    if loc is not None:
        assert detail[0]["loc"] == loc, detail
        message = detail[0]["msg"]
    else:
        message = detail if isinstance(detail, str) else detail[0]["msg"]
    assert text in message, message
    assert recorded(db) == {"SEEN"}


def test_the_table_covers_at_least_twenty_kinds() -> None:
    assert len({row[0] for row in ROWS}) == len(ROWS) >= 20


def test_text_under_a_rules_number_test_names_the_lead_and_attribute_and_rebuilds_nothing(tmp_path: Path) -> None:
    """A rule tests employees as a number: a lead whose employees is text ('~500') is a 422 at the
    attribute (in a batch, at the lead's place), refused before the router is asked (no part of
    the batch written, no router rebuilt as after a failed ledger transaction)."""
    from solver.domain.model import Policy
    from tests.http.test_service import BATCH_OF_TWO

    policy = BATCH_OF_TWO.model_copy(update={"routing_rules": Policy.model_validate({"routing_rules": [
        {"name": "big", "when": "employees >= 200", "then": {"admit": {"reps": ["eu"]}}}]}).routing_rules})
    bad = {"value": 5.0, "attributes": {"employees": "~500"}}
    db = tmp_path / "ledger.db"
    with service(db, policy) as client:
        router = client.app.state.service.router
        batch = client.post("/v1/leads/batch", json={"leads": [{"id": "S1", "value": 5.0}, {"id": "S2", **bad}]},
                            headers=AUTH)
        singles = [client.post("/v1/leads", json={"id": "S3", "urgent": urgent, **bad}, headers=AUTH)
                   for urgent in (True, False)]
        assert client.app.state.service.router is router
    assert batch.status_code == 422, batch.text
    (error,) = batch.json()["detail"]
    assert error["loc"] == ["body", "leads", 1, "attributes", "employees"]
    assert "'S2'" in error["msg"] and "'~500'" in error["msg"]
    for answer in singles:
        assert answer.status_code == 422, answer.text
        assert [e["loc"] for e in answer.json()["detail"]] == [["body", "attributes", "employees"]]
    assert recorded(db) == set()
