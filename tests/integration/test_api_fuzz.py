"""Schemathesis against /api/openapi.json (issue 8, "keep it fixed").

Every operation of the generated OpenAPI document is fuzzed through the WSGI app: schemathesis
generates path and query parameters from the document (plus a few real listing refs, so that the
200 answers are exercised too), calls the app, and checks that

- no answer is a 5xx (``not_a_server_error``);
- every status code is one the document declares (``status_code_conformance``);
- every body matches the declared schema for its status (``response_schema_conformance``), so the
  errors too: always ``{"error": {"code", "message"}}``;
- the content type is the declared one (``content_type_conformance``).

The run is bounded and reproducible: ``max_examples`` per operation, no deadline, ``derandomize``,
no example database. It runs twice: without a token and with a valid bearer token made by the
token service, and a third time with a revoked token (401 must also conform).
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from market.auth.services import create_token, revoke_token
from market.extensions import db
from market.listings import services as listing_services
from market.search import services as search_services
from tests.listings_support import INSTRUMENT, SCENARIO, people, published_instrument

MAX_EXAMPLES = 30
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance, content_type_conformance]
SETTINGS = settings(
    max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture
def api_world(app_ctx, make_org, make_user):
    """Listings made through the listing service (published and a draft) in an up-to-date index,
    with hostile markup in a description, and an org admin who may hold tokens."""
    search_services.invalidate_synonyms()
    search_services.reindex()
    p = people(make_org, make_user)
    hostile = {**INSTRUMENT, "description": "**粗体** [链接](javascript:alert(1)) <script>x</script> [[[[[[ ] ]"}
    published = [published_instrument(p, hostile), published_instrument(p, {**INSTRUMENT, "title": "扫描电镜二号"})]
    scenario = listing_services.create(p["staff"], "scenario", dict(SCENARIO))
    listing_services.submit(p["staff"], scenario)
    listing_services.review(p["reviewer"], scenario, "publish")
    draft = listing_services.create(p["staff"], "instrument", {**INSTRUMENT, "title": "草稿电镜"})
    yield {"refs": [x.ref for x in (*published, scenario, draft)], "user": p["admin"]}
    search_services.invalidate_synonyms()


def _operations(app):
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations, "the OpenAPI document lists no operations"
    return operations


def _fuzz(app, refs, headers):
    """Run every operation; return the operations' labels, the number of calls and the statuses seen."""
    calls = {"n": 0}
    statuses: set[str] = set()
    labels = []
    for operation in _operations(app):
        strategy = operation.as_strategy()
        if operation.query or operation.path_parameters:  # invalid input too: it must be a 4xx, never a 5xx
            strategy = st.one_of(strategy, operation.as_strategy(GenerationMode.NEGATIVE))
        if "{ref}" in operation.path:  # real refs too, or only the 404 branch would be seen
            strategy = st.one_of(strategy, _with_real_ref(strategy, refs))

        @given(case=strategy)
        @SETTINGS
        def run(case):
            calls["n"] += 1
            response = case.call_and_validate(headers=headers, checks=CHECKS)
            statuses.add(f"{case.operation.label} {response.status_code}")

        run()
        labels.append(operation.label)
    return labels, calls["n"], statuses


def _with_real_ref(strategy, refs):
    def set_ref(pair):
        case, ref = pair
        case.path_parameters = {**(case.path_parameters or {}), "ref": ref}
        return case

    return st.tuples(strategy, st.sampled_from(refs)).map(set_ref)


def test_api_fuzz_without_a_token(app, api_world):
    labels, n, statuses = _fuzz(app, api_world["refs"], headers={})
    assert {"GET /api/v1/me", "GET /api/v1/search", "GET /api/v1/listings/{ref}"} <= set(labels)
    assert n >= len(labels) * 5
    # both the success and the error branches were exercised
    assert {"GET /api/v1/me 401", "GET /api/v1/listings/{ref} 200", "GET /api/v1/listings/{ref} 404",
            "GET /api/v1/search 200", "GET /api/v1/search 422"} <= statuses


def test_api_fuzz_with_a_valid_token(app, api_world):
    _token, secret = create_token(api_world["user"], "fuzz", actor="test")
    db.session.commit()
    labels, n, statuses = _fuzz(app, api_world["refs"], headers={"Authorization": f"Bearer {secret}"})
    assert n >= len(labels) * 5
    assert {"GET /api/v1/me 200", "GET /api/v1/listings/{ref} 200", "GET /api/v1/search 200"} <= statuses


def test_api_fuzz_with_a_revoked_token(app, api_world):
    token, secret = create_token(api_world["user"], "fuzz", actor="test")
    revoke_token(token.id, "test")
    db.session.commit()
    labels, n, statuses = _fuzz(app, api_world["refs"], headers={"Authorization": f"Bearer {secret}"})
    assert n >= len(labels) * 5
    assert {"GET /api/v1/me 401", "GET /api/v1/listings/{ref} 401"} <= statuses
