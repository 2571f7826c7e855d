"""The provider's (leading firm, university, institute, government data office) and the SME's
dashboards: what waits for them, their numbers, and for an SME a few listings worth a look.

Recommendations are plain rules for now: published listings in the tracks the SME has dealt in or
saved searches for, newest first, never its own or one it already dealt with; each with its reason.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, or_, select, union_all

from market.deals.contracts import awaiting_confirmation, counterparty
from market.domain.localtime import local_year
from market.extensions import db
from market.ledger.services import pending_for_org
from market.search.labels import TRACK_LABELS
from models.dashboard import LedgerFact
from models.deals import (
    OPEN_BID_STATUSES,
    Bid,
    BidStatus,
    Booking,
    BookingStatus,
    DataApplication,
    DataApplicationStatus,
)
from models.listings import Listing, ListingStatus
from models.search import SavedSearch


@dataclass
class Item:
    label: str
    link: str
    since: Any = None
    step: str = ""


@dataclass
class Count:
    key: str
    label: str
    count: int
    items: list[Item] = field(default_factory=list)


def _owned(model, org_id: int):
    return model.listing_id.in_(select(Listing.id).where(Listing.owner_id == org_id))


def _waiting(model, cond, org_id: int, order, limit: int = 8):
    n = db.session.execute(select(func.count(model.id)).where(cond, _owned(model, org_id))).scalar_one()
    rows = list(db.session.execute(select(model).where(cond, _owned(model, org_id)).order_by(order).limit(limit)).scalars())
    return int(n), rows


def confirmed_revenue(org_id: int, year: int) -> Decimal:
    """Net amounts received in ``year`` (Beijing time) by entries that count (both confirmed, evidence, no dispute)."""
    stmt = select(func.coalesce(func.sum(LedgerFact.amount_cny), 0)).where(
        LedgerFact.payee_id == org_id, LedgerFact.year == year, LedgerFact.reasons == 0)
    return Decimal(str(db.session.execute(stmt).scalar_one() or 0)).quantize(Decimal("0.01"))


@dataclass
class ListingStats:
    listing: Listing
    views: int
    requests: int
    bookings: int


def listing_stats(org_id: int, limit: int = 10) -> list[ListingStats]:
    """The organisation's listings by views (``listing.view_count``, counted on the detail page), with
    how many bids/applications (requests) and bookings each received."""
    listings = list(db.session.execute(select(Listing).where(Listing.owner_id == org_id)
                                       .order_by(Listing.view_count.desc(), Listing.id).limit(limit)).scalars())
    ids = [x.id for x in listings]
    if not ids:
        return []
    reqs = union_all(select(Bid.listing_id.label("lid")).where(Bid.listing_id.in_(ids)),
                     select(DataApplication.listing_id).where(DataApplication.listing_id.in_(ids))).subquery()
    requests = dict(db.session.execute(select(reqs.c.lid, func.count()).group_by(reqs.c.lid)).all())
    bookings = dict(db.session.execute(select(Booking.listing_id, func.count(Booking.id))
                                       .where(Booking.listing_id.in_(ids)).group_by(Booking.listing_id)).all())
    return [ListingStats(x, x.view_count, int(requests.get(x.id, 0)), int(bookings.get(x.id, 0))) for x in listings]


def provider_dashboard(org, now: dt.datetime | None = None) -> dict[str, Any]:
    now = now or dt.datetime.now(dt.UTC)
    year = local_year(now)
    n_bk, bks = _waiting(Booking, Booking.status == BookingStatus.REQUESTED, org.id, Booking.created_at)
    n_bid, bids = _waiting(Bid, Bid.status.in_(OPEN_BID_STATUSES), org.id, Bid.submitted_at)
    n_app, apps = _waiting(DataApplication, DataApplication.status == DataApplicationStatus.SUBMITTED, org.id,
                           DataApplication.created_at)
    pending = pending_for_org(org.id)
    n_con, cons = awaiting_confirmation(org.id, limit=8)
    counts = [
        Count("bookings", _("待审批的预约"), n_bk, [
            Item(f"{b.listing.title} · {b.renter.name}", f"/deals/bookings/{b.id}", b.created_at) for b in bks]),
        Count("bids", _("待评审的揭榜方案"), n_bid, [
            Item(f"{b.listing.title} · {b.bidder.name}", f"/deals/bids/{b.id}", b.submitted_at) for b in bids]),
        Count("applications", _("待审批的数据申请"), n_app, [
            Item(f"{a.listing.title} · {a.applicant.name}", f"/deals/applications/{a.id}", a.created_at) for a in apps]),
        Count("contracts", _("待确认的合同"), n_con, [
            Item(_("%(t)s · %(o)s", t=c.display_title, o=counterparty(org.id, c).name), f"/deals/contracts/{c.id}",
                 c.created_at) for c in cons]),
        Count("confirmations", _("待确认的付款"), len(pending), [
            Item(f"{e.ref} · ¥{abs(e.amount_cny):,.2f}", f"/ledger/entries/{e.id}", e.recorded_at) for e in pending[:8]]),
    ]
    return {"counts": counts, "listings": listing_stats(org.id), "year": year,
            "revenue": confirmed_revenue(org.id, year)}


# ---------------------------------------------------------------- SME
def _bid_step(b: Bid) -> str:
    return _("已入围，请留意场景方的消息") if b.status == BidStatus.SHORTLISTED else _("等待场景方评审")


def _booking_step(b: Booking, now: dt.datetime) -> str:
    if b.status == BookingStatus.REQUESTED:
        return _("等待提供方审批")
    return _("按预约时间到场使用") if b.start_at > now else _("等待提供方登记使用情况")


def _application_step(a: DataApplication) -> str:
    if a.status == DataApplicationStatus.SUBMITTED:
        return _("等待数据方审批")
    return _("已获授权，有效期至 %(d)s", d=a.valid_until) if a.valid_until else _("已获授权")


@dataclass
class Recommendation:
    listing: Listing
    reason: str


def recommendations(org_id: int, user_id: int | None, limit: int = 6) -> list[Recommendation]:
    """Published listings in the tracks the SME dealt in or searched for (plain rules)."""
    dealt = union_all(
        select(Bid.listing_id.label("lid")).where(Bid.bidder_id == org_id),
        select(Booking.listing_id).where(Booking.renter_id == org_id),
        select(DataApplication.listing_id).where(DataApplication.applicant_id == org_id),
    ).subquery()
    dealt_ids = {r[0] for r in db.session.execute(select(dealt.c.lid))}
    reasons: dict[str, str] = {}
    if dealt_ids:
        for (track,) in db.session.execute(select(Listing.track).where(Listing.id.in_(dealt_ids)).distinct()):
            reasons.setdefault(track, _("与您对接过的%(t)s赛道相同", t=TRACK_LABELS.get(track, track)))
    if user_id is not None:
        for s in db.session.execute(select(SavedSearch).where(SavedSearch.user_id == user_id)).scalars():
            track = (s.filters or {}).get("track")
            for t in ([track] if isinstance(track, str) else list(track or [])):
                if t in TRACK_LABELS:
                    reasons.setdefault(t, _("符合您保存的搜索“%(n)s”", n=s.name))
    stmt = select(Listing).where(Listing.status == ListingStatus.PUBLISHED, Listing.owner_id != org_id)
    if dealt_ids:
        stmt = stmt.where(Listing.id.not_in(dealt_ids))
    if reasons:
        rows = db.session.execute(stmt.where(Listing.track.in_(list(reasons)))
                                  .order_by(Listing.published_at.desc(), Listing.id.desc()).limit(limit)).scalars()
        return [Recommendation(x, reasons[x.track]) for x in rows]
    rows = db.session.execute(stmt.order_by(Listing.published_at.desc(), Listing.id.desc()).limit(limit)).scalars()
    return [Recommendation(x, _("最新发布")) for x in rows]


def sme_dashboard(org, user, now: dt.datetime | None = None) -> dict[str, Any]:
    now = now or dt.datetime.now(dt.UTC)
    bids = list(db.session.execute(select(Bid).where(Bid.bidder_id == org.id, Bid.status.in_(OPEN_BID_STATUSES))
                                   .order_by(Bid.submitted_at.desc()).limit(20)).scalars())
    bookings = list(db.session.execute(select(Booking).where(
        Booking.renter_id == org.id,
        or_(Booking.status == BookingStatus.REQUESTED,
            (Booking.status == BookingStatus.APPROVED))).order_by(Booking.start_at).limit(20)).scalars())
    apps = list(db.session.execute(select(DataApplication).where(
        DataApplication.applicant_id == org.id,
        DataApplication.status.in_((DataApplicationStatus.SUBMITTED, DataApplicationStatus.APPROVED)))
        .order_by(DataApplication.created_at.desc()).limit(20)).scalars())
    pending = pending_for_org(org.id)
    _n, contracts = awaiting_confirmation(org.id, limit=20)
    return {
        "contracts": [Item(f"{c.display_title} · {counterparty(org.id, c).name}", f"/deals/contracts/{c.id}", c.created_at,
                           f"¥{c.amount_cny:,.2f}") for c in contracts],
        "bids": [Item(b.listing.title, f"/deals/bids/{b.id}", b.submitted_at, _bid_step(b)) for b in bids],
        "bookings": [Item(b.listing.title, f"/deals/bookings/{b.id}", b.start_at, _booking_step(b, now)) for b in bookings],
        "applications": [Item(a.listing.title, f"/deals/applications/{a.id}", a.created_at, _application_step(a))
                         for a in apps],
        "payments": [Item(f"{e.ref} · {e.payee.name if e.payer_id == org.id else e.payer.name}", f"/ledger/entries/{e.id}",
                          e.paid_at, f"¥{abs(e.amount_cny):,.2f}") for e in pending],
        "recommended": recommendations(org.id, user.id),
    }
