"""A copied session or remember-me cookie stops working after logout, password change or reset (issue 8, item 5)."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from market import create_app
from market.extensions import db
from market.notifications.mail import outbox
from models.users import User
from tests.conftest import PASSWORD

NEW = "Neu2026passwort"


@pytest.fixture(autouse=True)
def _empty_outbox():
    outbox.clear()
    yield
    outbox.clear()


def _login(client, user, remember=False):
    data = {"email": user.email, "password": PASSWORD}
    if remember:
        data["remember"] = "y"
    assert client.post("/auth/login", data=data).status_code == 302
    return client


def _copy(app, source, names=("session",)):
    """A second browser holding copies of ``source``'s cookies (as a thief would)."""
    thief = app.test_client()
    for name in names:
        cookie = source.get_cookie(name)
        assert cookie is not None, name
        thief.set_cookie(name, cookie.value)
    return thief


def _logged_in(client) -> bool:
    return client.get("/auth/account").status_code == 200


def test_copied_session_cookie_works_until_logout_then_never(app, client, make_user):
    user = make_user()
    _login(client, user)
    thief = _copy(app, client)
    assert _logged_in(thief)  # the copy works while the session lasts
    client.post("/auth/logout")
    assert not _logged_in(client)
    assert not _logged_in(thief)


def test_logout_ends_the_sessions_on_other_devices_too(app, make_user):
    user = make_user()
    phone, laptop = _login(app.test_client(), user), _login(app.test_client(), user)
    phone.post("/auth/logout")
    assert not _logged_in(laptop)


def test_password_change_ends_other_sessions_and_keeps_this_one(app, client, make_user):
    user = make_user()
    _login(client, user)
    thief = _copy(app, client)
    resp = client.post("/auth/password", data={"current_password": PASSWORD, "new_password": NEW, "confirm": NEW})
    assert resp.status_code == 302
    assert _logged_in(client)
    assert not _logged_in(thief)


def test_password_reset_ends_every_session(app, client, make_user):
    user = make_user()
    _login(client, user)
    thief = _copy(app, client)
    other = app.test_client()
    other.post("/auth/reset", data={"email": user.email})
    link = re.search(r"http://localhost:5000(/auth/reset/\S+)", outbox[-1].get_content()).group(1)
    assert other.post(link, data={"password": NEW, "confirm": NEW}).status_code == 302
    assert not _logged_in(thief)
    assert not _logged_in(client)


def test_remember_cookie_works_until_logout_then_never(app, client, make_user):
    user = make_user()
    _login(client, user, remember=True)
    cookie = client.get_cookie("remember_token")
    assert cookie is not None
    thief = _copy(app, client, ("remember_token",))  # no session cookie: logged in by remember-me alone
    assert _logged_in(thief)
    client.post("/auth/logout")
    assert not _logged_in(_copy(app, client, ())) and not _logged_in(thief)
    fresh = app.test_client()
    fresh.set_cookie("remember_token", cookie.value)
    assert not _logged_in(fresh)


def test_remember_cookie_dies_with_a_password_change(app, client, make_user):
    user = make_user()
    _login(client, user, remember=True)
    remembered = client.get_cookie("remember_token").value
    client.post("/auth/password", data={"current_password": PASSWORD, "new_password": NEW, "confirm": NEW})
    fresh = app.test_client()
    fresh.set_cookie("remember_token", remembered)
    assert not _logged_in(fresh)
    # the browser that changed the password got a new remember cookie that works
    renewed = app.test_client()
    renewed.set_cookie("remember_token", client.get_cookie("remember_token").value)
    assert _logged_in(renewed)


def test_session_of_the_old_id_only_form_is_refused(app, client, make_user):
    user = make_user()
    with client.session_transaction() as sess:
        sess["_user_id"] = str(user.id)
        sess["_fresh"] = True
    assert not _logged_in(client)
    with client.session_transaction() as sess:
        sess["_user_id"] = user.get_id()
    assert _logged_in(client)


def test_deactivation_ends_the_members_sessions(app, client, make_user):
    from market.auth import services
    from models.users import Role

    member = make_user()
    admin = make_user(role=Role.ORG_ADMIN, org=member.organisation)
    _login(client, member)
    services.set_member_active(admin, member.organisation, member.id, False)
    db.session.commit()
    assert not _logged_in(client)
    db.session.refresh(member)
    assert member.session_version >= 1


def test_remember_me_is_short_and_its_cookie_flagged_in_production(app, tmp_path):
    assert app.config["REMEMBER_COOKIE_DURATION"] <= dt.timedelta(days=14)
    prod = create_app(
        {
            "MARKET_ENV": "production", "TESTING": False, "SECRET_KEY": "x" * 40, "SITE_URL": "https://market.example.cn",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.db'}",
            "SESSION_COOKIE_SECURE": True, "REMEMBER_COOKIE_SECURE": True,
        }
    )
    from market.config import ProductionConfig

    assert ProductionConfig.REMEMBER_COOKIE_SECURE == ProductionConfig.SESSION_COOKIE_SECURE
    assert prod.config["REMEMBER_COOKIE_HTTPONLY"] and prod.config["REMEMBER_COOKIE_SAMESITE"] == "Lax"
    assert prod.config["SESSION_COOKIE_SAMESITE"] == "Lax" and prod.config["SESSION_COOKIE_HTTPONLY"]
    with prod.test_request_context("/", base_url="https://market.example.cn"):
        from flask import make_response
        from flask_login import login_user

        user = User(id=7, email="a@example.cn", name="a", password_hash="x", role="sme_member", active=True, session_version=3)
        login_user(user, remember=True)
        response = prod.process_response(make_response("ok"))
        cookies = response.headers.getlist("Set-Cookie")
        remember = next(c for c in cookies if c.startswith("remember_token="))
        assert "Secure" in remember and "HttpOnly" in remember and "SameSite=Lax" in remember
