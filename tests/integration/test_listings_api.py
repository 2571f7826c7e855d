"""GET /api/v1/listings/<ref>: public when published, 404 JSON otherwise, drafts for the owner's token."""

from __future__ import annotations

from flask import g

from market.api.auth import new_token_secret, token_digest
from market.extensions import db
from market.listings import services
from models.users import ApiToken
from tests.listings_support import INSTRUMENT, SCENARIO, people, published_instrument


def _token(user) -> str:
    secret = new_token_secret()
    db.session.add(ApiToken(user=user, name="t", token_sha256=token_digest(secret), prefix=secret[:12]))
    db.session.commit()
    return secret


def _get(client, url, token=None):
    # tests share one app context across requests, so forget the previous request's token user
    g.pop("api_user", None)
    return client.get(url, headers={"Authorization": f"Bearer {token}"} if token else {})


def test_published_listing_is_public(client, make_org, make_user):
    p = people(make_org, make_user)
    listing = published_instrument(p)
    body = client.get(f"/api/v1/listings/{listing.ref}").get_json()
    assert body["ref"] == listing.ref and body["kind"] == "instrument" and body["status"] == "published"
    assert body["owner"]["name"] == p["org"].name
    assert body["fields"]["rate_cny_per_hour"] == "380.00" and body["fields"]["operation"] == "self"
    assert body["tags"] == ["扫描电镜", "SEM"]


def test_scenario_fields_in_api(client, make_org, make_user):
    p = people(make_org, make_user, kind="leading_firm")
    listing = services.create(p["staff"], "scenario", dict(SCENARIO))
    services.submit(p["staff"], listing)
    services.review(p["reviewer"], listing, "publish")
    body = client.get(f"/api/v1/listings/{listing.ref}").get_json()
    assert body["fields"]["budget_cny"] == "500000.00" and body["fields"]["in_district_only"] is True


def test_draft_is_404_except_for_its_own_org(client, make_org, make_user):
    p = people(make_org, make_user)
    listing = services.create(p["staff"], "instrument", dict(INSTRUMENT))
    db.session.commit()
    resp = _get(client, f"/api/v1/listings/{listing.ref}")
    assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "not_found"
    other = _get(client, f"/api/v1/listings/{listing.ref}", _token(p["sme"]))
    assert other.status_code == 404
    own = _get(client, f"/api/v1/listings/{listing.ref}", _token(p["admin"]))
    assert own.status_code == 200 and own.get_json()["status"] == "draft"
    reviewer = _get(client, f"/api/v1/listings/{listing.ref}", _token(p["reviewer"]))
    assert reviewer.status_code == 200
    assert _get(client, "/api/v1/listings/NOPE").status_code == 404
    assert _get(client, f"/api/v1/listings/{listing.ref}", "nope").status_code == 401


def test_openapi_documents_the_endpoint(client, app_ctx):
    spec = client.get("/api/openapi.json").get_json()
    assert "/api/v1/listings/{ref}" in spec["paths"]
