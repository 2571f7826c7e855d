import datetime as dt
import io
from decimal import Decimal

import pytest

from market.deals import bids
from market.deals.bids import BidInput
from market.errors import Conflict, PermissionDenied, ValidationError
from market.extensions import db
from models.audit import AuditEntry
from models.deals import Bid, Contract
from models.notifications import Notification
from models.users import Role
from tests.integration.deals.helpers import MINIMAL_PDF, make_listing


def _input(**kw):
    base = dict(approach="采用深度学习方案", price_cny="120000.00", timeline="三个月")
    base.update(kw)
    return BidInput(**base)


def test_submit_revise_award_creates_contract_and_notifies(world):
    scenario = make_listing(world.owner_org)
    bid = bids.submit_bid(
        world.sme, scenario.id, _input(files=[(io.BytesIO(MINIMAL_PDF), "方案.pdf")])
    )
    assert bid.status == "submitted" and bid.attachments[0]["filename"] == "方案.pdf"
    assert db.session.query(Notification).filter_by(user_id=world.owner.id, kind="bid.submitted").count() == 1

    bids.revise_bid(world.sme, bid.id, _input(price_cny="110000"))
    assert bid.revision == 2 and bid.price_cny == Decimal("110000.00")
    assert len(bid.attachments) == 1  # kept across revisions

    bids.post_message(world.owner, bid.id, "请说明数据来源？")
    bids.post_message(world.sme, bid.id, "来自合作医院。", reply_to_id=bid.messages[0].id)
    assert [m.body for m in bid.messages] == ["请说明数据来源？", "来自合作医院。"]

    bids.shortlist_bid(world.owner, bid.id)
    bids.award_bid(world.owner, bid.id)
    assert bid.status == "awarded"
    contract = db.session.get(Contract, bid.contract_id)
    assert contract.kind == "scenario_contract" and contract.status == "draft"
    assert contract.payer_id == world.owner_org.id and contract.payee_id == world.sme_org.id
    assert contract.amount_cny == Decimal("110000.00") and contract.source_type == "bid"
    kinds = {n.kind for n in db.session.query(Notification).filter_by(user_id=world.sme.id)}
    assert {"bid.shortlisted", "bid.awarded", "contract.draft", "bid.message"} <= kinds
    actions = [a.action for a in db.session.query(AuditEntry).order_by(AuditEntry.id)]
    assert actions[:2] == ["bid.submit", "bid.revise"] and "bid.award" in actions and "contract.draft" in actions


def test_award_several_and_decline_rest_with_reason(world, make_org, make_user):
    scenario = make_listing(world.owner_org)
    b1 = bids.submit_bid(world.sme, scenario.id, _input())
    b2 = bids.submit_bid(world.other_sme, scenario.id, _input(price_cny="90000"))
    third = make_user(role=Role.SME_MEMBER, org=make_org(kind="sme"))
    b3 = bids.submit_bid(third, scenario.id, _input(price_cny="80000"))
    bids.award_bid(world.owner, b1.id)
    bids.award_bid(world.owner, b2.id)
    with pytest.raises(ValidationError):
        bids.decline_remaining(world.owner, scenario.id, "  ")
    assert bids.decline_remaining(world.owner, scenario.id, "报价与方案综合评分较低") == 1
    assert b3.status == "declined" and b3.decline_reason == "报价与方案综合评分较低"
    assert db.session.query(Contract).count() == 2
    with pytest.raises(Conflict):
        bids.award_bid(world.owner, b3.id)


def test_deadline_refuses_new_bids_and_revisions(world):
    scenario = make_listing(world.owner_org)
    bid = bids.submit_bid(world.sme, scenario.id, _input())
    db.session.commit()
    late = scenario.deadline + dt.timedelta(minutes=1)  # the clock is injected, the scenario untouched
    with pytest.raises(Conflict, match="截止"):
        bids.submit_bid(world.other_sme, scenario.id, _input(), now=late)
    with pytest.raises(Conflict, match="截止"):
        bids.revise_bid(world.sme, bid.id, _input(price_cny="1"), now=late)
    with pytest.raises(Conflict, match="截止"):
        bids.withdraw_bid(world.sme, bid.id, now=late)
    db.session.rollback()
    bids.revise_bid(world.sme, bid.id, _input(price_cny="110000"), now=scenario.deadline - dt.timedelta(minutes=1))
    assert db.session.query(Bid).count() == 1 and bid.price_cny == Decimal("110000.00")


def test_bidder_rules(world, make_org, make_user):
    scenario = make_listing(world.owner_org, in_district_only=True)
    outside = make_user(role=Role.SME_MEMBER, org=make_org(kind="sme", in_district=False))
    with pytest.raises(PermissionDenied, match="区内"):
        bids.submit_bid(outside, scenario.id, _input())
    unverified = make_user(role=Role.SME_MEMBER, org=make_org(kind="sme", verified=False))
    with pytest.raises(PermissionDenied, match="认证"):
        bids.submit_bid(unverified, scenario.id, _input())
    with pytest.raises(PermissionDenied):  # provider role cannot bid
        bids.submit_bid(world.owner, scenario.id, _input())
    with pytest.raises(ValidationError) as err:
        bids.submit_bid(world.sme, scenario.id, _input(price_cny="10.005"))
    assert err.value.field == "price_cny"
    with pytest.raises(ValidationError):
        bids.submit_bid(world.sme, scenario.id, _input(price_cny="0"))
    with pytest.raises(ValidationError) as err:
        bids.submit_bid(world.sme, scenario.id, _input(files=[(io.BytesIO(b"MZ\x90\x00exe"), "x.exe")]))
    assert err.value.field == "attachments"
    db.session.rollback()
    bids.submit_bid(world.sme, scenario.id, _input())
    with pytest.raises(Conflict):
        bids.submit_bid(world.sme, scenario.id, _input())
    draft = make_listing(world.owner_org, status="draft")
    with pytest.raises(Conflict):
        bids.submit_bid(world.sme, draft.id, _input())
    assert db.session.query(Bid).count() == 1


def test_withdraw_then_only_parties_act(world):
    scenario = make_listing(world.owner_org)
    bid = bids.submit_bid(world.sme, scenario.id, _input())
    with pytest.raises(PermissionDenied):
        bids.revise_bid(world.other_sme, bid.id, _input())
    with pytest.raises(PermissionDenied):
        bids.post_message(world.other_sme, bid.id, "偷看")
    with pytest.raises(PermissionDenied):
        bids.get_bid(world.other_sme, bid.id)
    with pytest.raises(PermissionDenied):
        bids.award_bid(world.sme, bid.id)
    bids.withdraw_bid(world.sme, bid.id)
    assert bid.status == "withdrawn"
    with pytest.raises(Conflict):
        bids.award_bid(world.owner, bid.id)
    with pytest.raises(ValidationError):
        bids.decline_bid(world.owner, bid.id, "")
    # a fresh bid is allowed after withdrawing
    assert bids.submit_bid(world.sme, scenario.id, _input()).id != bid.id
