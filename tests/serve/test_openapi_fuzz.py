"""Schemathesis against the live server's OpenAPI document: generated requests never get a 5xx.

Also checked: every status and body is the one documented (status codes, content types, response
schemas). Bounded: a few dozen examples per operation, against the tiny model on loopback.
"""
from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is not installed (pip install -e '.[dev]')")
from hypothesis import HealthCheck, settings  # noqa: E402 (after the skip: without schemathesis nothing here runs)


@pytest.fixture(scope="module")
def api_schema(server):
    return schemathesis.openapi.from_url(f"{server}/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


def _as_json(value):
    """Bytes (or schemathesis' ``Binary``, a ``str`` subclass), wherever they sit, as a plain string: a file's
    schema type on the wire."""
    if isinstance(value, list):
        return [_as_json(v) for v in value]
    if isinstance(value, dict):
        return {k: _as_json(v) for k, v in value.items()}
    return value if value is None or type(value) in (str, bool, int, float) else "<bytes>"


def form_as_sent(body: dict) -> dict:
    """A multipart form as it reaches the server: a list is sent as one part per element, so ``[]`` sends
    nothing and ``[x]`` sends ``x``."""
    sent = {}
    for key, value in body.items():
        if isinstance(value, list) and len(value) <= 1:
            if not value:
                continue
            value = value[0]
        sent[key] = _as_json(value)  # a longer list: repeated parts, which the server refuses (422)
    return sent


def negative_case_is_valid_as_sent(case) -> bool:
    """Schemathesis (4.32) turns a form field into an array for its negative cases and then expects a refusal,
    but an empty or one-element array reaches the server as a missing or valid field: the request it sent was
    valid and a 200 is right ('ruler_mm was number, became array', with no ruler_mm part in the body). It failed
    the suite now and then at 25 examples per operation and most runs at 400. (The other case such runs found, an
    empty ``analyze`` accepted as not given, was the document's fault: it now says empty values are allowed.)"""
    import jsonschema_rs

    if not isinstance(case.body, dict) or case.media_type != "multipart/form-data":
        return False
    form_schema = case.operation.definition.raw["requestBody"]["content"]["multipart/form-data"]["schema"]
    return jsonschema_rs.validator_for(form_schema).is_valid(form_as_sent(case.body))


def test_an_empty_or_single_array_field_is_sent_as_a_missing_or_plain_field():
    assert form_as_sent({"file": b"\x89PNG", "ruler_mm": []}) == {"file": "<bytes>"}
    assert form_as_sent({"file": b"x", "ruler_mm": [12.5], "analyze": [1, 2]}) == \
        {"file": "<bytes>", "ruler_mm": 12.5, "analyze": [1, 2]}


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_no_server_errors(case):
    from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

    response = case.call(timeout=30)
    assert response.status_code < 500, f"{case.method} {case.path}: {response.status_code} {response.text[:300]}"
    # a random byte string is a schema-valid 'file' but not an image: a 415 for it is right, not a defect
    excluded = [positive_data_acceptance]
    if negative_case_is_valid_as_sent(case):
        excluded.append(negative_data_rejection)
    case.validate_response(response, excluded_checks=excluded)
