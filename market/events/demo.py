"""Demo events: a held 智慧医疗 matchmaking event with attached scenarios, registered SMEs, accepted
requests, a computed (optimal) agenda, check-ins, outcomes (one linked to the awarded demo bid and
its contract) and a graded art. 9 declaration; and next quarter's event of the plan, calling for
scenarios. Built through the services, as the users would.

Idempotent: keyed by the event's title.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from market.deals.demo import _first_user
from market.domain.localtime import today
from market.extensions import db
from models.deals import Bid
from models.events import Event

from . import services as svc

TITLE = "2026年第4季度智慧医疗专题场景对接会（演示）"


def load(world) -> None:
    admin = world.users.get("admin@ccxq.gov.cn")
    reviewer = world.users.get("reviewer@ccxq.gov.cn")
    if admin is None or db.session.execute(select(Event.id).where(Event.title == TITLE)).first():
        return
    smes = [ref for ref in ("S1", "S2", "S3", "S4", "S5") if ref in world.orgs and _first_user(world, ref)]
    scenarios = sorted((x for x in world.listings.values() if x.kind == "scenario" and x.status == "published"),
                       key=lambda x: x.ref)
    owners = {}
    for listing in scenarios:
        ref = next((r for r, o in world.orgs.items() if o.id == listing.owner_id), None)
        user = _first_user(world, ref) if ref else None
        if user is not None and user.role in ("org_admin", "provider_member"):
            owners.setdefault(listing.owner_id, (user, []))[1].append(listing)
    if len(smes) < 2 or not owners:
        return
    day = today() - dt.timedelta(days=20)
    event = svc.create_event(admin, svc.EventInput(
        title=TITLE, track="digital_healthcare", venue="长春新区创新创业中心 多功能厅", event_date=day,
        slot_count=6, slot_minutes=20, slot_gap=5, tables=8, max_meetings=4, target_scenarios=20))
    svc.advance(admin, event)  # call for scenarios
    for user, listings in owners.values():
        for listing in listings:
            svc.attach_scenario(user, event, listing)
    svc.advance(admin, event)  # registration
    slot_ids = [s.id for s in event.slots]
    sme_users = {}
    for i, ref in enumerate(smes):
        user = _first_user(world, ref)
        sme_users[ref] = user
        interests = [li.id for li in scenarios if li.track in ("digital_healthcare", "medical_devices")][i % 2::2]
        available = [s for k, s in enumerate(slot_ids) if k != i % len(slot_ids)]  # each misses one slot
        svc.register(user, event, interests, available)
    owner_list = list(owners.items())
    requests = []
    for i, ref in enumerate(smes):
        for owner_id, (_owner_user, listings) in (owner_list[0], owner_list[(i + 1) % len(owner_list)]):
            if svc.registration_of(event, owner_id) is None or any(
                    {r.from_org_id, r.to_org_id} == {world.orgs[ref].id, owner_id} for r in requests):
                continue
            requests.append(svc.request_meeting(sme_users[ref], event, owner_id, listings[0].id, priority=1 + i % 3,
                                                message="希望了解场景的数据条件与试点安排。"))
    owner_by_org = {oid: u for oid, (u, _ls) in owners.items()}
    for k, req in enumerate(requests):
        svc.respond(owner_by_org[req.to_org_id], req, accept=k % 5 != 4)  # one in five declined
    svc.advance(admin, event)  # requests
    svc.compute_agenda(admin, event)
    svc.publish_agenda(admin, event)
    for reg in event.registrations[:-1]:  # all but one checked in
        svc.check_in(reviewer or admin, event, reg.checkin_code)
    meetings = svc.meetings_of(event)
    results = ["talked", "follow_up", "no_show", "follow_up", "talked"]
    first_outcome = None
    for k, meeting in enumerate(meetings):
        req = meeting.request
        bid = db.session.execute(select(Bid).where(
            Bid.bidder_id == req.from_org_id, Bid.contract_id.is_not(None))).scalars().first()
        if bid is not None and bid.listing.owner_id == req.to_org_id:
            outcome = svc.record_outcome(admin, meeting, "contract", bid_id=bid.id, contract_id=bid.contract_id)
        else:
            outcome = svc.record_outcome(admin, meeting, results[k % len(results)])
        first_outcome = first_outcome or (outcome if outcome.result in ("contract", "follow_up") else None)
    svc.advance(admin, event)  # held
    if first_outcome is not None and reviewer is not None:
        sme_id = first_outcome.meeting.request.from_org_id
        declarer = next(u for ref, u in sme_users.items() if world.orgs[ref].id == sme_id)
        decl = svc.declare(declarer, "医学影像 AI 辅助诊断示范应用", "在新区两家医院部署肺结节 CT 辅助诊断，计划推广至区内社区医院。",
                           outcome_id=first_outcome.id)
        svc.grade(reviewer, decl, {"innovation": 26, "demonstration": 24, "replicability": 14, "scale": 12},
                  "技术成熟，建议在区内社区医院推广。")
    upcoming = _next_quarter_event(admin, owners)
    world.summary.append(f"events: 1 held event, {len(event.scenarios)} scenarios, {len(requests)} requests, "
                         f"{len(meetings)} meetings; next quarter's {upcoming.title} calls for scenarios "
                         f"({len(upcoming.scenarios)} attached)")


def _next_quarter_event(admin, owners) -> Event:
    """Next quarter's event of the yearly plan (art. 9: one a quarter), created as an admin plans ahead and open
    for scenarios, with the owners' scenarios of its theme attached: what a visitor sees under 近期对接活动 on the
    home page, and what an SME can follow. Created once (the plan key)."""
    event, created = svc.create_from_plan(admin, *svc.next_quarter(today()))
    if created:
        svc.advance(admin, event)  # call for scenarios
        for user, listings in owners.values():
            for listing in listings:
                if listing.track == event.track:
                    svc.attach_scenario(user, event, listing)
    return event
