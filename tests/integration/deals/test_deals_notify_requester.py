"""The member who made a request hears the answer, not only the organisation's admins.

Found by the end-to-end journey (tests/browser/test_journeys.py): an SME engineer who submitted a
bid was never told it had been awarded, because answers went to the SME's org admins only.
"""

import datetime as dt

from market.deals import bids, bookings, data_access
from market.deals.bids import BidInput
from market.deals.bookings import BookingInput
from market.extensions import db
from models.notifications import Notification
from models.users import Role
from tests.integration.deals.helpers import make_listing, next_weekday_at


def _kinds(user) -> list[str]:
    """The answers this user was told about (contract drafts go to the org admins, as before)."""
    return sorted(n.kind for n in db.session.query(Notification).filter_by(user_id=user.id)
                  if not n.kind.startswith("contract."))


def test_bid_answers_reach_the_member_who_bid_and_the_admin(world, make_user):
    admin = make_user(role=Role.ORG_ADMIN, org=world.sme_org)
    colleague = make_user(role=Role.SME_MEMBER, org=world.sme_org)
    first = bids.submit_bid(world.sme, make_listing(world.owner_org).id, BidInput("方案一", "1000", "一个月"))
    second = bids.submit_bid(world.sme, make_listing(world.owner_org).id, BidInput("方案二", "2000", "两个月"))
    bids.post_message(world.owner, first.id, "能提前交付吗？")
    bids.shortlist_bid(world.owner, first.id)
    bids.award_bid(world.owner, first.id)
    bids.decline_bid(world.owner, second.id, "预算不足")
    expected = ["bid.awarded", "bid.declined", "bid.message", "bid.shortlisted"]
    assert _kinds(world.sme) == expected
    assert _kinds(admin) == expected
    assert _kinds(colleague) == []  # other members are not bothered
    # the bidder's own message goes to the scenario owner, not back to the bidder's side
    bids.post_message(world.sme, first.id, "可以。")
    assert _kinds(world.sme) == expected and "bid.message" in _kinds(world.owner)


def test_booking_and_data_answers_reach_the_member_who_asked(world, make_user):
    admin = make_user(role=Role.ORG_ADMIN, org=world.sme_org)
    instrument = make_listing(world.owner_org, kind="instrument")
    start = next_weekday_at(10)
    one = bookings.request_booking(world.sme, instrument.id, BookingInput(start, start + dt.timedelta(hours=2), "测试", "样品"))
    two = bookings.request_booking(world.sme, instrument.id, BookingInput(
        start + dt.timedelta(hours=3), start + dt.timedelta(hours=5), "测试", "样品"))
    bookings.approve_booking(world.owner, one.id)
    bookings.reject_booking(world.owner, two.id, "设备检修")
    bookings.cancel_booking(world.owner, one.id, "临时停电")
    assert _kinds(world.sme) == _kinds(admin) == ["booking.approved", "booking.cancelled", "booking.rejected"]

    dataset = make_listing(world.owner_org, kind="database")
    application = data_access.apply(world.sme, dataset.id, data_access.ApplicationInput(
        purpose="模型训练", fields="影像", period_start=dt.date.today(), period_end=dt.date.today() + dt.timedelta(days=30)))
    data_access.decide(world.owner, application.id, data_access.Decision(outcome="reject", reason="不符合条件"))
    assert "data_application.decided" in _kinds(world.sme)
    assert "data_application.decided" in _kinds(admin)
