"""Every id the API accepts is addressable by every endpoint (issue 12 item 3).

A normal lead used to be recorded and then answered 500 when its id was not
Latin-1 (it went raw into the Location header), and ids holding "/" or over
200 characters could not be fetched, touched or released.
"""

from __future__ import annotations

from urllib.parse import quote, unquote

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from solver.http.app import lead_url
from tests.http.test_service import AUTH, client, post_lead  # noqa: F401  (client is a fixture)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

IDS = [
    "a/b",  # a slash: the path parameter spans it
    "x/touch",  # ends like the touch route
    "/leading/and/trailing/",
    "batch",  # the batch route's name, as a GET
    "ü€ 中文",  # not Latin-1: went raw into Location and failed after the commit
    "100% sure?#frag&x=1",  # characters a URL gives meaning to
    "x" * 200,  # the longest id the rule allows
    "..",  # a dot segment, which clients remove from a URL unless encoded
]


@pytest.mark.parametrize("lead_id", IDS)
def test_an_accepted_id_is_located_fetched_touched_and_released(client, lead_id):  # noqa: F811
    pending = post_lead(client, id=lead_id, territory="EU")
    assert pending.status_code == 202, pending.text
    location = pending.headers["location"]
    segment = location.removeprefix("/v1/leads/")
    assert "/" not in segment and segment.isascii() and unquote(segment) == lead_id
    assert client.get(location, headers=AUTH).json()["lead_id"] == lead_id
    assert client.post(f"{location}/release", headers=AUTH).status_code == 409  # pending: the route resolved

    urgent_id = lead_id + "-u" if len(lead_id) < 200 else "u" + lead_id[1:]
    assert post_lead(client, id=urgent_id, territory="EU", urgent=True).json()["rep_id"] == "eu"
    url = lead_url(urgent_id)
    touched = client.post(f"{url}/touch", headers=AUTH)
    released = client.post(f"{url}/release", headers=AUTH)
    assert (touched.status_code, released.status_code) == (200, 200), (touched.text, released.text)
    assert [e["kind"] for e in released.json()["events"]] == ["accepted", "assigned", "touched", "released"]
    assert released.json()["lead_id"] == urgent_id


def test_an_id_is_one_lead_however_its_unicode_is_composed(client):  # noqa: F811
    composed, decomposed = "Caf\u00e9-1", "Cafe\u0301-1"
    assert post_lead(client, id=decomposed, territory="EU", urgent=True).json()["lead_id"] == composed
    assert client.get("/v1/leads/" + quote(decomposed, safe=""), headers=AUTH).json()["lead_id"] == composed
    again = post_lead(client, id=composed, territory="EU", urgent=True)
    assert again.json()["lead_id"] == composed
    assert client.get("/v1/reps/loads", headers=AUTH).json()["loads"]["eu"] == 1  # one lead, not two


def test_ids_told_apart_only_by_case_are_refused_in_one_batch(client):  # noqa: F811
    response = client.post("/v1/leads/batch", headers=AUTH, json={"leads": [
        {"id": "LEAD-1", "value": 1}, {"id": "lead-1", "value": 1}]})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "leads", 1, "id"]
    assert "LEAD-1" in response.json()["detail"][0]["msg"]
