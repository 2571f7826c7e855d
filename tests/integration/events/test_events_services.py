"""Events services on SQLite and PostgreSQL: lifecycle, bad input, agenda persisted = a valid
matching agenda, check-in, outcomes into KPIs, art. 9 declarations."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from market.errors import Conflict, PermissionDenied, ValidationError
from market.events import services as svc
from market.extensions import db
from matching import agenda as agenda_mod
from models.audit import AuditEntry
from models.deals import Bid, Contract
from models.events import CheckIn, DeclarationStatus, EventStatus, Meeting, RequestStatus
from models.users import Role
from tests.events_support import event_input, scenario, world


def _count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def test_lifecycle_to_published_agenda(make_org, make_user):
    w = world(make_org, make_user, smes=3, owners=2, status=EventStatus.REQUESTS)
    assert [s.position for s in w.event.slots] == [1, 2, 3, 4]
    assert len(w.event.scenarios) == 2
    assert {r.side for r in w.event.registrations} == {"owner", "sme"}
    assert all(r.status == RequestStatus.ACCEPTED for r in w.requests)
    # the SME marked the owner's scenario as interesting: mutual interest counts in the weight
    assert all(r.weight_detail["sme_interest"] == 1.0 for r in w.requests)
    assert all(r.weight >= 2.0 for r in w.requests)

    result = svc.compute_agenda(w.admin, w.event)
    db.session.commit()
    # 6 requests, 4 slots, limit 3 per participant, 10 tables: every request fits
    assert result.meetings == 6
    assert result.agenda.optimal and result.agenda.total_weight == pytest.approx(result.agenda.bound)
    assert result.greedy.total_weight <= result.agenda.total_weight + 1e-9
    assert w.event.agenda_total == pytest.approx(sum(r.weight for r in w.requests))

    # the stored agenda is a valid matching agenda: rebuilt from the database and checked
    instance, _ = svc.build_instance(w.event)
    stored = [agenda_mod.Meeting(f"r{m.request_id}", f"s{m.slot_id}") for m in svc.meetings_of(w.event)]
    assert agenda_mod.check(instance, stored) == []
    # table numbers are distinct within a slot and within the tables
    for slot in w.event.slots:
        tables = [m.table_no for m in svc.meetings_of(w.event) if m.slot_id == slot.id]
        assert sorted(tables) == list(range(1, len(tables) + 1))

    svc.publish_agenda(w.admin, w.event)
    db.session.commit()
    assert w.event.status == EventStatus.AGENDA_PUBLISHED
    mine = svc.meetings_of(w.event, w.smes[0].id)
    assert len(mine) == 2 and len({m.slot_id for m in mine}) == 2  # never two meetings at once
    assert {svc.counterpart(m, w.smes[0].id).id for m in mine} == {o.id for o in w.owners}
    ics = svc.agenda_ics(w.event, w.smes[0]).decode()
    assert ics.count("BEGIN:VEVENT") == 2 and "号桌" in ics
    actions = set(db.session.execute(select(AuditEntry.action)).scalars())
    assert {"event.create", "event.attach_scenario", "event.register", "event.request_meeting",
            "event.accept_meeting", "event.compute_agenda", "event.publish_agenda"} <= actions


def test_agenda_respects_availability_and_tables(make_org, make_user):
    w = world(make_org, make_user, smes=3, owners=2, status=EventStatus.REGISTRATION)
    # the first SME can only come to slot 1; one table per slot
    svc.register(w.sme_users[0], w.event, [], [w.event.slots[0].id])
    w.event.tables = 1
    svc.advance(w.admin, w.event)
    result = svc.compute_agenda(w.admin, w.event)
    db.session.commit()
    meetings = svc.meetings_of(w.event)
    assert len(meetings) == result.meetings <= 4  # one table in each of 4 slots
    for m in meetings:
        assert m.table_no == 1
        if w.smes[0].id in (m.request.from_org_id, m.request.to_org_id):
            assert m.slot_id == w.event.slots[0].id
    assert result.agenda.optimal


def test_services_flush_and_never_commit(make_org, make_user):
    admin = make_user(role=Role.DISTRICT_ADMIN)
    event = svc.create_event(admin, event_input())
    assert event.id is not None
    db.session.rollback()  # the caller did not commit: nothing was
    assert _count(type(event)) == 0


def test_event_without_slots_is_refused(make_user):
    admin = make_user(role=Role.DISTRICT_ADMIN)
    with pytest.raises(ValidationError) as err:
        svc.create_event(admin, event_input(slot_count=0))
    assert "时段" in err.value.message and err.value.field == "slot_count"


def test_bad_requests_are_refused_with_clear_errors(make_org, make_user):
    w = world(make_org, make_user, smes=2, owners=2, status=EventStatus.REGISTRATION, accept=False)
    sme_a, sme_b = w.sme_users
    with pytest.raises(ValidationError, match="中小企业之间"):
        svc.request_meeting(sme_a, w.event, w.smes[1].id)
    with pytest.raises(ValidationError, match="场景方之间"):
        svc.request_meeting(w.owner_users[0], w.event, w.owners[1].id)
    with pytest.raises(ValidationError, match="自己"):
        svc.request_meeting(sme_a, w.event, w.smes[0].id)
    # duplicate: the same pair again, in either direction
    with pytest.raises(Conflict, match="重复"):
        svc.request_meeting(sme_a, w.event, w.owners[0].id)
    with pytest.raises(Conflict, match="重复"):
        svc.request_meeting(w.owner_users[0], w.event, w.smes[0].id)
    # available in no slot
    with pytest.raises(ValidationError, match="时段") as err:
        svc.register(sme_b, w.event, [], [])
    assert err.value.field == "slots"
    # a party not at the event
    outsider = make_user(role=Role.ORG_ADMIN, org=make_org(kind="sme"))
    with pytest.raises(PermissionDenied):
        svc.request_meeting(outsider, w.event, w.owners[0].id)
    # only the invited side answers
    with pytest.raises(PermissionDenied):
        svc.respond(sme_a, w.requests[0], True)


def test_english_error_messages(app, make_org, make_user):
    w = world(make_org, make_user, smes=2, owners=1, status=EventStatus.REGISTRATION, accept=False)
    from flask_babel import force_locale

    with force_locale("en"):
        with pytest.raises(ValidationError) as err:
            svc.request_meeting(w.sme_users[0], w.event, w.smes[1].id)
    assert "SME" in err.value.message and "中小企业" not in err.value.message


def test_attach_rules(make_org, make_user):
    admin = make_user(role=Role.DISTRICT_ADMIN)
    event = svc.create_event(admin, event_input())
    owner = make_org(kind="leading_firm")
    user = make_user(role=Role.ORG_ADMIN, org=owner)
    listing = scenario(owner)
    with pytest.raises(Conflict):  # planned: the call is not open yet
        svc.attach_scenario(user, event, listing)
    svc.advance(admin, event)
    other = make_user(role=Role.ORG_ADMIN, org=make_org(kind="leading_firm"))
    with pytest.raises(PermissionDenied):  # not theirs
        svc.attach_scenario(other, event, listing)
    svc.attach_scenario(user, event, listing)
    with pytest.raises(Conflict):
        svc.attach_scenario(user, event, listing)
    draft = scenario(owner)
    draft.status = "draft"
    with pytest.raises(ValidationError):
        svc.attach_scenario(user, event, draft)
    db.session.commit()
    assert svc.registration_of(event, owner.id).side == "owner"


def test_recommendations_come_with_reasons(make_org, make_user):
    w = world(make_org, make_user, smes=2, owners=2, status=EventStatus.REGISTRATION, accept=False)
    recs = svc.recommendations(w.event, w.smes[0])
    assert recs and all(r.reasons for r in recs)
    assert any("数字医疗" in reason for r in recs for reason in r.reasons)
    assert all(r.requested for r in recs)  # the world already requested every owner
    owner_recs = svc.recommendations(w.event, w.owners[0])
    assert {r.org.id for r in owner_recs} == {o.id for o in w.smes}


def test_check_in_once(make_org, make_user):
    w = world(make_org, make_user, smes=1, owners=1, status=EventStatus.AGENDA_PUBLISHED)
    reg = svc.registration_of(w.event, w.smes[0].id)
    got, first, new = svc.check_in(w.reviewer, w.event, reg.checkin_code.lower())
    db.session.commit()
    assert new and got.id == reg.id
    _got, again, new_again = svc.check_in(w.reviewer, w.event, f"  {reg.checkin_code} ")
    assert not new_again and again.id == first.id and _count(CheckIn) == 1
    with pytest.raises(ValidationError, match="签到码无效"):
        svc.check_in(w.reviewer, w.event, "NOPE")
    with pytest.raises(PermissionDenied):
        svc.check_in(w.sme_users[0], w.event, reg.checkin_code)


def _bid_and_contract(w, amount="250000.00"):
    sme, owner, listing = w.smes[0], w.owners[0], w.listings[0]
    contract = Contract(kind="scenario_contract", listing=listing, payer=owner, payee=sme, title="影像标注合同",
                        amount_cny=Decimal(amount), payment_schedule=[], status="active")
    bid = Bid(listing=listing, bidder=sme, approach="方案", price_cny=Decimal(amount), timeline="三个月",
              attachments=[], status="awarded")
    db.session.add_all([contract, bid])
    db.session.commit()
    return bid, contract


def test_outcomes_feed_the_kpis(make_org, make_user):
    w = world(make_org, make_user, smes=2, owners=2, status=EventStatus.AGENDA_PUBLISHED)
    bid, contract = _bid_and_contract(w)
    meetings = svc.meetings_of(w.event, w.smes[0].id)
    target = next(m for m in meetings if w.owners[0].id in (m.request.from_org_id, m.request.to_org_id))
    other = next(m for m in meetings if m.id != target.id)  # the same SME with the other owner
    svc.record_outcome(w.sme_users[0], target, "contract", bid_id=bid.id, contract_id=contract.id)
    svc.record_outcome(w.reviewer, svc.meetings_of(w.event, w.smes[1].id)[0], "no_show")
    db.session.commit()
    with pytest.raises(ValidationError):  # a contract between other parties
        svc.record_outcome(w.sme_users[0], other, "contract", contract_id=contract.id)
    with pytest.raises(PermissionDenied):  # not a party
        svc.record_outcome(w.sme_users[1], target, "talked")
    with pytest.raises(ValidationError):  # contract without its number
        svc.record_outcome(w.sme_users[0], target, "contract")
    db.session.rollback()
    svc.advance(w.admin, w.event)  # held
    db.session.commit()
    years, tracks = svc.kpis()
    row = next(r for r in years if r.key == "2027")
    assert row.events_held == 1 and row.events_planned == 1
    assert row.scenarios == [2] and row.events_reaching_target == 0
    assert row.registrations == 2 and row.meetings == 4
    assert row.meetings_held == 1 and row.follow_ups == 1 and row.bids == 1 and row.contracts == 1
    assert row.contract_value == Decimal("250000.00")
    assert [t.key for t in tracks] == ["digital_healthcare"]


def test_declaration_graded_and_handed_off(make_org, make_user):
    w = world(make_org, make_user, smes=1, owners=1, status=EventStatus.AGENDA_PUBLISHED)
    meeting = svc.meetings_of(w.event)[0]
    outcome = svc.record_outcome(w.sme_users[0], meeting, "follow_up")
    decl = svc.declare(w.sme_users[0], "影像标注示范项目", "在三家医院推广", outcome_id=outcome.id)
    with pytest.raises(ValidationError):  # both sources
        svc.declare(w.sme_users[0], "x", "y", outcome_id=outcome.id, listing_id=w.listings[0].id)
    with pytest.raises(ValidationError) as err:
        svc.grade(w.reviewer, decl, {"innovation": 31, "demonstration": 1, "replicability": 1, "scale": 1})
    assert err.value.field == "innovation"
    with pytest.raises(Conflict):
        svc.hand_off(w.admin, decl)
    svc.grade(w.reviewer, decl, {"innovation": 28, "demonstration": 25, "replicability": 18, "scale": 16})
    assert decl.total_score == 87 and decl.proposed_tier == "A"
    assert decl.proposed_amount_cny == Decimal("500000.00")  # the art. 9 ceiling
    with pytest.raises(PermissionDenied):
        svc.hand_off(w.reviewer, decl)
    svc.hand_off(w.admin, decl)
    db.session.commit()
    assert decl.status == DeclarationStatus.HANDED_OFF
    low = svc.declare(w.owner_users[0], "场景示范", "说明", listing_id=w.listings[0].id)
    svc.grade(w.reviewer, low, {"innovation": 10, "demonstration": 10, "replicability": 10, "scale": 10})
    assert low.proposed_tier is None
    with pytest.raises(Conflict):
        svc.hand_off(w.admin, low)


def test_every_grade_is_priced_by_the_parameters_within_the_art9_ceiling():
    """The grades' amounts were typed twice (plan.yaml and parameters.yaml): now the parameters price them."""
    from market.subsidies.rewards import tiers_on

    day = dt.date(2026, 6, 1)
    table = svc.tier_table(day)
    assert [t["code"] for t in table] == [t["code"] for t in svc.plan()["art9_demo"]["tiers"]]  # every grade priced
    assert all(t["amount_cny"] == tiers_on(day)[t["code"]] <= Decimal("500000.00") for t in table)
    assert svc.tier_for(100, day) == ("A", Decimal("500000.00"))
    assert svc.tier_for(75, day) == ("B", Decimal("300000.00"))
    assert svc.tier_for(0, day) == (None, None)


def test_meeting_rows_removed_on_recompute(make_org, make_user):
    w = world(make_org, make_user, smes=2, owners=1, status=EventStatus.REQUESTS)
    svc.compute_agenda(w.admin, w.event)
    svc.compute_agenda(w.admin, w.event)
    db.session.commit()
    assert _count(Meeting) == 2
    svc.publish_agenda(w.admin, w.event)
    with pytest.raises(Conflict):  # a published agenda is not recomputed
        svc.compute_agenda(w.admin, w.event)


def test_plan_rotation_and_dates():
    first = svc.plan_entry(2027, 1)
    assert first.event_date == dt.date(2027, 3, 20)
    tracks = [svc.plan_entry(2027, q).track for q in (1, 2, 3, 4)] + [svc.plan_entry(2028, 1).track]
    assert len(set(tracks)) == 5  # five themes rotate over the quarters
    assert first.registration_opens_on < first.registration_closes_on < first.agenda_due_on < first.event_date
