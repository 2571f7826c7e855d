"""Demo deals: bids (one awarded with an active contract), bookings (approved, used, a no-show, a
pending request), data applications. Listings are taken from ``world.listings`` by kind (refs
S0001.., H01.., P01, D01, G01); whatever the listings demo has not loaded is skipped.

Idempotent: each item is keyed by its listing and organisation (and purpose for bookings).
"""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from market import evidence, textkeys
from market.domain.localtime import SHANGHAI, stamp
from market.extensions import db
from models.deals import (
    Bid,
    BidMessage,
    Booking,
    Contract,
    DataApplication,
    ResourceAvailability,
)
from models.listings import RENTABLE_KINDS

from .bookings import DEFAULT_HOURS
from .data_access import catalogue_fields

DEMO_PDF = b"%PDF-1.4\n% demo contract signed by both parties\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _of_kind(world, *kinds: str, published: bool = True) -> list[Any]:
    return sorted(
        (x for x in world.listings.values() if x.kind in kinds and (not published or x.status == "published")),
        key=lambda x: x.ref,
    )


def _first_user(world, org_ref: str):
    org = world.orgs.get(org_ref)
    return next((u for u in world.users.values() if org is not None and u.organisation_id == org.id), None)


def _local(days: int, hour: int) -> dt.datetime:
    """A weekday ``days`` from today (moved forward off weekends), at ``hour`` Beijing time, as UTC."""
    day = dt.datetime.now(SHANGHAI).date() + dt.timedelta(days=days)
    step = 1 if days >= 0 else -1
    while day.weekday() >= 5:
        day += dt.timedelta(days=step)
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI).astimezone(dt.UTC)


def _contract(kind, listing, payer, payee, amount, title, source_type, source_id, active=False) -> Contract:
    """``title`` is generated text (``_l``), kept as its key and parameters as the services keep it: read in the
    reader's language."""
    title_key, title_params = textkeys.freeze(title)
    c = Contract(kind=kind, listing=listing, payer=payer, payee=payee, amount_cny=amount, title=str(title)[:200],
                 title_key=title_key, title_params=title_params, payment_schedule=[], status="draft",
                 source_type=source_type, source_id=source_id)
    if active:
        stored = evidence.store(io.BytesIO(DEMO_PDF), "demo-contract.pdf", allowed=frozenset({"pdf"}))
        moment = dt.datetime.now(dt.UTC)
        c.signed_document_sha256, c.signed_document_filename = stored.sha256, "合同（双方签署）.pdf"
        c.payer_confirmed_at = c.payee_confirmed_at = moment
        c.status = "active"
        half = (amount / 2).quantize(Decimal("0.01"))
        today = dt.datetime.now(SHANGHAI).date()
        c.payment_schedule = [
            {"due": (today + dt.timedelta(days=30)).isoformat(), "amount_cny": str(half), "note": "首付款"},
            {"due": (today + dt.timedelta(days=120)).isoformat(), "amount_cny": str(amount - half), "note": "验收款"},
        ]
    db.session.add(c)
    db.session.flush()
    return c


def _bids(world) -> int:
    scenarios = [s for s in _of_kind(world, "scenario") if not s.deadline or s.deadline > dt.datetime.now(dt.UTC)]
    made = 0
    plan = [  # (scenario index, bidder ref, price, status)
        (0, "S1", "380000.00", "awarded"),
        (0, "S2", "420000.00", "shortlisted"),
        (0, "S3", "360000.00", "submitted"),
        (1, "S3", "150000.00", "submitted"),
    ]
    for idx, org_ref, price, status in plan:
        if idx >= len(scenarios) or org_ref not in world.orgs:
            continue
        scenario, org = scenarios[idx], world.orgs[org_ref]
        if scenario.owner_id == org.id or (scenario.in_district_only and not org.in_district):
            continue
        exists = db.session.execute(select(Bid).where(Bid.listing_id == scenario.id, Bid.bidder_id == org.id)).scalar_one_or_none()
        if exists is not None:
            continue
        bidder_user = _first_user(world, org_ref)
        bid = Bid(listing=scenario, bidder=org, submitted_by_id=bidder_user.id if bidder_user else None,
                  approach=f"{org.name}的实施方案：需求调研、原型开发、试点部署与验收，全程配备驻场工程师。",
                  price_cny=Decimal(price), timeline="第1个月需求与设计；第2–3个月开发；第4个月试点与验收。",
                  attachments=[], status=status)
        db.session.add(bid)
        db.session.flush()
        owner_user = _first_user(world, next((r for r, o in world.orgs.items() if o.id == scenario.owner_id), ""))
        if owner_user and bidder_user:
            q = BidMessage(bid=bid, author_id=owner_user.id, author_org_id=scenario.owner_id, body="请说明试点阶段需要我方提供哪些数据与场地？")
            db.session.add(q)
            db.session.flush()
            db.session.add(BidMessage(bid=bid, author_id=bidder_user.id, author_org_id=org.id, reply_to_id=q.id,
                                      body="需要脱敏后的历史记录样本和一间试点病房，其余由我方自备。"))
        if status == "awarded":
            bid.decided_at = dt.datetime.now(dt.UTC)
            bid.contract = _contract("scenario_contract", scenario, scenario.owner, org, bid.price_cny,
                                     _l("场景合同：%(title)s", title=scenario.title), "bid", bid.id, active=True)
        made += 1
    return made


def _booking(listing, org, start, hours, purpose, status, actual=None) -> Booking | None:
    exists = db.session.execute(select(Booking).where(
        Booking.listing_id == listing.id, Booking.renter_id == org.id, Booking.purpose == purpose)).scalar_one_or_none()
    if exists is not None or listing.rate_cny_per_hour is None or listing.owner_id == org.id:
        return None
    b = Booking(listing=listing, renter=org, start_at=start, end_at=start + dt.timedelta(hours=hours), purpose=purpose,
                sample_description="演示样品，常温保存。", operator_needed=True, status=status,
                rate_cny_per_hour=listing.rate_cny_per_hour)
    if status != "requested":
        b.decided_at = start - dt.timedelta(days=2)
    if actual is not None:
        b.actual_hours, b.checked_in_at = Decimal(actual), start + dt.timedelta(hours=hours)
    db.session.add(b)
    db.session.flush()
    if status in ("approved", "completed"):
        hours_billed = b.actual_hours if b.actual_hours is not None else b.hours
        b.contract = _contract("rental", listing, org, listing.owner, (hours_billed * b.rate_cny_per_hour).quantize(Decimal("0.01")),
                               _l("租用合同：%(title)s（%(when)s）", title=listing.title,
                                  when=stamp(b.start_at)), "booking", b.id)
    return b


def _bookings(world) -> int:
    resources = _of_kind(world, *RENTABLE_KINDS)
    for r in resources:
        if db.session.execute(select(ResourceAvailability).where(ResourceAvailability.listing_id == r.id)).scalar_one_or_none() is None:
            db.session.add(ResourceAvailability(listing_id=r.id, opening_hours=dict(DEFAULT_HOURS)))
    if not resources:
        return 0
    orgs = world.orgs
    instrument = resources[0]
    pilot = next((r for r in resources if r.kind == "pilot_base"), resources[-1])
    plan = [
        (instrument, "S2", _local(-14, 9), 4, "演示：薄膜材料形貌表征", "completed", "3.50"),
        (instrument, "S3", _local(-7, 13), 2, "演示：定位模块可靠性测试", "no_show", None),
        (instrument, "S1", _local(7, 9), 2, "演示：医用传感器样品检测", "approved", None),
        (pilot, "S2", _local(10, 9), 8, "演示：新材料小批量中试", "requested", None),
    ]
    made = 0
    for listing, ref, start, hours, purpose, status, actual in plan:
        if ref in orgs and _booking(listing, orgs[ref], start, hours, purpose, status, actual) is not None:
            made += 1
    return made


def _applications(world) -> int:
    made = 0
    today = dt.datetime.now(SHANGHAI).date()
    databases = _of_kind(world, "database")
    public = [x for x in _of_kind(world, "public_data") if x.open_mode != "unconditional"]
    plan = []
    if databases:
        plan.append((databases[0], "S1", "use", "approved"))
    if public:
        plan.append((public[0], "S3", "authorised", "submitted"))
        plan.append((public[0], "S1", "franchise", "approved"))
    for listing, ref, mode, status in plan:
        org = world.orgs.get(ref)
        if org is None or org.id == listing.owner_id:
            continue
        exists = db.session.execute(select(DataApplication).where(
            DataApplication.listing_id == listing.id, DataApplication.applicant_id == org.id)).scalars().first()
        if exists is not None:
            continue
        app = DataApplication(listing=listing, applicant=org, purpose="演示：训练慢病风险预测模型并在区内医院试点应用。",
                              fields=catalogue_fields(listing)[:3] or ["年龄段", "诊断编码", "就诊次数"], period_start=today,
                              period_end=today + dt.timedelta(days=365), mode=mode, status=status)
        if status == "approved":
            app.decided_at = dt.datetime.now(dt.UTC)
            app.valid_from, app.valid_until = today, today + dt.timedelta(days=365)
            app.conditions = "仅使用脱敏数据，成果发布前报数据方备案。" if mode == "franchise" else None
            app.fee_cny = Decimal("20000.00")
        db.session.add(app)
        db.session.flush()
        if app.fee_cny:
            app.contract = _contract("data_access", listing, org, listing.owner, app.fee_cny,
                                     _l("数据授权合同：%(title)s", title=listing.title), "data_application", app.id)
        made += 1
    return made


def load(world) -> None:
    if not world.listings:
        world.summary.append("deals: skipped (no demo listings loaded)")
        return
    bids, bookings, apps = _bids(world), _bookings(world), _applications(world)
    world.summary.append(f"deals: {bids} bids, {bookings} bookings, {apps} data applications")
