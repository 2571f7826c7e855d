"""揭榜: bids on scenarios (art. 8). Submit/revise/withdraw before the deadline; the owner shortlists,
asks questions, awards (a contract draft follows) and declines the rest with a reason."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, BinaryIO

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from market import audit, evidence
from market.errors import Conflict, PermissionDenied, ValidationError
from market.extensions import db
from market.links import path_for
from market.money import parse_money
from market.notifications.services import notify, org_admins
from market.orgs.services import verification_problem
from market.permissions import require
from models.deals import OPEN_BID_STATUSES, Bid, BidMessage, BidStatus, ContractKind
from models.listings import Listing, ListingKind, ListingStatus

from .common import (
    acting_org,
    admins_and_requester,
    clock,
    get_for_parties,
    get_for_update,
    is_party,
    listing_of_kind,
    require_text,
)
from .contracts import create_contract_draft
from .labels import status_label

ATTACHMENT_TYPES = frozenset({"pdf", "png", "jpg", "zip"})
MAX_ATTACHMENTS = 5


@dataclass
class BidInput:
    approach: str | None = None
    price_cny: Any = None
    timeline: str | None = None
    # (stream, filename) pairs of new files to attach
    files: list[tuple[BinaryIO, str]] = field(default_factory=list)
    remove_attachments: list[str] = field(default_factory=list)  # sha256 of attachments to drop


def bid_link(bid: Bid) -> str:
    return path_for("deals.bid_detail", bid_id=bid.id)


def scenario_by_ref(ref: str) -> Listing:
    return listing_of_kind(ref, {ListingKind.SCENARIO}, _("找不到该场景。"))


def check_open(listing: Listing, now: dt.datetime | None = None) -> None:
    """A scenario takes bids while published and before its deadline (art. 8)."""
    if listing.status != ListingStatus.PUBLISHED:
        raise Conflict(_("该场景未发布或已关闭，不能揭榜。"))
    if listing.deadline is not None and clock(now) >= listing.deadline:
        raise Conflict(_("揭榜截止时间已过，不能再提交或修改方案。"))


def is_awarded(listing_id: int) -> bool:
    """An award closes a scenario to new bids (existing bids keep their states)."""
    return db.session.execute(
        select(Bid.id).where(Bid.listing_id == listing_id, Bid.status == BidStatus.AWARDED).limit(1)
    ).first() is not None


def check_not_awarded(listing: Listing) -> None:
    if is_awarded(listing.id):
        raise Conflict(_("该场景已确定中标方，不再接受新的揭榜方案。"))


def _check_bidder(user: Any, listing: Listing):
    require(user, "bid.submit")
    org = acting_org(user)
    if not org.is_sme:
        raise PermissionDenied(_("只有中小微企业可以揭榜。"))
    if org.id == listing.owner_id:
        raise PermissionDenied(_("不能对本机构发布的场景揭榜。"))
    if listing.in_district_only and not org.in_district:
        # art. 8: scenarios opened "to in-district SMEs"
        raise PermissionDenied(_("该场景仅面向长春新区区内企业，您的机构注册地不在区内。"))
    return org


def _clean(data: BidInput) -> tuple[str, Decimal, str]:
    approach = require_text(data.approach, "approach", _("技术方案"), 20000)
    price = parse_money(data.price_cny, "price_cny")
    timeline = require_text(data.timeline, "timeline", _("实施周期"), 2000)
    return approach, price, timeline


def _store_files(bid: Bid, data: BidInput) -> None:
    kept = [a for a in (bid.attachments or []) if a["sha256"] not in set(data.remove_attachments)]
    for stream, filename in data.files:
        stored = evidence.store(stream, filename, field="attachments", allowed=ATTACHMENT_TYPES)
        if all(a["sha256"] != stored.sha256 for a in kept):
            kept.append({"sha256": stored.sha256, "filename": stored.filename, "size": stored.size})
    if len(kept) > MAX_ATTACHMENTS:
        raise ValidationError(_("附件最多 %(n)d 个。", n=MAX_ATTACHMENTS), "attachments")
    bid.attachments = kept


def open_bid_of(org_id: int, listing_id: int) -> Bid | None:
    return db.session.execute(
        select(Bid).where(Bid.listing_id == listing_id, Bid.bidder_id == org_id, Bid.status.in_(OPEN_BID_STATUSES))
    ).scalar_one_or_none()


def submit_bid(user: Any, listing_id: int, data: BidInput, now: dt.datetime | None = None) -> Bid:
    at = clock(now)
    listing = get_for_update(Listing, listing_id, _("找不到该场景。"))
    if listing.kind != ListingKind.SCENARIO:
        raise ValidationError(_("只能对开放场景揭榜。"))
    org = _check_bidder(user, listing)
    check_open(listing, at)
    check_not_awarded(listing)
    if open_bid_of(org.id, listing.id) is not None:
        raise Conflict(_("您的机构已对该场景提交了方案，请修改原方案。"))
    approach, price, timeline = _clean(data)
    bid = Bid(
        listing=listing, bidder=org, submitted_by_id=user.id, approach=approach, price_cny=price,
        timeline=timeline, attachments=[], status=BidStatus.SUBMITTED, submitted_at=at,
    )
    _store_files(bid, data)
    db.session.add(bid)
    audit.record(user, "bid.submit", bid, None, audit.snapshot(bid))
    notify(
        org_admins(listing.owner_id), "bid.submitted",
        _l("新的揭榜方案：%(title)s", title=listing.title),
        _l("%(org)s 提交了方案，报价 %(price)s 元。", org=org.name, price=f"{price:,.2f}"), bid_link(bid),
    )
    db.session.flush()
    return bid


def _own_open_bid(user: Any, bid_id: int, at: dt.datetime) -> Bid:
    require(user, "bid.submit")
    bid = get_for_update(Bid, bid_id, _("找不到该方案。"))
    if not is_party(user, bid.bidder_id):
        raise PermissionDenied(_("只有投标机构可以修改该方案。"))
    acting_org(user)
    if not bid.is_open:
        raise Conflict(_closed(bid))
    check_open(bid.listing, at)
    return bid


def _closed(bid: Bid) -> str:
    return _("该方案的状态为“%(status)s”，不能再修改或撤回。", status=status_label(bid))


def revision_refused(bid: Bid) -> str | None:
    """Why ``bid`` can no longer be changed (None: it can). Once any bid on the scenario is awarded, the others stay
    open (the owner may award more than one) but their price and approach are what the owner decided on (art. 8)."""
    if not bid.is_open:
        return _closed(bid)
    if is_awarded(bid.listing_id):
        return _("该场景已确定中标方，方案不能再修改；如不再参与，可以撤回方案。")
    return None


def revise_bid(user: Any, bid_id: int, data: BidInput, now: dt.datetime | None = None) -> Bid:
    """A bid may change until the owner has chosen (``revision_refused``)."""
    at = clock(now)
    bid = _own_open_bid(user, bid_id, at)
    refused = revision_refused(bid)
    if refused:
        raise Conflict(refused)
    before = audit.snapshot(bid)
    bid.approach, bid.price_cny, bid.timeline = _clean(data)
    _store_files(bid, data)
    bid.revision += 1
    bid.submitted_at = at
    audit.record(user, "bid.revise", bid, before, audit.snapshot(bid))
    notify(
        org_admins(bid.listing.owner_id), "bid.revised",
        _l("揭榜方案已修改：%(title)s", title=bid.listing.title),
        _l("%(org)s 修改了方案（第 %(n)d 版）。", org=bid.bidder.name, n=bid.revision), bid_link(bid),
    )
    db.session.flush()
    return bid


def withdraw_bid(user: Any, bid_id: int, now: dt.datetime | None = None) -> Bid:
    at = clock(now)
    bid = _own_open_bid(user, bid_id, at)
    before = audit.snapshot(bid)
    bid.status = BidStatus.WITHDRAWN
    bid.decided_at = at
    audit.record(user, "bid.withdraw", bid, before, audit.snapshot(bid))
    notify(org_admins(bid.listing.owner_id), "bid.withdrawn",
           _l("揭榜方案已撤回：%(title)s", title=bid.listing.title), bid.bidder.name, bid_link(bid))
    db.session.flush()
    return bid


# ---------------------------------------------------------------- owner side
def _owner_bid(user: Any, bid_id: int) -> Bid:
    bid = get_for_update(Bid, bid_id, _("找不到该方案。"))
    require(user, "bid.manage_received", bid.listing)
    acting_org(user)
    return bid


def shortlist_bid(user: Any, bid_id: int) -> Bid:
    bid = _owner_bid(user, bid_id)
    if bid.status != BidStatus.SUBMITTED:
        raise Conflict(_("只有已提交的方案可以入围。"))
    before = audit.snapshot(bid)
    bid.status = BidStatus.SHORTLISTED
    audit.record(user, "bid.shortlist", bid, before, audit.snapshot(bid))
    notify(admins_and_requester(bid.bidder_id, bid.submitted_by_id), "bid.shortlisted",
           _l("您的方案已入围：%(title)s", title=bid.listing.title), "", bid_link(bid))
    db.session.flush()
    return bid


def award_bid(user: Any, bid_id: int, note: str | None = None, now: dt.datetime | None = None) -> Bid:
    """Award one bid (several may be awarded on one scenario); a scenario contract draft follows
    with payer = scenario owner, payee = SME, amount = bid price (art. 8)."""
    bid = _owner_bid(user, bid_id)
    if not bid.is_open:
        raise Conflict(_("该方案的状态为“%(status)s”，不能中标。", status=status_label(bid)))
    problem = verification_problem(bid.bidder)
    if problem:
        raise Conflict(problem)
    before = audit.snapshot(bid)
    bid.status = BidStatus.AWARDED
    bid.decided_at = clock(now)
    contract = create_contract_draft(
        user, kind=ContractKind.SCENARIO_CONTRACT, payer=bid.listing.owner, payee=bid.bidder,
        amount_cny=bid.price_cny, title=_l("场景合同：%(title)s", title=bid.listing.title),
        listing=bid.listing, source_type="bid", source_id=bid.id, note=(note or "").strip() or None,
    )
    bid.contract = contract
    audit.record(user, "bid.award", bid, before, audit.snapshot(bid))
    notify(admins_and_requester(bid.bidder_id, bid.submitted_by_id), "bid.awarded",
           _l("恭喜，您的方案中标：%(title)s", title=bid.listing.title),
           _l("合同草稿已生成，请与场景方确认。"), bid_link(bid))
    db.session.flush()
    return bid


def decline_bid(user: Any, bid_id: int, reason: str | None, now: dt.datetime | None = None) -> Bid:
    bid = _owner_bid(user, bid_id)
    reason = require_text(reason, "reason", _("未中标原因"), 2000)
    if not bid.is_open:
        raise Conflict(_("该方案的状态为“%(status)s”，不能再拒绝。", status=status_label(bid)))
    _decline(user, bid, reason, clock(now))
    db.session.flush()
    return bid


def decline_remaining(user: Any, listing_id: int, reason: str | None, now: dt.datetime | None = None) -> int:
    """Decline every still-open bid on a scenario with one reason; returns how many."""
    listing = get_for_update(Listing, listing_id, _("找不到该场景。"))
    require(user, "bid.manage_received", listing)
    acting_org(user)
    reason = require_text(reason, "reason", _("未中标原因"), 2000)
    bids = db.session.execute(
        select(Bid).where(Bid.listing_id == listing.id, Bid.status.in_(OPEN_BID_STATUSES))
    ).scalars().all()
    at = clock(now)
    for bid in bids:
        _decline(user, bid, reason, at)
    db.session.flush()
    return len(bids)


def _decline(user: Any, bid: Bid, reason: str, at: dt.datetime) -> None:
    before = audit.snapshot(bid)
    bid.status = BidStatus.DECLINED
    bid.decline_reason = reason
    bid.decided_at = at
    audit.record(user, "bid.decline", bid, before, audit.snapshot(bid))
    notify(admins_and_requester(bid.bidder_id, bid.submitted_by_id), "bid.declined",
           _l("您的方案未中标：%(title)s", title=bid.listing.title), reason, bid_link(bid))


# ---------------------------------------------------------------- questions
def get_bid(user: Any, bid_id: int) -> Bid:
    return get_for_parties(user, Bid, bid_id, lambda b: (b.bidder_id, b.listing.owner_id),
                           _("找不到该方案。"), _("只有场景方和投标机构可以查看该方案。"))


def post_message(user: Any, bid_id: int, body: str | None, reply_to_id: int | None = None) -> BidMessage:
    """A question or answer in the thread between the scenario owner and the bidder."""
    require(user, "bid.message")
    bid = get_for_update(Bid, bid_id, _("找不到该方案。"))
    if not is_party(user, bid.bidder_id, bid.listing.owner_id):
        raise PermissionDenied(_("只有场景方和投标机构可以在此留言。"))
    body = require_text(body, "body", _("留言内容"), 5000)
    if bid.status == BidStatus.WITHDRAWN:
        raise Conflict(_("方案已撤回，不能再留言。"))
    if reply_to_id is not None and not any(m.id == reply_to_id for m in bid.messages):
        raise ValidationError(_("回复的留言不存在。"), "reply_to_id")
    msg = BidMessage(bid=bid, author_id=user.id, author_org_id=user.organisation_id, body=body, reply_to_id=reply_to_id)
    db.session.add(msg)
    audit.record(user, "bid.message", msg, None, audit.snapshot(msg))
    if user.organisation_id == bid.bidder_id:
        recipients = org_admins(bid.listing.owner_id)
    else:
        recipients = admins_and_requester(bid.bidder_id, bid.submitted_by_id)
    notify(recipients, "bid.message",
           _l("揭榜方案有新留言：%(title)s", title=bid.listing.title), body[:200], bid_link(bid))
    db.session.flush()
    return msg


def bids_for_listing(user: Any, listing: Listing) -> list[Bid]:
    require(user, "bid.manage_received", listing)
    return list(db.session.execute(
        select(Bid).where(Bid.listing_id == listing.id).order_by(Bid.price_cny, Bid.id)
    ).scalars())
