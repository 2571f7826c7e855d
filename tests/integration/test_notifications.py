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


def test_the_console_backend_prints_mail_where_the_readme_says(app):
    """README: with the default console backend a reset or confirmation link is printed to the log. It was logged at
    INFO, below the root logger's default WARNING, so nothing was printed."""
    import io
    import logging

    from market.notifications import show_console_mail
    from market.notifications.mail import send_mail

    mail_log = logging.getLogger("market.mail")
    saved = (mail_log.level, list(mail_log.handlers), mail_log.propagate)
    mail_log.handlers.clear()
    try:
        show_console_mail()
        stream = io.StringIO()
        mail_log.handlers[0].setStream(stream)
        with app.app_context():
            app.config["MAIL_BACKEND"] = "console"
            try:
                send_mail("zhao@example.cn", "请确认您的邮箱", "http://localhost:5000/auth/confirm/abc")
            finally:
                app.config["MAIL_BACKEND"] = "memory"
        assert "mail to zhao@example.cn: 请确认您的邮箱" in stream.getvalue() and "/auth/confirm/abc" in stream.getvalue()
    finally:
        mail_log.setLevel(saved[0])
        mail_log.handlers[:] = saved[1]
        mail_log.propagate = saved[2]
