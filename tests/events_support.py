"""Builders for events tests: an event with owners, scenarios, SMEs and accepted requests."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from types import SimpleNamespace

from market.events import services as svc
from market.extensions import db
from models.events import EventStatus
from models.listings import Listing
from models.users import Role

_n = itertools.count(1)


def scenario(owner, title: str = "影像标注场景", track: str = "digital_healthcare", tags=("影像", "标注"),
             description: str = "医院影像数据标注与辅助诊断模型训练") -> Listing:
    n = next(_n)
    listing = Listing(ref=f"EVS{n:05d}", kind="scenario", owner=owner, title=f"{title}{n}", description=description,
                      track=track, tags=list(tags), status="published", published_at=dt.datetime.now(dt.UTC),
                      budget_cny=Decimal("300000.00"), scenario_mode="rd_collaboration")
    db.session.add(listing)
    db.session.commit()
    return listing


def event_input(**over) -> svc.EventInput:
    data = dict(title="智慧医疗专题场景对接会", track="digital_healthcare", venue="长春新区创新创业中心",
                event_date=dt.date(2027, 6, 18), slot_count=4, slot_minutes=20, slot_gap=5, tables=10,
                max_meetings=3, target_scenarios=20)
    data.update(over)
    return svc.EventInput(**data)


def world(make_org, make_user, smes: int = 2, owners: int = 2, status: str = EventStatus.REQUESTS,
          accept: bool = True) -> SimpleNamespace:
    """An admin, ``owners`` leading firms with one attached scenario each, ``smes`` registered SMEs
    interested in every scenario, and one request from each SME to each owner (accepted), with the
    event moved to ``status``."""
    w = SimpleNamespace()
    w.admin = make_user(role=Role.DISTRICT_ADMIN)
    w.reviewer = make_user(role=Role.DISTRICT_REVIEWER)
    w.event = svc.create_event(w.admin, event_input())
    db.session.commit()
    svc.advance(w.admin, w.event)  # call for scenarios
    w.owners, w.owner_users, w.listings = [], [], []
    for i in range(owners):
        org = make_org(kind="leading_firm", name=f"龙头医疗{i}")
        user = make_user(role=Role.ORG_ADMIN, org=org)
        listing = scenario(org)
        svc.attach_scenario(user, w.event, listing)
        w.owners.append(org)
        w.owner_users.append(user)
        w.listings.append(listing)
    svc.advance(w.admin, w.event)  # registration
    w.smes, w.sme_users = [], []
    for i in range(smes):
        org = make_org(kind="sme", name=f"影像科技{i}")
        user = make_user(role=Role.ORG_ADMIN, org=org)
        svc.register(user, w.event, [li.id for li in w.listings], [s.id for s in w.event.slots])
        w.smes.append(org)
        w.sme_users.append(user)
    db.session.commit()
    w.requests = []
    for sme_user in w.sme_users:
        for k, owner in enumerate(w.owners):
            req = svc.request_meeting(sme_user, w.event, owner.id, w.listings[k].id, priority=2)
            w.requests.append(req)
    db.session.commit()
    if accept:
        for req in w.requests:
            owner_user = w.owner_users[w.owners.index(req.to_org)]
            svc.respond(owner_user, req, True)
        db.session.commit()
    if status in (EventStatus.REQUESTS, EventStatus.AGENDA_PUBLISHED, EventStatus.HELD):
        svc.advance(w.admin, w.event)  # requests
    if status in (EventStatus.AGENDA_PUBLISHED, EventStatus.HELD):
        svc.compute_agenda(w.admin, w.event)
        svc.publish_agenda(w.admin, w.event)
    if status == EventStatus.HELD:
        svc.advance(w.admin, w.event)
    db.session.commit()
    return w


def add_to_object_matrix(w) -> None:
    """The object permission matrix's event: published agenda, both sides' leading firm and SME
    registered, each side's SME → provider request accepted and placed, one graded declaration."""
    from models.events import (
        DemoDeclaration,
        Event,
        EventScenario,
        EventSlot,
        Meeting,
        MeetingRequest,
        Registration,
    )

    day = dt.date(2027, 6, 18)
    w.event = Event(title="对象矩阵对接会", track="digital_healthcare", venue="创新中心", event_date=day,
                    status=EventStatus.AGENDA_PUBLISHED, tables=10, max_meetings=4)
    db.session.add(w.event)
    start = dt.datetime(2027, 6, 18, 1, 0, tzinfo=dt.UTC)
    slot = EventSlot(event=w.event, position=1, start_at=start, end_at=start + dt.timedelta(minutes=20))
    db.session.add(slot)
    db.session.flush()
    for n, s in enumerate(w.side.values(), start=1):
        db.session.add(EventScenario(event=w.event, listing=s.scenario))
        for org, side in ((s.provider, "owner"), (s.sme, "sme")):
            db.session.add(Registration(event=w.event, organisation=org, side=side, interests=[s.scenario.id],
                                        available_slots=[slot.id], checkin_code=f"MATRIX{org.id}"))
        low, high = sorted((s.sme.id, s.provider.id))
        s.event_request = MeetingRequest(event=w.event, from_org_id=s.sme.id, to_org_id=s.provider.id, pair_low=low,
                                         pair_high=high, listing=s.scenario, status="accepted", weight=2.0)
        s.meeting = Meeting(event=w.event, request=s.event_request, slot=slot, table_no=n)
        db.session.add_all([s.event_request, s.meeting])
    w.declaration = DemoDeclaration(organisation=w.side["A"].sme, listing=w.side["A"].scenario, title="示范",
                                    summary="说明", status="graded", total_score=90, proposed_tier="A",
                                    proposed_amount_cny=Decimal("500000.00"),
                                    scores={"innovation": 30, "demonstration": 30, "replicability": 15, "scale": 15})
    db.session.add(w.declaration)
    db.session.commit()
