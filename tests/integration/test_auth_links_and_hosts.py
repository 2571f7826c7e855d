"""Links in mail come from SITE_URL, unexpected Host headers are refused, redirects stay on the site
(issue 8, items 2 and 3)."""

from __future__ import annotations

import re

import pytest

from market import create_app
from market.extensions import db
from market.notifications.mail import outbox
from tests.conftest import PASSWORD, drain_outbox


@pytest.fixture(autouse=True)
def _empty_outbox():
    outbox.clear()
    yield
    outbox.clear()


def test_reset_link_is_on_site_url_whatever_the_host_header(app, client, make_user):
    user = make_user()
    resp = client.post("/auth/reset", data={"email": user.email}, headers={"Host": "evil.example"})
    assert resp.status_code == 302
    body = outbox[-1].get_content()
    assert "evil.example" not in body
    link = re.search(r"https?://\S+/auth/reset/\S+", body).group(0)
    assert link.startswith(app.config["SITE_URL"].rstrip("/") + "/auth/reset/")


def test_reset_link_uses_a_configured_public_address(app, client, make_user, monkeypatch):
    monkeypatch.setitem(app.config, "SITE_URL", "https://market.example.cn/")
    user = make_user()
    client.post("/auth/reset", data={"email": user.email}, headers={"Host": "evil.example", "X-Forwarded-Host": "evil.example"})
    assert re.search(r"https://market\.example\.cn/auth/reset/\S+", outbox[-1].get_content())


def test_invitation_link_is_on_site_url(app, make_user):
    from market.auth import services
    from models.users import Role

    admin = make_user(role=Role.ORG_ADMIN)
    with app.test_request_context("/auth/members", base_url="http://evil.example"):
        org = admin.organisation
        services.add_member(admin, org, "new@example.cn", "新人", services.member_role_for(org))
        db.session.commit()  # the test is the boundary: the mail is queued in its transaction
    drain_outbox()
    body = outbox[-1].get_content()
    assert "evil.example" not in body and "http://localhost:5000/auth/welcome/" in body


def test_notification_mail_links_are_absolute_on_site_url(app_ctx, make_user):
    from market.notifications.services import notify

    user = make_user()
    notify(user, "test.kind", "标题", "正文", "/deals/bids/1")
    drain_outbox()
    assert "http://localhost:5000/deals/bids/1" in outbox[-1].get_content()


def test_unexpected_host_is_refused_when_trusted_hosts_are_set(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "TRUSTED_HOSTS", ["market.example.cn"])
    assert client.post("/auth/reset", data={"email": "a@example.cn"}, headers={"Host": "evil.example"}).status_code == 400
    assert client.get("/", headers={"Host": "market.example.cn"}).status_code == 200


def test_production_requires_site_url_and_derives_trusted_hosts_from_it(tmp_path):
    base = {"MARKET_ENV": "production", "SECRET_KEY": "k" * 40, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.db'}"}
    with pytest.raises(RuntimeError, match="SITE_URL"):
        create_app({**base, "SITE_URL": None})
    with pytest.raises(RuntimeError, match="SITE_URL"):
        create_app({**base, "SITE_URL": "market.example.cn"})
    prod = create_app({**base, "SITE_URL": "https://market.example.cn", "TRUSTED_HOSTS": None})
    assert prod.config["TRUSTED_HOSTS"] == ["market.example.cn"]
    assert prod.test_client().get("/", headers={"Host": "evil.example"}).status_code == 400
    explicit = create_app({**base, "SITE_URL": "https://market.example.cn", "TRUSTED_HOSTS": ["a.example", "b.example"]})
    assert explicit.config["TRUSTED_HOSTS"] == ["a.example", "b.example"]


# ---------------------------------------------------------------- redirects


NASTY_NEXT = [
    "/%09/evil.example/phish",  # the reported one
    "//evil.example",
    "/%5Cevil.example",
    "/%0A/evil.example",
    "%2F%2Fevil.example",
    "https://evil.example/",
    "https:evil.example",
    "javascript:alert(1)",
    "/%E3%80%80/evil.example",
    "%EF%BC%8F%EF%BC%8Fevil.example",
]


def _location(resp) -> str:
    assert resp.status_code == 302
    return resp.headers["Location"]


@pytest.mark.parametrize("target", NASTY_NEXT)
def test_login_never_redirects_off_site(client, make_user, target):
    user = make_user()
    resp = client.post(f"/auth/login?next={target}", data={"email": user.email, "password": PASSWORD})
    location = _location(resp)
    assert location == "/dashboard/", location  # the landing page after login (issue 13), never off site


def test_login_redirects_to_a_local_next(client, make_user):
    user = make_user()
    resp = client.post("/auth/login?next=/auth/account%3Ftab%3D1", data={"email": user.email, "password": PASSWORD})
    assert _location(resp) == "/auth/account?tab=1"


@pytest.mark.parametrize(
    ("referrer", "expected"),
    [
        ("http://evil.example/x", "/"),
        ("//evil.example/x", "/"),
        ("/\t/evil.example", "/"),
        ("http://localhost/listings/?q=1", "/listings/?q=1"),
        ("/search/", "/search/"),
    ],
)
def test_language_switch_goes_back_only_to_this_site(client, referrer, expected):
    resp = client.get("/lang/en", headers={"Referer": referrer})
    assert _location(resp) == expected
