"""Schemathesis fuzzes the JSON API in-process against its own OpenAPI document (SPEC §5, §8).

No request a client can send may produce a 500, every response must be documented and match its schema,
and schema-invalid requests must be refused (all of schemathesis' default checks run). Each operation is
fuzzed three times, with the real bearer token of an inspector, of the firm's user and of a supervisor, and
path parameters of well-formed cases are often replaced by real ones, so the fuzzing reaches past 401 and 404.

The document is read once from an app that never opens its database; each operation then runs against
the fresh app and database of conftest's fixtures (`app=` reaches the transport). The pytest-fixture
loader, schemathesis.pytest.from_fixture, does not work with the installed pytest (it writes
`Node._nodeid`, which pytest 9 no longer has), hence this arrangement.
"""

import pytest
import schemathesis
from conftest import token_for
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig

from app import create_app

CONFIG = SchemathesisConfig.from_dict({
    "generation": {"mode": "all", "with-security-parameters": False, "allow-extra-parameters": False},
    "checks": {
        # A body can be well formed by the schema and still break a rule of SPEC §4 (an item not on the
        # agency's list, fewer than two inspectors, a missing reference): those answer 422 by contract; and any bytes
        # are a schema-valid photo file that need not decode as an image: 415 by contract (SPEC §10).
        "positive_data_acceptance": {"expected-statuses": ["2xx", "401", "403", "404", "409", "415", "422", "429"]},
    },
})
DOCUMENT_ONLY = create_app({"TESTING": True, "LOGBOOK_DATABASE": ":memory:", "LOGBOOK_SECRET_KEY": "unused"})
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", DOCUMENT_ONLY, config=CONFIG)


@pytest.fixture(params=["ann", "firm1", "super"])
def target(request, app, client, world):
    """A real token (an inspector's, the firm's, a supervisor's); two open and one closed inspection of the firm."""
    ann = token_for(client, "ann")
    headers = ann if request.param == "ann" else token_for(client, request.param)
    enterprise = world["enterprise"]
    ids = []
    for kind, extra in (("routine", {}), ("complaint", {"reference": "投诉-2026-001"})):
        response = client.post("/api/v1/inspections", headers=ann, json={
            "qr_token": enterprise["qr_token"], "kind": kind, "inspectors": ["bob"], "items": ["SCJG-001"]} | extra)
        assert response.status_code == 201, response.get_json()
        ids.append(response.get_json()["id"])
    closed = client.post(f"/api/v1/inspections/{ids[0]}/close", headers=ann, json={"result": "no_issue"})
    assert closed.status_code == 200, closed.get_json()
    response = client.post("/api/v1/inspections", headers=ann, json={
        "qr_token": enterprise["qr_token"], "kind": "routine", "inspectors": ["bob"], "items": ["SCJG-002"]})
    assert response.status_code == 201, response.get_json()
    ids.append(response.get_json()["id"])
    return {"app": app, "headers": headers,
            "real": {"inspection_id": st.sampled_from(ids), "qr_token": st.just(enterprise["qr_token"])}}


@schema.parametrize()
@schema.given(data=st.data())
@settings(max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_no_request_breaks_the_api_contract(case, data, target):
    if case.meta is None or case.meta.generation.mode.is_positive:
        for name, real in target["real"].items():
            if name in (case.path_parameters or {}) and data.draw(st.booleans(), label=f"real {name}"):
                case.path_parameters[name] = data.draw(real, label=name)
    case.call_and_validate(app=target["app"], headers=target["headers"])
