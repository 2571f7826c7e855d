"""Registration does not reveal whether an e-mail has an account (issue 8, item 10): one answer for a
new and a taken e-mail; the new org admin confirms the e-mail by a mailed, single-use link before
logging in; the owner of a taken e-mail is told, and nothing is created."""

from __future__ import annotations

import io
import re

import pytest
from itsdangerous import TimestampSigner
from sqlalchemy import func, select

from market.auth import services as auth_services
from market.extensions import db
from market.notifications.mail import outbox
from market.orgs.uscc import make_valid_uscc
from models.audit import AuditEntry
from models.organisations import Organisation
from models.users import Role, User
from tests.conftest import PASSWORD

from .conftest import PDF
from .test_orgs_views import register_data


@pytest.fixture(autouse=True)
def empty_mailbox():
    outbox.clear()
    yield
    outbox.clear()


def count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def mails_to(email: str) -> list:
    return [m for m in outbox if m["To"] == email]


def confirm_link(email: str) -> str:
    body = mails_to(email)[-1].get_content()
    match = re.search(r"http://localhost:5000(/auth/confirm/[^\s]+)", body)  # SITE_URL, never the Host
    assert match, body
    return match.group(1)


def register(client, **over):
    return client.post("/orgs/register", data=register_data(**over), content_type="multipart/form-data")


def logs_in(app, email: str, password: str = "Strong2026pw") -> bool:
    fresh = app.test_client()
    resp = fresh.post("/auth/login", data={"email": email, "password": password})
    return resp.status_code == 302


def test_taken_and_new_email_get_the_same_answer(app, client, make_user):
    owner = make_user(email="taken@example.cn")
    answers = []
    for n, email in enumerate(("taken@example.cn", "new@example.cn")):
        browser = app.test_client()
        resp = browser.post("/orgs/register", data=register_data(admin_email=email, uscc=make_valid_uscc(700 + n)),
                            content_type="multipart/form-data")
        page = browser.get(resp.headers["Location"])
        answers.append((resp.status_code, resp.headers["Location"], page.status_code,
                        page.get_data(as_text=True).replace(email, "EMAIL")))
    assert answers[0] == answers[1]
    status, location, page_status, body = answers[0]
    assert (status, location, page_status) == (302, "/orgs/register/sent", 200)
    assert "申请已提交：我们已向 EMAIL 发送了一封邮件，请点击其中的链接完成注册" in body
    assert len(mails_to(owner.email)) == 1 and len(mails_to("new@example.cn")) == 1


def test_taken_email_creates_nothing_and_mails_the_owner(client, make_user):
    owner = make_user(email="taken@example.cn")
    orgs, users, audits = count(Organisation), count(User), count(AuditEntry)
    resp = register(client, admin_email="TAKEN@example.cn ")
    assert resp.status_code == 302
    assert (count(Organisation), count(User), count(AuditEntry)) == (orgs, users, audits)
    [mail] = outbox
    assert mail["To"] == owner.email
    body = mail.get_content()
    assert "有人尝试用您的邮箱" in body and "请直接登录或找回密码" in body and "/auth/reset" in body
    assert "/auth/confirm/" not in body
    assert logs_in(client.application, owner.email, PASSWORD)  # the owner's account is untouched


def test_new_admin_cannot_log_in_before_confirming_and_can_after(app, client, make_user):
    reviewer = make_user(role=Role.DISTRICT_REVIEWER)
    resp = register(client)
    assert resp.status_code == 302
    org = db.session.execute(select(Organisation)).scalar_one()
    user = db.session.execute(select(User).where(User.email == "zhao@example.cn")).scalar_one()
    assert org.verification_status == "pending" and user.organisation_id == org.id and user.email_confirmed_at is None
    assert mails_to(reviewer.email)  # the reviewers are told at once, as before
    # not logged in by registering; a wrong password gets the vague refusal, the right one is told to confirm the
    # e-mail first and gets a fresh link (it was told "wrong password" and had no way on)
    assert client.get("/auth/account").status_code == 302
    wrong = app.test_client().post("/auth/login", data={"email": user.email, "password": "Wrong2026pw"})
    assert wrong.status_code == 200 and "邮箱或密码不正确" in wrong.get_data(as_text=True)
    sent = len(mails_to(user.email))
    refused = app.test_client().post("/auth/login", data={"email": user.email, "password": "Strong2026pw"})
    assert refused.status_code == 200 and "您的邮箱尚未确认" in refused.get_data(as_text=True)
    assert len(mails_to(user.email)) == sent + 1 and "/auth/confirm/" in mails_to(user.email)[-1].get_content()
    assert client.get("/auth/account").status_code == 302
    # the mailed link confirms, then asks for the password: a link never logs a browser in by itself
    resp = client.get(confirm_link(user.email))
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/auth/login?")
    assert client.get("/auth/account").status_code == 302
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "邮箱已确认" in page and user.email in page
    resp = client.post(resp.headers["Location"], data={"email": user.email, "password": "Strong2026pw"})
    assert resp.status_code == 302 and resp.headers["Location"] == f"/orgs/{org.id}"
    assert 'data-status="pending"' in client.get(f"/orgs/{org.id}").get_data(as_text=True)
    db.session.refresh(user)
    assert user.email_confirmed_at is not None
    assert "auth.email_confirmed" in [a.action for a in db.session.execute(select(AuditEntry)).scalars()]
    assert logs_in(app, user.email)


def test_confirmation_link_is_single_use(app, client):
    register(client)
    link = confirm_link("zhao@example.cn")
    assert app.test_client().get(link).status_code == 302
    again = app.test_client()
    resp = again.get(link)
    assert resp.status_code == 302 and resp.headers["Location"] == "/"  # spent: told to log in instead
    assert again.get("/").get_data(as_text=True).count("此邮箱已确认，请直接登录") == 1
    assert again.get("/auth/account").status_code == 302  # and it did not log this browser in


def test_expired_or_forged_confirmation_link_is_refused(app, client, monkeypatch):
    register(client)
    user = db.session.execute(select(User).where(User.email == "zhao@example.cn")).scalar_one()
    issued = TimestampSigner.get_timestamp
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: issued(self) - 24 * 3600 - 5)
    with app.test_request_context():
        token = auth_services.make_password_token(user, auth_services.CONFIRM_SALT)
    monkeypatch.setattr(TimestampSigner, "get_timestamp", issued)
    resp = client.get(f"/auth/confirm/{token}")
    assert resp.status_code == 400 and "已过期" in resp.get_data(as_text=True)
    reset_token = auth_services.make_password_token(user)  # another salt's token is no confirmation
    assert client.get(f"/auth/confirm/{reset_token}").status_code == 400
    db.session.refresh(user)
    assert user.email_confirmed_at is None and not logs_in(app, user.email)


def test_password_reset_confirms_an_unconfirmed_email(app, client):
    """The owner who lost the confirmation mail resets the password (the link proves the mailbox)."""
    register(client)
    client.post("/auth/reset", data={"email": "zhao@example.cn"})
    body = mails_to("zhao@example.cn")[-1].get_content()
    link = re.search(r"http://localhost:5000(/auth/reset/[^\s]+)", body).group(1)
    assert client.post(link, data={"password": "Anders2026pw", "confirm": "Anders2026pw"}).status_code == 302
    assert logs_in(app, "zhao@example.cn", "Anders2026pw")


def test_usccs_and_weak_passwords_still_show_as_form_errors(client, make_org, make_user):
    make_user(email="taken@example.cn")
    org = make_org()
    resp = register(client, uscc=org.uscc, admin_email="taken@example.cn")
    assert resp.status_code == 200 and "该统一社会信用代码已注册" in resp.get_data(as_text=True)
    resp = register(client, password="weak", password2="weak", licence=(io.BytesIO(PDF), "执照.pdf"))
    assert resp.status_code == 200 and "至少需要" in resp.get_data(as_text=True)
    assert outbox == []
