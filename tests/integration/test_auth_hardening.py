"""Smaller holes closed (issue 8, item 10): tokens of demoted or deactivated members, one login answer,
`flask demo` refused in production."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from market import create_app
from market.auth import services
from market.extensions import db
from models.audit import AuditEntry
from models.base import Base
from models.users import ApiToken, Role, User
from tests.conftest import PASSWORD


def _me(client, secret):
    return client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code


@pytest.fixture
def org_with_admins(make_org, make_user):
    org = make_org(kind="leading_firm")
    boss = make_user(role=Role.ORG_ADMIN, org=org)
    deputy = make_user(role=Role.ORG_ADMIN, org=org)
    return org, boss, deputy


def test_demoted_admin_loses_their_tokens(client, org_with_admins):
    org, boss, deputy = org_with_admins
    _token, secret = services.create_token(deputy, "集成", actor=deputy)
    db.session.commit()
    assert _me(client, secret) == 200
    services.set_member_role(boss, org, deputy.id, services.member_role_for(org))
    db.session.commit()
    assert _me(client, secret) == 401
    assert "api_token.revoked" in set(db.session.execute(select(AuditEntry.action)).scalars())


def test_deactivated_member_loses_their_tokens(client, org_with_admins):
    org, boss, deputy = org_with_admins
    _token, secret = services.create_token(deputy, "集成", actor=deputy)
    services.set_member_active(boss, org, deputy.id, False)
    # even once reactivated, the old token stays revoked
    services.set_member_active(boss, org, deputy.id, True)
    assert _me(client, secret) == 401


def test_a_promotion_keeps_tokens(client, org_with_admins, make_user):
    org, boss, deputy = org_with_admins
    _token, secret = services.create_token(deputy, "集成", actor=deputy)
    member = make_user(role=services.member_role_for(org), org=org)
    services.set_member_role(boss, org, member.id, Role.ORG_ADMIN)
    assert _me(client, secret) == 200


def test_org_admin_sees_and_revokes_a_members_token(client, login, org_with_admins):
    org, boss, deputy = org_with_admins
    token, secret = services.create_token(deputy, "数据同步", actor=deputy)
    login(boss)
    page = client.get("/auth/tokens").get_data(as_text=True)
    assert 'id="member-tokens"' in page and "数据同步" in page and deputy.email in page
    resp = client.post(f"/auth/tokens/{token.id}/revoke")
    assert resp.status_code == 302
    assert _me(client, secret) == 401


def test_admin_of_another_organisation_can_neither_see_nor_revoke(client, login, org_with_admins, make_user, make_org):
    org, boss, deputy = org_with_admins
    token, secret = services.create_token(deputy, "数据同步", actor=deputy)
    stranger = make_user(role=Role.ORG_ADMIN, org=make_org(kind="leading_firm"))
    login(stranger)
    assert "数据同步" not in client.get("/auth/tokens").get_data(as_text=True)
    assert client.post(f"/auth/tokens/{token.id}/revoke").status_code == 404
    assert _me(client, secret) == 200


# ---------------------------------------------------------------- one answer to a failed login


def test_unknown_wrong_locked_and_deactivated_get_one_answer(app, client, make_user):
    answers = {}
    answers["unknown"] = client.post("/auth/login", data={"email": "nobody@example.cn", "password": "x" * 12})
    wrong = make_user()
    answers["wrong"] = client.post("/auth/login", data={"email": wrong.email, "password": "x" * 12})
    inactive = make_user(active=False)
    answers["deactivated, right password"] = client.post("/auth/login", data={"email": inactive.email, "password": PASSWORD})
    locked = make_user()
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        client.post("/auth/login", data={"email": locked.email, "password": "x" * 12})
    answers["locked, right password"] = client.post("/auth/login", data={"email": locked.email, "password": PASSWORD})

    def message(resp):
        return re.findall(r'class="invalid-feedback[^"]*"[^>]*>\s*([^<]+?)\s*<', resp.get_data(as_text=True))

    texts = {k: message(v) for k, v in answers.items()}
    assert all(r.status_code == 200 for r in answers.values())
    assert texts["unknown"] and all(t == texts["unknown"] for t in texts.values()), texts


def test_unknown_email_costs_a_password_hash_too(client, monkeypatch):
    from market.auth import passwords

    calls = []
    real = passwords.verify_password
    monkeypatch.setattr(services, "verify_password", lambda h, p: calls.append(h) or real(h, p))
    client.post("/auth/login", data={"email": "nobody@example.cn", "password": "x" * 12})
    assert len(calls) == 1 and calls[0].startswith("$argon2")


# ---------------------------------------------------------------- flask demo


def test_flask_demo_refuses_production(tmp_path):
    app = create_app({"MARKET_ENV": "production", "TESTING": False, "SECRET_KEY": "k" * 40,
                      "SITE_URL": "https://market.example.cn", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.db'}"})
    with app.app_context():
        Base.metadata.create_all(db.engine)
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code != 0
    assert "MARKET_ENV=production" in result.output
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(User)).scalar_one() == 0
        assert db.session.execute(select(func.count()).select_from(ApiToken)).scalar_one() == 0
        db.session.remove()
        db.engine.dispose()
