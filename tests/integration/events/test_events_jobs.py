"""Scheduled event jobs are idempotent in the database: run twice, or by two schedulers at once,
they never create an event or send a reminder twice."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from market.events import jobs
from market.events import services as svc
from market.extensions import db
from market.scheduler import registered_jobs
from models.events import Event, EventReminder, EventStatus
from models.notifications import Notification
from models.users import Role
from tests.concurrency import run_parallel, tally
from tests.events_support import world


def _count(model, *where) -> int:
    return db.session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def test_jobs_are_registered(app):
    ids = {spec.id for spec in registered_jobs()}
    assert {"events.plan", "events.advance", "events.reminders"} <= ids


def test_plan_job_creates_each_event_once(app_ctx):
    day = dt.date(2027, 1, 10)  # 2027-Q1 (20 March) is within 75 days
    assert jobs.plan_events(day) == ["2027-Q1"]
    assert jobs.plan_events(day) == []
    assert _count(Event) == 1
    event = db.session.execute(select(Event)).scalar_one()
    assert event.plan_key == "2027-Q1" and event.event_date == dt.date(2027, 3, 20)
    assert len(event.slots) == svc.plan()["slot_grid"]["count"]
    assert jobs.plan_events(dt.date(2027, 4, 20)) == ["2027-Q2"]  # next quarter, 59 days ahead
    assert _count(Event) == 2


def test_two_schedulers_create_one_event(app, app_ctx):
    outcomes = run_parallel(app, 4, lambda i: jobs.plan_events(dt.date(2027, 1, 10)))
    assert tally(outcomes)["ok"] == 4, outcomes
    assert sorted(len(value) for _kind, value in outcomes) == [0, 0, 0, 1]
    db.session.expire_all()
    assert _count(Event, Event.plan_key == "2027-Q1") == 1


def test_advance_job_follows_the_plan_dates(app_ctx, make_org, make_user):
    jobs.plan_events(dt.date(2027, 1, 10))
    event = db.session.execute(select(Event)).scalar_one()
    assert jobs.advance_events(dt.date(2027, 1, 10)) == []  # 69 days before: still planned
    assert jobs.advance_events(dt.date(2027, 1, 20)) == [(event.id, EventStatus.CALL_FOR_SCENARIOS)]
    assert jobs.advance_events(dt.date(2027, 1, 20)) == []  # twice: nothing more
    steps = jobs.advance_events(event.registration_opens_on)
    assert steps == [(event.id, EventStatus.REGISTRATION)]
    jobs.advance_events(event.registration_closes_on)
    db.session.expire_all()
    assert db.session.get(Event, event.id).status == EventStatus.REQUESTS
    # at the deadline the agenda is computed (no requests: an empty agenda) and published
    jobs.advance_events(event.agenda_due_on)
    db.session.expire_all()
    event = db.session.get(Event, event.id)
    assert event.status == EventStatus.AGENDA_PUBLISHED and event.agenda_computed_at is not None
    jobs.advance_events(event.event_date + dt.timedelta(days=1))
    db.session.expire_all()
    assert db.session.get(Event, event.id).status == EventStatus.HELD


def test_hand_made_events_are_left_to_the_admin(app_ctx, make_org, make_user):
    w = world(make_org, make_user, smes=1, owners=1, status=EventStatus.REGISTRATION, accept=False)
    assert jobs.advance_events(dt.date(2027, 6, 17)) == []
    assert w.event.status == EventStatus.REGISTRATION


def _published(make_org, make_user):
    w = world(make_org, make_user, smes=2, owners=1, status=EventStatus.AGENDA_PUBLISHED)
    return w, w.event.event_date - dt.timedelta(days=1)


def test_reminders_are_sent_once(app_ctx, make_org, make_user):
    w, day = _published(make_org, make_user)
    assert jobs.send_reminders(day - dt.timedelta(days=5)) == 0  # too early
    assert jobs.send_reminders(day) == 3  # two SMEs and the owner
    assert jobs.send_reminders(day) == 0
    assert jobs.send_reminders(w.event.event_date) == 0
    assert _count(EventReminder) == 3
    assert _count(Notification, Notification.kind == "event.reminder") == 3


def test_two_schedulers_send_each_reminder_once(app, app_ctx, make_org, make_user):
    w, day = _published(make_org, make_user)
    outcomes = run_parallel(app, 3, lambda i: jobs.send_reminders(day))
    assert tally(outcomes)["ok"] == 3, outcomes
    assert sum(value for _kind, value in outcomes) == 3
    db.session.expire_all()
    assert _count(EventReminder) == 3
    assert _count(Notification, Notification.kind == "event.reminder") == 3


def test_cli_run_jobs_and_plan(app, app_ctx, make_user):
    make_user(role=Role.DISTRICT_ADMIN)
    runner = app.test_cli_runner()
    out = runner.invoke(args=["events", "plan", "--year", "2028", "--quarter", "2"])
    assert out.exit_code == 0 and "created: 2028-Q2" in out.output
    out = runner.invoke(args=["events", "plan", "--year", "2028", "--quarter", "2"])
    assert "exists: 2028-Q2" in out.output
    out = runner.invoke(args=["events", "run-jobs", "--today", "2028-04-20"])
    assert out.exit_code == 0, out.output
    db.session.expire_all()
    assert db.session.execute(select(Event.status).where(Event.plan_key == "2028-Q2")).scalar_one() == \
        EventStatus.CALL_FOR_SCENARIOS
