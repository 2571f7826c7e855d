"""Scheduled work for events (market.scheduler; run by `flask --app market scheduler run`).

Every job is "catch up to what the dates imply" and idempotent in the database, so a missed run is
made good by the next one and a repeated run (a crash before commit, or two schedulers by mistake)
changes nothing:

- ``events.plan``: create the plan's events whose creation date has come (unique ``event.plan_key``);
- ``events.advance``: move plan-dated events along (call for scenarios, registration, requests,
  agenda computed and published, held) — each step checks the current status under a row lock;
- ``events.reminders``: the day-before reminder with the personal agenda, once per
  (event, organisation, kind) (unique ``event_reminder``).

The jobs commit (services only flush). Dates are Beijing dates.
"""

from __future__ import annotations

import datetime as dt
import logging

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from market.domain.localtime import today as local_today
from market.errors import DomainError
from market.extensions import db
from market.links import path_for
from market.notifications.services import org_admins
from market.scheduler import register_job
from models.events import Event, EventReminder, EventStatus

from . import services as svc

log = logging.getLogger("market.events.jobs")
ACTOR = "scheduler"


def plan_events(today: dt.date | None = None) -> list[str]:
    """Create every plan event (this year's and next year's quarters) whose creation date has come
    and whose date has not passed. Returns the plan keys created by this run."""
    today = today or local_today()
    p = svc.plan()
    created = []
    for year in (today.year, today.year + 1):
        for quarter in (1, 2, 3, 4):
            entry = svc.plan_entry(year, quarter)
            if entry.event_date - dt.timedelta(days=p["create_days_before"]) <= today < entry.event_date:
                _event, new = svc.create_from_plan(ACTOR, year, quarter)
                if new:
                    created.append(svc.plan_key(year, quarter))
    db.session.commit()
    return created


def _due_status(event: Event, today: dt.date) -> str:
    """Where the plan's dates say the event should be today."""
    p = svc.plan()
    if today > event.event_date:
        return EventStatus.HELD
    if event.agenda_due_on and today >= event.agenda_due_on:
        return EventStatus.AGENDA_PUBLISHED
    if event.registration_closes_on and today >= event.registration_closes_on:
        return EventStatus.REQUESTS
    if event.registration_opens_on and today >= event.registration_opens_on:
        return EventStatus.REGISTRATION
    if today >= event.event_date - dt.timedelta(days=p["call_days_before"]):
        return EventStatus.CALL_FOR_SCENARIOS
    return EventStatus.PLANNED


ORDER = list(EventStatus)


def advance_events(today: dt.date | None = None) -> list[tuple[int, str]]:
    """Move every plan-dated event up to the status its dates imply, one step at a time; computing
    and publishing the agenda at the deadline. Events created by hand (no plan key) are left to the
    admin. Returns (event id, new status) for each step taken."""
    today = today or local_today()
    steps = []
    ids = db.session.execute(select(Event.id).where(
        Event.plan_key.is_not(None), Event.status.not_in([EventStatus.HELD, EventStatus.CLOSED]))).scalars().all()
    for event_id in ids:
        event = svc.get_event(event_id, lock=True)
        due = _due_status(event, today)
        try:
            while ORDER.index(event.status) < ORDER.index(due):
                if event.status == EventStatus.REQUESTS:
                    svc.compute_agenda(ACTOR, event)
                svc.advance(ACTOR, event)
                steps.append((event.id, str(event.status)))
        except DomainError as err:  # e.g. nothing to place: leave it for the admin, say why
            log.warning("event %s stays %s: %s", event.id, event.status, err.message)
        db.session.commit()
    return steps


def send_reminders(today: dt.date | None = None) -> int:
    """The day-before reminder to each participant of a published agenda: once per (event,
    organisation, kind), however many times or schedulers run this."""
    today = today or local_today()
    days = svc.plan()["reminder_days_before"]
    kind = "day_before"
    sent = 0
    events = db.session.execute(select(Event).where(Event.status == EventStatus.AGENDA_PUBLISHED)).scalars().all()
    for event in events:
        if not event.event_date - dt.timedelta(days=days) <= today <= event.event_date:
            continue
        for reg in event.registrations:
            try:
                with db.session.begin_nested():
                    db.session.add(EventReminder(event_id=event.id, organisation_id=reg.organisation_id, kind=kind))
                    db.session.flush()
            except IntegrityError:
                continue  # already reminded (this run's twin, or an earlier run)
            svc.notify(org_admins(reg.organisation_id), "event.reminder",
                       _l("明天参加：%(title)s", title=event.title),
                       _l("地点：%(venue)s。请查看个人日程与桌号，并携带签到二维码。", venue=event.venue),
                       path_for("events.my_agenda", event_id=event.id))
            sent += 1
        db.session.commit()  # per event: the reminders and their notifications together
    return sent


def register_jobs() -> None:
    register_job("events.plan", plan_events, "cron", hour=6, minute=0)
    register_job("events.advance", advance_events, "cron", hour=6, minute=10)
    register_job("events.reminders", send_reminders, "cron", hour=9, minute=0)
