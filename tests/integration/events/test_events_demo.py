"""The demo world gets one held event with scenarios, registrations, requests, an optimal agenda,
outcomes (one linked to the awarded bid's contract) and a graded declaration, and next quarter's event
of the plan calling for scenarios; loading twice adds nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from market.demo import load_demo
from market.domain.localtime import today
from market.events import services as svc
from market.extensions import db
from market.public.portal import upcoming_events
from matching import agenda as agenda_mod
from models.events import DemoDeclaration, Event, EventStatus, Meeting, MeetingRequest, Outcome


def _count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def test_demo_event(app_ctx):
    load_demo()
    counts = [_count(m) for m in (Event, MeetingRequest, Meeting, Outcome, DemoDeclaration)]
    load_demo()
    assert [_count(m) for m in (Event, MeetingRequest, Meeting, Outcome, DemoDeclaration)] == counts
    event, upcoming = db.session.execute(select(Event).order_by(Event.id)).scalars().all()
    assert event.status == EventStatus.HELD and event.agenda_optimal
    # next quarter's event of the plan, open for scenarios: what the home page lists under 近期对接活动
    year, quarter = svc.next_quarter(today())
    assert upcoming.plan_key == svc.plan_key(year, quarter) and upcoming.status == EventStatus.CALL_FOR_SCENARIOS
    assert [e["title"] for e in upcoming_events()] == [upcoming.title]
    assert len(event.scenarios) >= 5 and sum(r.side == "sme" for r in event.registrations) == 5
    instance, _ = svc.build_instance(event)
    stored = [agenda_mod.Meeting(f"r{m.request_id}", f"s{m.slot_id}") for m in svc.meetings_of(event)]
    assert stored and agenda_mod.check(instance, stored) == []
    years, _tracks = svc.kpis()
    row = next(r for r in years if r.events_held)
    assert row.events_held == 1 and row.meetings == len(stored) and row.contracts == 1 and row.contract_value > 0
    # the events demo's declaration (the subsidies demo adds a second one, handed off for a decision)
    assert db.session.execute(select(DemoDeclaration).order_by(DemoDeclaration.id)).scalars().first().proposed_tier == "B"
