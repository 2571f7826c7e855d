"""The notification centre: list, unread badge, mark read; mail only after commit."""

from __future__ import annotations

from market.extensions import db
from market.notifications.mail import outbox
from market.notifications.services import notify, unread_count
from models.notifications import Notification
from tests.conftest import drain_outbox


def test_centre_badge_and_mark_read(client, login, make_user):
    user = make_user()
    other = make_user()
    notify(user, "test", "您的场景已通过审核", "正文", "/auth/account")
    notify(user, "test", "新的投标")
    notify(other, "test", "别人的通知")
    db.session.commit()
    login(user)
    home = client.get("/").get_data(as_text=True)
    assert 'id="unread-badge">2<' in home
    page = client.get("/notifications/").get_data(as_text=True)
    assert "您的场景已通过审核" in page and "新的投标" in page and "别人的通知" not in page
    first = db.session.query(Notification).filter_by(title="您的场景已通过审核").one()
    # following a notification's link marks it read
    resp = client.post(f"/notifications/{first.id}/read", data={"follow": "1"})
    assert resp.headers["Location"] == "/auth/account"
    assert unread_count(user) == 1
    assert "只看未读" in page
    unread_page = client.get("/notifications/?unread=1").get_data(as_text=True)
    assert "新的投标" in unread_page and "您的场景已通过审核" not in unread_page
    client.post("/notifications/read-all")
    assert unread_count(user) == 0
    assert "unread-badge" not in client.get("/").get_data(as_text=True)
    assert unread_count(other) == 1  # nobody else's changed


def test_someone_elses_notification_is_not_found(client, login, make_user):
    owner = make_user()
    notify(owner, "test", "私人")
    db.session.commit()
    note = db.session.query(Notification).one()
    login(make_user())
    assert client.post(f"/notifications/{note.id}/read").status_code == 404
    db.session.refresh(note)
    assert note.read_at is None


def test_mail_goes_out_only_after_commit(app_ctx, make_user):
    outbox.clear()
    user = make_user()
    notify(user, "test", "回滚的通知")
    db.session.rollback()
    assert drain_outbox().claimed == 0 and outbox == []
    notify(user, "test", "提交的通知")
    assert outbox == []  # queued in the transaction, not sent
    db.session.commit()
    assert outbox == []  # committed: waiting for the drain (the scheduler, or after the response)
    drain_outbox()
    assert [m["Subject"] for m in outbox] == ["提交的通知"]
    outbox.clear()


def test_anonymous_is_sent_to_login(client):
    resp = client.get("/notifications/")
    assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"]
