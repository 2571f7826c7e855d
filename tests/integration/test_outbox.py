"""The outbox (issue 9): side effects are written with the change and delivered after the commit by
one drain, retried with back-off, delivered once, dead after N attempts; links in mail are absolute."""

from __future__ import annotations

import datetime as dt
import json
import re
import smtplib
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from market import outbox
from market.extensions import db
from market.links import absolute, external_url, path_for
from market.notifications import mail
from market.notifications.services import notify
from models.base import utcnow
from models.outbox import OutboxMessage, OutboxStatus
from tests.concurrency import run_parallel, tally
from tests.conftest import drain_outbox, queued

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _empty_mailbox():
    mail.outbox.clear()
    yield
    mail.outbox.clear()


class FakeSMTP:
    """smtplib.SMTP stand-in: refuses connections while ``down``, else keeps what it was sent."""

    down = True
    sent: list = []

    def __init__(self, host, port, timeout=None):
        if FakeSMTP.down:
            raise ConnectionRefusedError(111, "Connection refused")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def send_message(self, msg):
        FakeSMTP.sent.append(msg)


@pytest.fixture
def smtp(app, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_BACKEND", "smtp")
    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    FakeSMTP.down, FakeSMTP.sent = True, []
    return FakeSMTP


def _mail_rows():
    return list(db.session.execute(select(OutboxMessage).where(OutboxMessage.topic == "mail").order_by(OutboxMessage.id)).scalars())


def test_smtp_failure_never_reaches_the_user_is_retried_with_backoff_and_delivered_once(app, client, make_user, smtp):
    user = make_user()
    resp = client.post("/auth/reset", data={"email": user.email})
    assert resp.status_code == 302  # the change is saved and the user is told so; the mail server is down
    db.session.expire_all()
    [row] = _mail_rows()
    first_try = utcnow()
    # the drain after the response tried once and scheduled a retry a minute later
    assert row.status == OutboxStatus.PENDING and row.attempts == 1 and "Connection refused" in row.last_error
    assert dt.timedelta(seconds=50) < row.available_at - first_try <= dt.timedelta(seconds=60)
    assert outbox.drain().claimed == 0  # not due yet: nobody hammers a mail server that is down

    report = outbox.drain(now=first_try + dt.timedelta(seconds=61))  # the scheduler a minute later: still down
    assert report.failed == 1
    db.session.refresh(row)
    assert row.attempts == 2 and row.available_at - (first_try + dt.timedelta(seconds=61)) == dt.timedelta(minutes=2)

    smtp.down = False
    later = first_try + dt.timedelta(minutes=10)
    assert outbox.drain(now=later).delivered == 1
    assert outbox.drain(now=later).claimed == 0  # a second drain finds nothing: delivered once
    assert [m["To"] for m in smtp.sent] == [user.email]
    assert smtp.sent[0]["Message-ID"] == f"<outbox.{row.id}.{row.created_at:%Y%m%d%H%M%S%f}@localhost>"
    assert "/auth/reset/" in smtp.sent[0].get_content()
    db.session.refresh(row)
    assert row.status == OutboxStatus.DELIVERED and row.delivered_at is not None and row.attempts == 3


def test_a_notification_is_saved_even_when_smtp_is_down(app_ctx, make_user, smtp):
    user = make_user()
    notify(user, "test", "待处理", "正文", path_for("notifications.index"))
    report = drain_outbox()
    assert report.failed == 1 and smtp.sent == []
    from models.notifications import Notification

    assert db.session.execute(select(Notification).where(Notification.user_id == user.id)).scalar_one().title == "待处理"


def test_backoff_doubles_and_is_capped(app_ctx):
    assert [outbox.backoff(n).total_seconds() / 60 for n in range(1, 10)] == [1, 2, 4, 8, 16, 32, 60, 60, 60]


def test_dead_after_max_attempts_shown_by_the_cli_and_retried(app, app_ctx, monkeypatch):
    monkeypatch.setitem(app.config, "OUTBOX_MAX_ATTEMPTS", 3)
    calls = []
    broken = {"on": True}

    def flaky(message):
        calls.append(message.id)
        if broken["on"]:
            raise RuntimeError("remote refused")

    monkeypatch.setitem(outbox._handlers, "test.flaky", outbox.Handler("test.flaky", flaky, False))
    row = outbox.enqueue("test.flaky", {"n": 1})
    db.session.commit()
    moment = utcnow()
    for _ in range(3):
        outbox.drain(now=moment)
        moment += dt.timedelta(hours=2)
    db.session.refresh(row)
    assert row.status == OutboxStatus.DEAD and row.attempts == 3 and "remote refused" in row.last_error
    assert outbox.drain(now=moment + dt.timedelta(days=1)).claimed == 0 and len(calls) == 3  # dead stays dead
    assert outbox.dead_count() == 1

    runner = app.test_cli_runner()
    listed = runner.invoke(args=["outbox", "list", "--dead"])
    assert listed.exit_code == 0 and f"#{row.id}\ttest.flaky\tdead\tattempts=3" in listed.output
    broken["on"] = False
    assert runner.invoke(args=["outbox", "retry", str(row.id)]).exit_code == 0
    drained = runner.invoke(args=["outbox", "drain"])
    assert drained.exit_code == 0 and "delivered 1" in drained.output
    db.session.refresh(row)
    assert row.status == OutboxStatus.DELIVERED and len(calls) == 4
    assert runner.invoke(args=["outbox", "retry", str(row.id)]).exit_code != 0  # delivered: nothing to retry


def test_district_staff_see_dead_rows_on_the_audit_page(app_ctx, client, login, make_user):
    from models.users import Role

    login(make_user(role=Role.DISTRICT_ADMIN))
    assert 'id="outbox-dead"' not in client.get("/admin/audit").get_data(as_text=True)
    db.session.add(OutboxMessage(topic="mail", payload={}, status=OutboxStatus.DEAD, attempts=10, last_error="boom"))
    db.session.commit()
    page = client.get("/admin/audit").get_data(as_text=True)
    assert 'id="outbox-dead"' in page and "outbox list --dead" in page


def test_handler_writes_commit_with_the_mark_and_roll_back_with_a_failure(app, app_ctx, make_user, monkeypatch):
    """A handler's own database writes (an alert's notifications) are part of its delivery: kept
    when the row is marked delivered, rolled back when it fails, so a retry does not repeat them."""
    user = make_user()
    fail = {"on": True}

    def tell(message):
        notify(user, "test", message.payload["title"])
        if fail["on"]:
            raise RuntimeError("index unavailable")

    monkeypatch.setitem(outbox._handlers, "test.tell", outbox.Handler("test.tell", tell, False))
    outbox.enqueue("test.tell", {"title": "新结果"})
    drain_outbox()
    from models.notifications import Notification

    assert db.session.query(Notification).count() == 0 and queued("mail") == []
    fail["on"] = False
    outbox.drain(now=utcnow() + dt.timedelta(minutes=5))
    assert [n.title for n in db.session.query(Notification)] == ["新结果"]
    assert [m["Subject"] for m in mail.outbox] == ["新结果"]  # the mail it queued went out in the same drain


def test_a_resend_after_a_crash_carries_the_same_message_id(app_ctx, make_user):
    user = make_user()
    notify(user, "test", "一次")
    drain_outbox()
    [row] = _mail_rows()
    # as if the process died after handing the message to the mail server, before marking the row
    row.status, row.available_at = OutboxStatus.PENDING, utcnow()
    db.session.commit()
    drain_outbox()
    assert len(mail.outbox) == 2 and mail.outbox[0]["Message-ID"] == mail.outbox[1]["Message-ID"]


def test_two_drains_at_once_deliver_every_row_once(app, app_ctx, monkeypatch):
    """Four drains at once, each claiming five rows at a time: on PostgreSQL they interleave through
    FOR UPDATE SKIP LOCKED; on SQLite they take turns (and the claim is one atomic UPDATE … RETURNING)."""
    monkeypatch.setitem(app.config, "OUTBOX_BATCH", 5)
    delivered: list[int] = []
    lock = threading.Lock()

    def record(message):
        time.sleep(0.002)  # long enough for the other drains to come and claim meanwhile
        with lock:
            delivered.append(message.payload["n"])

    outbox.register("test.count", record)
    try:
        for n in range(120):
            outbox.enqueue("test.count", {"n": n})
        db.session.commit()
        outcomes = run_parallel(app, 4, lambda i: outbox.drain().delivered)
        assert tally(outcomes) == {"ok": 4}, outcomes
        assert sum(v for _k, v in outcomes) == 120
        assert sorted(delivered) == list(range(120))  # each once, none twice
        if db.engine.dialect.name == "postgresql":
            assert sum(1 for _k, v in outcomes if v) >= 2  # the drains really shared the work
        assert outbox.drain().claimed == 0
    finally:
        outbox._handlers.pop("test.count")


def test_without_the_after_response_drain_rows_wait_for_the_scheduler(app, client, make_user, monkeypatch):
    monkeypatch.setitem(app.config, "OUTBOX_DRAIN_AFTER_REQUEST", False)  # production
    user = make_user()
    assert client.post("/auth/reset", data={"email": user.email}).status_code == 302
    assert mail.outbox == [] and len(queued("mail", OutboxStatus.PENDING)) == 1
    outbox.drain_job()  # what the scheduler runs every minute
    assert [m["To"] for m in mail.outbox] == [user.email]


def test_production_drains_in_the_scheduler_only():
    from market.config import DevelopmentConfig, ProductionConfig, TestingConfig

    assert DevelopmentConfig.OUTBOX_DRAIN_AFTER_REQUEST and TestingConfig.OUTBOX_DRAIN_AFTER_REQUEST
    assert not ProductionConfig.OUTBOX_DRAIN_AFTER_REQUEST


def test_unknown_topic_is_refused_at_enqueue(app_ctx):
    with pytest.raises(ValueError, match="no outbox handler"):
        outbox.enqueue("mial", {})


# ---------------------------------------------------------------- links


def test_links_come_from_the_url_map_on_site_url_outside_a_request(app, app_ctx, monkeypatch):
    monkeypatch.setitem(app.config, "SITE_URL", "https://market.example.cn/ccxq")
    assert path_for("deals.bid_detail", bid_id=5) == "/ccxq/deals/bids/5"
    assert external_url("ledger.entry", entry_id=7) == "https://market.example.cn/ccxq/ledger/entries/7"
    assert absolute(path_for("orgs.profile", org_id=3)) == external_url("orgs.profile", org_id=3)
    with app.test_request_context("/", base_url="http://evil.example"):
        assert external_url("deals.bid_detail", bid_id=5) == "https://market.example.cn/ccxq/deals/bids/5"


def test_a_mailed_deal_link_starts_with_site_url(app, app_ctx, make_user, monkeypatch):
    from market.deals.bids import bid_link
    from models.deals import Bid

    monkeypatch.setitem(app.config, "SITE_URL", "https://market.example.cn")
    user = make_user()
    bid = Bid(id=42)
    notify(user, "deal.bid", "新的揭榜方案", "请评审", bid_link(bid))
    drain_outbox()
    from models.notifications import Notification

    assert db.session.query(Notification).one().link == "/deals/bids/42"  # the centre keeps the path
    link = re.search(r"\S+/deals/bids/42", mail.outbox[-1].get_content()).group(0)
    assert link == "https://market.example.cn/deals/bids/42"


HAND_WRITTEN = re.compile(r"""f["']/|["']/(?:deals|ledger|orgs|listings|auth|search|notifications|admin)/""")


def test_no_service_writes_a_path_by_hand():
    """Links come from the URL map (market/links.py), never from f"/deals/bids/{id}" in a service."""
    files = set((REPO / "market").glob("**/services.py"))
    for feature in ("deals", "ledger"):
        files |= {p for p in (REPO / "market" / feature).glob("*.py") if p.name not in ("views.py", "api.py")}
    assert len(files) > 8
    offenders = [
        f"{path.relative_to(REPO)}:{n}: {line.strip()}"
        for path in sorted(files)
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if HAND_WRITTEN.search(line)
    ]
    assert offenders == []


# ---------------------------------------------------------------- the migration


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres_only)])
def test_migration_moves_pending_search_rows_and_back(backend, tmp_path):
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import inspect, text

    from market import create_app
    from tests.integration.test_migrations import _fresh_postgres, _fresh_sqlite

    before = "a3c9e51f0b27"
    fresh = _fresh_sqlite(tmp_path) if backend == "sqlite" else _fresh_postgres()
    with fresh as url:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url})
        with app.app_context():
            try:
                upgrade(revision=before)
                with db.engine.begin() as conn:
                    conn.execute(text(
                        "INSERT INTO search_outbox (listing_id, op, created_at, processed_at) VALUES "
                        "(7, 'upsert', '2026-12-01 00:00:00+00:00', NULL), "
                        "(8, 'delete', '2026-12-01 00:00:00+00:00', '2026-12-01 00:01:00+00:00'), "
                        "(9, 'delete', '2026-12-02 00:00:00+00:00', NULL)"))
                upgrade()
                with db.engine.connect() as conn:
                    assert "search_outbox" not in inspect(conn).get_table_names()
                    rows = conn.execute(text("SELECT topic, payload, status, attempts FROM outbox ORDER BY id")).all()
                def payload(p):
                    return p if isinstance(p, dict) else json.loads(p)

                assert [(t, payload(p), s, a) for t, p, s, a in rows] == [
                    ("search.index", {"listing_id": 7, "op": "upsert"}, "pending", 0),
                    ("search.index", {"listing_id": 9, "op": "delete"}, "pending", 0),
                ]  # the processed row is history and stays behind
                downgrade(revision=before)
                with db.engine.connect() as conn:
                    assert "outbox" not in inspect(conn).get_table_names()
                    back = conn.execute(text("SELECT listing_id, op, processed_at FROM search_outbox ORDER BY id")).all()
                assert [tuple(r) for r in back] == [(7, "upsert", None), (9, "delete", None)]
            finally:
                db.session.remove()
                db.engine.dispose()
