"""The API against its own OpenAPI document, fuzzed by schemathesis (issue 12 item 12).

Every operation gets a few generated requests (valid and invalid), with the
token; no answer may be a 500 or break the schema it documents. Bounded:
a few examples per operation, no deadline, one service for the module.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("schemathesis")

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import ignored_auth, positive_data_acceptance

from tests.http.test_service import AUTH, service

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

REQUEST_ARGS = {"method", "url", "headers", "params", "json", "content", "data", "cookies"}
MAX_EXAMPLES = 12  # per operation and phase: the whole module stays well under a minute on 2 cores


@pytest.fixture(scope="module")
def api() -> Iterator[TestClient]:
    """The running service: requests go through its own client, on the event loop its lock is bound to."""
    with tempfile.TemporaryDirectory() as tmp, service(Path(tmp) / "ledger.db") as client:
        yield client


@pytest.fixture(scope="module")
def api_schema(api: TestClient) -> Any:
    return schemathesis.openapi.from_dict(api.get("/openapi.json", headers=AUTH).json())


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_operation_answers_500_or_breaks_its_schema(api: TestClient, case: Any) -> None:
    kwargs = case.as_transport_kwargs(base_url="http://testserver", headers=AUTH)
    response = api.request(**{k: v for k, v in kwargs.items() if k in REQUEST_ARGS})
    # Not checked: that every schema-valid request is accepted. JSON Schema cannot say what
    # the API rightly refuses with a 422 naming the field: an id with a control or invisible
    # character (solver.domain.ids), an owner_id naming no rep, an effort the policy cannot place.
    # Nor ignored_auth, which replays the request over the network (test_service and the
    # bad-request table send every endpoint without and with a wrong token).
    case.validate_response(response, headers=AUTH, transport_kwargs=kwargs,
                           excluded_checks=[positive_data_acceptance, ignored_auth])
