"""Accounts: password change and reset, throttling, account settings, organisation members, CSRF."""

from __future__ import annotations

import re

import pytest
from itsdangerous.timed import TimestampSigner
from sqlalchemy import select

from market.auth import services
from market.auth.passwords import verify_password
from market.extensions import db
from market.notifications.mail import outbox
from models.audit import AuditEntry
from models.users import Role, User
from tests.conftest import PASSWORD

NEW = "Neu2026passwort"


@pytest.fixture(autouse=True)
def _empty_outbox():
    outbox.clear()
    yield
    outbox.clear()


def audit_actions() -> list[str]:
    return list(db.session.execute(select(AuditEntry.action).order_by(AuditEntry.id)).scalars())


def link_in_last_mail(path: str) -> str:
    body = outbox[-1].get_content()
    match = re.search(rf"http://localhost:5000(/auth/{path}/[^\s]+)", body)  # SITE_URL, not the Host
    assert match, body
    return match.group(1)


# ---------------------------------------------------------------- login and throttling


def test_unknown_user_gets_the_same_message_as_a_wrong_password(client):
    resp = client.post("/auth/login", data={"email": "nobody@example.cn", "password": "whatever123"})
    assert resp.status_code == 200
    assert "邮箱或密码不正确" in resp.get_data(as_text=True)
    assert audit_actions() == []


def test_login_locks_after_repeated_failures_then_unlocks(client, make_user, app):
    user = make_user()
    limit = app.config["LOGIN_MAX_FAILURES"]
    for _ in range(limit):
        resp = client.post("/auth/login", data={"email": user.email, "password": "wrong-pass-1"})
        assert "邮箱或密码不正确" in resp.get_data(as_text=True)
    # now even the right password is refused, with the one answer that does not reveal the account
    resp = client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    assert resp.status_code == 200
    assert "邮箱或密码不正确" in resp.get_data(as_text=True) and "15 分钟" in resp.get_data(as_text=True)
    assert client.get("/auth/account").status_code == 302
    assert "auth.locked" in audit_actions()
    db.session.refresh(user)
    assert user.locked_until is not None
    # when the lock has passed, the right password works again
    user.locked_until = user.locked_until.replace(year=2000)
    db.session.commit()
    assert client.post("/auth/login", data={"email": user.email, "password": PASSWORD}).status_code == 302


def test_deactivated_user_cannot_log_in_and_gets_the_generic_answer(client, make_user):
    user = make_user(active=False)
    resp = client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    assert "邮箱或密码不正确" in resp.get_data(as_text=True) and "停用" not in resp.get_data(as_text=True)
    assert client.get("/auth/account").status_code == 302


def test_csrf_token_missing_is_refused_with_a_clear_message(app, client, make_user):
    user = make_user()
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        resp = client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
        assert resp.status_code == 400
        assert "缺少安全令牌" in resp.get_data(as_text=True)
        assert client.get("/auth/account").status_code == 302  # not logged in
        # with the token from the form, it works
        page = client.get("/auth/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        resp = client.post("/auth/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
        assert resp.status_code == 302
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


# ---------------------------------------------------------------- change password


def test_change_password(client, make_user, login):
    user = make_user()
    login(user)
    resp = client.post("/auth/password", data={"current_password": PASSWORD, "new_password": NEW, "confirm": NEW})
    assert resp.status_code == 302
    db.session.refresh(user)
    assert verify_password(user.password_hash, NEW)
    assert "auth.password_changed" in audit_actions()


@pytest.mark.parametrize(
    ("current", "new", "confirm", "message"),
    [
        ("wrong-password-9", NEW, NEW, "当前密码不正确"),
        (PASSWORD, "short1", "short1", "密码至少需要 10 个字符"),
        (PASSWORD, "onlyletterslong", "onlyletterslong", "密码需同时包含字母和数字"),
        (PASSWORD, NEW, NEW + "x", "两次输入的密码不一致"),
        (PASSWORD, PASSWORD, PASSWORD, "新密码不能与当前密码相同"),
    ],
)
def test_change_password_refusals_change_nothing(client, make_user, login, current, new, confirm, message):
    user = make_user()
    login(user)
    before = user.password_hash
    resp = client.post("/auth/password", data={"current_password": current, "new_password": new, "confirm": confirm})
    assert resp.status_code == 200
    assert message in resp.get_data(as_text=True)
    db.session.refresh(user)
    assert user.password_hash == before
    assert "auth.password_changed" not in audit_actions()


# ---------------------------------------------------------------- reset password


def test_reset_password_by_emailed_link_works_once(client, make_user):
    user = make_user()
    resp = client.post("/auth/reset", data={"email": user.email.upper()})
    assert resp.status_code == 302
    assert len(outbox) == 1 and outbox[0]["To"] == user.email
    link = link_in_last_mail("reset")
    assert client.get(link).status_code == 200
    resp = client.post(link, data={"password": NEW, "confirm": NEW})
    assert resp.status_code == 302
    db.session.refresh(user)
    assert verify_password(user.password_hash, NEW)
    assert {"auth.password_reset_requested", "auth.password_reset"} <= set(audit_actions())
    # single use: the same link is refused now
    resp = client.post(link, data={"password": "Anders2026pw", "confirm": "Anders2026pw"})
    assert resp.status_code == 400
    assert "已使用过或已失效" in resp.get_data(as_text=True)
    db.session.refresh(user)
    assert verify_password(user.password_hash, NEW)


def test_reset_for_unknown_email_says_the_same_and_sends_nothing(client):
    resp = client.post("/auth/reset", data={"email": "nobody@example.cn"}, follow_redirects=True)
    assert "如果该邮箱已注册" in resp.get_data(as_text=True)
    assert outbox == []


def test_expired_reset_link_is_refused(client, make_user, app, monkeypatch):
    user = make_user()
    issued = TimestampSigner.get_timestamp
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: issued(self) - app.config["PASSWORD_RESET_MAX_AGE"] - 5)
    token = services.make_password_token(user)
    monkeypatch.setattr(TimestampSigner, "get_timestamp", issued)
    before = user.password_hash
    resp = client.post(f"/auth/reset/{token}", data={"password": NEW, "confirm": NEW})
    assert resp.status_code == 400
    assert "此链接已过期" in resp.get_data(as_text=True)
    db.session.refresh(user)
    assert user.password_hash == before


def test_forged_reset_link_is_refused(client, make_user):
    make_user()
    resp = client.get("/auth/reset/not-a-real-token")
    assert resp.status_code == 400
    assert "此链接无效" in resp.get_data(as_text=True)


def test_reset_with_weak_password_keeps_the_old_one(client, make_user):
    user = make_user()
    token = services.make_password_token(user)
    resp = client.post(f"/auth/reset/{token}", data={"password": "weak", "confirm": "weak"})
    assert resp.status_code == 200
    assert "密码至少需要 10 个字符" in resp.get_data(as_text=True)
    db.session.refresh(user)
    assert verify_password(user.password_hash, PASSWORD)


# ---------------------------------------------------------------- account page


def test_account_language_preference_is_saved_and_used(client, make_user, login):
    user = make_user()
    login(user)
    resp = client.post("/auth/account", data={"name": "新名字", "locale": "en"})
    assert resp.status_code == 302
    db.session.refresh(user)
    assert (user.name, user.locale) == ("新名字", "en")
    assert "account.updated" in audit_actions()
    # a fresh session picks the stored preference at login
    client.post("/auth/logout")
    with client.session_transaction() as sess:
        sess.clear()
    login(user)
    assert '<html lang="en">' in client.get("/").get_data(as_text=True)


def test_account_refuses_unknown_language(client, make_user, login):
    user = make_user()
    login(user)
    resp = client.post("/auth/account", data={"name": "x", "locale": "fr"})
    assert resp.status_code == 200
    db.session.refresh(user)
    assert user.locale is None


# ---------------------------------------------------------------- organisation members


@pytest.fixture
def sme_admin(make_user, make_org):
    return make_user(role=Role.ORG_ADMIN, org=make_org(kind="sme"))


def test_org_admin_adds_member_who_sets_password_by_link(client, login, sme_admin):
    login(sme_admin)
    resp = client.post("/auth/members", data={"email": "New.Member@example.cn", "name": "新成员", "role": Role.SME_MEMBER})
    assert resp.status_code == 302
    member = services.find_user_by_email("new.member@example.cn")
    assert member.organisation_id == sme_admin.organisation_id and member.role == Role.SME_MEMBER
    assert "org.member_added" in audit_actions()
    link = link_in_last_mail("welcome")
    client.post("/auth/logout")
    resp = client.post(link, data={"password": NEW, "confirm": NEW})
    assert resp.status_code == 302
    assert client.post("/auth/login", data={"email": member.email, "password": NEW}).status_code == 302


@pytest.mark.parametrize(
    ("email", "role", "message"),
    [
        ("dup", Role.SME_MEMBER, "该邮箱已被注册"),
        ("x@example.cn", Role.PROVIDER_MEMBER, "不是有效的选择"),
        ("x@example.cn", Role.DISTRICT_ADMIN, "不是有效的选择"),
    ],
)
def test_add_member_refusals_change_nothing(client, login, sme_admin, email, role, message):
    login(sme_admin)
    email = sme_admin.email if email == "dup" else email
    users_before = db.session.execute(select(User.id)).all()
    resp = client.post("/auth/members", data={"email": email, "name": "某人", "role": role})
    assert resp.status_code == 200
    assert message in resp.get_data(as_text=True)
    assert db.session.execute(select(User.id)).all() == users_before
    assert outbox == []


def test_provider_org_gets_provider_members(make_user, make_org):
    admin = make_user(role=Role.ORG_ADMIN, org=make_org(kind="university"))
    member = services.add_member(admin, admin.organisation, "t@uni.cn", "老师", Role.PROVIDER_MEMBER)
    assert member.role == Role.PROVIDER_MEMBER
    with pytest.raises(services.ValidationError):
        services.add_member(admin, admin.organisation, "s@uni.cn", "学生", Role.SME_MEMBER)


def test_deactivate_and_change_role(client, login, sme_admin, make_user):
    member = make_user(role=Role.SME_MEMBER, org=sme_admin.organisation)
    login(sme_admin)
    org_id = sme_admin.organisation_id
    assert client.post(f"/auth/orgs/{org_id}/members/{member.id}/deactivate").status_code == 302
    db.session.refresh(member)
    assert not member.active
    assert client.post(f"/auth/orgs/{org_id}/members/{member.id}/activate").status_code == 302
    resp = client.post(f"/auth/orgs/{org_id}/members/{member.id}/role", data={f"m{member.id}-role": Role.ORG_ADMIN})
    assert resp.status_code == 302
    db.session.refresh(member)
    assert member.active and member.role == Role.ORG_ADMIN
    assert {"org.member_deactivated", "org.member_activated", "org.member_role_changed"} <= set(audit_actions())


def test_last_admin_cannot_be_demoted_or_deactivate_self(client, login, sme_admin):
    login(sme_admin)
    org_id = sme_admin.organisation_id
    resp = client.post(
        f"/auth/orgs/{org_id}/members/{sme_admin.id}/role", data={f"m{sme_admin.id}-role": Role.SME_MEMBER},
        follow_redirects=True,
    )
    assert "机构至少需要一名在用的管理员" in resp.get_data(as_text=True)
    resp = client.post(f"/auth/orgs/{org_id}/members/{sme_admin.id}/deactivate", follow_redirects=True)
    assert "不能停用自己的账号" in resp.get_data(as_text=True)
    db.session.refresh(sme_admin)
    assert sme_admin.active and sme_admin.role == Role.ORG_ADMIN
    assert not any(a.startswith("org.member") for a in audit_actions())


def test_org_admin_cannot_touch_another_organisation(client, login, sme_admin, make_user):
    other = make_user(role=Role.SME_MEMBER)
    login(sme_admin)
    assert client.get(f"/auth/orgs/{other.organisation_id}/members").status_code == 403
    assert client.post(f"/auth/orgs/{other.organisation_id}/members/{other.id}/deactivate").status_code == 403
    # nor a member of another org through their own org's URL
    assert client.post(f"/auth/orgs/{sme_admin.organisation_id}/members/{other.id}/deactivate").status_code == 404
    db.session.refresh(other)
    assert other.active


def test_district_admin_manages_any_organisation(client, login, make_user, sme_admin):
    admin = make_user(role=Role.DISTRICT_ADMIN)
    login(admin)
    page = client.get(f"/auth/orgs/{sme_admin.organisation_id}/members")
    assert page.status_code == 200 and sme_admin.email in page.get_data(as_text=True)


def test_plain_member_cannot_manage_members(client, login, make_user):
    login(make_user(role=Role.SME_MEMBER))
    assert client.get("/auth/members").status_code == 403
