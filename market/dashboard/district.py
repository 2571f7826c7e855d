"""District-wide lists of deals (bids, bookings, data applications, contracts) with status filters,
whitelisted sorts and pages; and instrument/facility utilisation per resource and per provider.

Every list is one SELECT with LIMIT/OFFSET over an indexed sort column, fetching one row more than a
page to know whether a next page exists (no COUNT(*) per request). Utilisation sums booked hours in
SQL (GROUP BY resource or provider); available hours come from the opening hours of the resources on
the page only.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import aliased, selectinload

from market.deals.bookings import DEFAULT_HOURS
from market.domain.localtime import SHANGHAI, year_bounds
from market.extensions import db
from models.deals import (
    Bid,
    BidStatus,
    BlockedPeriod,
    Booking,
    BookingStatus,
    Contract,
    ContractStatus,
    DataApplication,
    DataApplicationStatus,
    ResourceAvailability,
)
from models.listings import RENTABLE_KINDS, Listing
from models.organisations import Organisation

from .sqltime import hours_between


@dataclass
class ListSpec:
    name: str
    model: Any
    statuses: type
    sorts: dict[str, Any]
    default_sort: str
    org_columns: tuple[Any, ...]  # columns naming an organisation (for the organisation filter)
    loads: tuple[Any, ...] = ()


Owner = aliased(Listing)

LISTS: dict[str, ListSpec] = {
    "bids": ListSpec("bids", Bid, BidStatus, {"submitted_at": Bid.submitted_at, "price": Bid.price_cny, "id": Bid.id},
                     "submitted_at", (Bid.bidder_id,), (selectinload(Bid.listing).selectinload(Listing.owner),
                                                         selectinload(Bid.bidder))),
    "bookings": ListSpec("bookings", Booking, BookingStatus,
                         {"start_at": Booking.start_at, "created_at": Booking.created_at, "id": Booking.id},
                         "start_at", (Booking.renter_id,), (selectinload(Booking.listing).selectinload(Listing.owner),
                                                            selectinload(Booking.renter))),
    "applications": ListSpec("applications", DataApplication, DataApplicationStatus,
                             {"created_at": DataApplication.created_at, "id": DataApplication.id},
                             "created_at", (DataApplication.applicant_id,),
                             (selectinload(DataApplication.listing).selectinload(Listing.owner),
                              selectinload(DataApplication.applicant))),
    "contracts": ListSpec("contracts", Contract, ContractStatus,
                          {"created_at": Contract.created_at, "amount": Contract.amount_cny, "id": Contract.id},
                          "created_at", (Contract.payer_id, Contract.payee_id),
                          (selectinload(Contract.payer), selectinload(Contract.payee), selectinload(Contract.listing))),
}


@dataclass
class ListFilters:
    status: str | None = None
    org_id: int | None = None
    year: int | None = None
    sort: str = ""
    desc: bool = True


@dataclass
class ListPage:
    items: list[Any]
    page: int
    per_page: int
    has_next: bool

    @property
    def has_prev(self) -> bool:
        return self.page > 1


def _time_column(spec: ListSpec):
    return spec.sorts[spec.default_sort]


def list_stmt(spec: ListSpec, f: ListFilters):
    m = spec.model
    stmt = select(m)
    if f.status and f.status in {s.value for s in spec.statuses}:
        stmt = stmt.where(m.status == f.status)
    if f.org_id is not None:
        from sqlalchemy import or_

        conds = [c == f.org_id for c in spec.org_columns]
        if hasattr(m, "listing_id") and m is not Contract:  # the provider side: the listing's owner
            conds.append(m.listing_id.in_(select(Listing.id).where(Listing.owner_id == f.org_id)))
        stmt = stmt.where(or_(*conds))
    if f.year is not None:
        start, end = year_bounds(f.year)
        col = _time_column(spec)
        stmt = stmt.where(col >= start, col < end)
    col = spec.sorts.get(f.sort) or _time_column(spec)
    stmt = stmt.order_by(col.desc() if f.desc else col.asc(), m.id.desc() if f.desc else m.id.asc())
    return stmt.options(*spec.loads)


def page_of(spec: ListSpec, f: ListFilters, page: int = 1, per_page: int = 50) -> ListPage:
    page = max(1, min(page, 100_000))
    rows = list(db.session.execute(list_stmt(spec, f).limit(per_page + 1).offset((page - 1) * per_page)).scalars())
    return ListPage(rows[:per_page], page, per_page, len(rows) > per_page)


def all_rows(spec: ListSpec, f: ListFilters, batch: int = 1000):
    offset = 0
    while True:
        rows = list(db.session.execute(list_stmt(spec, f).limit(batch).offset(offset)).scalars())
        yield from rows
        if len(rows) < batch:
            return
        offset += batch


def status_counts(spec: ListSpec, f: ListFilters) -> dict[str, int]:
    """How many of each status (GROUP BY), under the other filters."""
    m = spec.model
    stmt = list_stmt(spec, ListFilters(org_id=f.org_id, year=f.year)).order_by(None).options()
    sub = stmt.with_only_columns(m.status, func.count()).group_by(m.status)
    return {s: int(n) for s, n in db.session.execute(sub)}


# ---------------------------------------------------------------- utilisation
COUNTED_BOOKINGS = (BookingStatus.APPROVED, BookingStatus.COMPLETED, BookingStatus.NO_SHOW)


@dataclass
class UtilRow:
    key: int
    label: str
    owner: str = ""
    ref: str = ""
    resources: int = 1
    bookings: int = 0
    booked_hours: Decimal = Decimal("0")
    used_hours: Decimal = Decimal("0")
    available_hours: Decimal = Decimal("0")
    completed: int = 0
    no_shows: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rate(self) -> Decimal | None:
        """Booked hours as a share of available hours, in per cent."""
        if not self.available_hours:
            return None
        return (self.booked_hours * 100 / self.available_hours).quantize(Decimal("0.1"))


def _d(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def _minutes(hhmm: str) -> int:
    return int(hhmm[:2]) * 60 + int(hhmm[3:5])


def weekly_minutes(opening_hours: dict[str, Any]) -> dict[int, list[tuple[int, int]]]:
    out: dict[int, list[tuple[int, int]]] = {}
    for day, spans in (opening_hours or {}).items():
        out[int(day)] = [(_minutes(s[:5]), _minutes(s[6:])) for s in spans]
    return out


def available_hours(opening_hours: dict[str, Any], blocks: list[tuple[dt.datetime, dt.datetime]],
                    start: dt.date, end: dt.date) -> Decimal:
    """Opening hours of every Beijing-time day in [start, end), less the blocked periods inside them."""
    spans = weekly_minutes(opening_hours)
    per_weekday = {d: sum(b - a for a, b in s) for d, s in spans.items()}
    days = (end - start).days
    full_weeks, rest = divmod(days, 7)
    minutes = full_weeks * sum(per_weekday.values())
    for i in range(rest):
        minutes += per_weekday.get((start + dt.timedelta(days=full_weeks * 7 + i)).weekday(), 0)
    for b_start, b_end in blocks:  # blocked minutes that fall inside opening spans
        ls, le = b_start.astimezone(SHANGHAI), b_end.astimezone(SHANGHAI)
        day = max(ls.date(), start)
        while day < min(le.date() + dt.timedelta(days=1), end):
            day_start = dt.datetime.combine(day, dt.time(), tzinfo=SHANGHAI)
            for a, b in spans.get(day.weekday(), []):
                s_at, e_at = day_start + dt.timedelta(minutes=a), day_start + dt.timedelta(minutes=b)
                overlap = (min(e_at, le) - max(s_at, ls)).total_seconds()
                if overlap > 0:
                    minutes -= overlap / 60
            day += dt.timedelta(days=1)
    return _d(Decimal(str(max(minutes, 0))) / 60)


def _availability_rows(year: int, where) -> dict[int, tuple[int, Decimal]]:
    """Available hours of the resources that have opening hours of their own (ResourceAvailability),
    as {listing id: (owner id, hours)}; the others open DEFAULT_HOURS (``default_hours``)."""
    start, end = dt.date(year, 1, 1), dt.date(year + 1, 1, 1)
    lo, hi = year_bounds(year)
    rows = db.session.execute(
        select(ResourceAvailability.id, ResourceAvailability.listing_id, Listing.owner_id, ResourceAvailability.opening_hours)
        .join(Listing, Listing.id == ResourceAvailability.listing_id).where(where)).all()
    if not rows:
        return {}
    blocks: dict[int, list] = defaultdict(list)
    for aid, s_at, e_at in db.session.execute(
            select(BlockedPeriod.availability_id, BlockedPeriod.start_at, BlockedPeriod.end_at)
            .where(BlockedPeriod.availability_id.in_([r[0] for r in rows]), BlockedPeriod.end_at > lo, BlockedPeriod.start_at < hi)):
        blocks[aid].append((s_at, e_at))
    plain: dict[str, Decimal] = {}  # the same opening hours and no blocks: computed once
    out = {}
    for aid, lid, owner, opening in rows:
        if blocks.get(aid):
            out[lid] = (owner, available_hours(opening, blocks[aid], start, end))
            continue
        key = json.dumps(opening, sort_keys=True)
        if key not in plain:
            plain[key] = available_hours(opening, [], start, end)
        out[lid] = (owner, plain[key])
    return out


def default_hours(year: int) -> Decimal:
    return available_hours(DEFAULT_HOURS, [], dt.date(year, 1, 1), dt.date(year + 1, 1, 1))


def _availability(listing_ids: list[int], year: int) -> dict[int, Decimal]:
    own = _availability_rows(year, Listing.id.in_(listing_ids))
    default = default_hours(year)
    return {lid: own[lid][1] if lid in own else default for lid in listing_ids}


def _booking_sums(group_col, year: int, where=()):
    lo, hi = year_bounds(year)
    hours = func.sum(hours_between(Booking.start_at, Booking.end_at))
    stmt = (
        select(group_col.label("k"), func.count(Booking.id), hours, func.sum(Booking.actual_hours),
               func.sum(case((Booking.status == BookingStatus.COMPLETED, 1), else_=0)),
               func.sum(case((Booking.status == BookingStatus.NO_SHOW, 1), else_=0)))
        .join(Listing, Booking.listing_id == Listing.id)
        .where(Booking.status.in_(COUNTED_BOOKINGS), Booking.start_at >= lo, Booking.start_at < hi, *where)
        .group_by(group_col)
    )
    return {r[0]: r[1:] for r in db.session.execute(stmt)}


UTIL_SORTS = ("label", "booked_hours", "no_shows")


def utilisation_by_resource(year: int, provider_id: int | None = None, page: int = 1, per_page: int = 50,
                            sort: str = "booked_hours") -> tuple[list[UtilRow], bool]:
    """One row per rentable resource: hours booked (approved, used, no-show) against opening hours.

    The year's bookings are summed once per resource (GROUP BY) and joined to the resources for the
    sort; only the page's resources get their opening hours read."""
    lo, hi = year_bounds(year)
    per = (select(Booking.listing_id.label("lid"),
                  func.sum(hours_between(Booking.start_at, Booking.end_at)).label("hours"),
                  func.sum(case((Booking.status == BookingStatus.NO_SHOW, 1), else_=0)).label("no_shows"))
           .where(Booking.status.in_(COUNTED_BOOKINGS), Booking.start_at >= lo, Booking.start_at < hi)
           .group_by(Booking.listing_id).subquery())
    booked = func.coalesce(per.c.hours, 0)
    stmt = (select(Listing.id, Listing.ref, Listing.title, Organisation.name)
            .join(Organisation, Listing.owner_id == Organisation.id)
            .outerjoin(per, per.c.lid == Listing.id)
            .where(Listing.kind.in_(RENTABLE_KINDS)))
    if provider_id is not None:
        stmt = stmt.where(Listing.owner_id == provider_id)
    order = {"label": (Listing.ref,), "no_shows": (func.coalesce(per.c.no_shows, 0).desc(), Listing.ref)}.get(
        sort, (booked.desc(), Listing.ref))
    page = max(1, min(page, 100_000))
    rows = db.session.execute(stmt.order_by(*order).limit(per_page + 1).offset((page - 1) * per_page)).all()
    has_next = len(rows) > per_page
    rows = rows[:per_page]
    ids = [r[0] for r in rows]
    sums = _booking_sums(Booking.listing_id, year, (Booking.listing_id.in_(ids),)) if ids else {}
    avail = _availability(ids, year) if ids else {}
    out = []
    for lid, ref, title, owner in rows:
        n, hours, used, completed, no_shows = sums.get(lid, (0, 0, 0, 0, 0))
        out.append(UtilRow(lid, title, owner, ref, 1, int(n), _d(hours), _d(used), avail.get(lid, Decimal("0")),
                           int(completed or 0), int(no_shows or 0)))
    return out, has_next


def utilisation_by_provider(year: int, page: int = 1, per_page: int = 50) -> tuple[list[UtilRow], bool]:
    """One row per provider with rentable resources: the sums over its resources."""
    n_res = func.count(Listing.id)
    stmt = (select(Organisation.id, Organisation.name, n_res).join(Listing, Listing.owner_id == Organisation.id)
            .where(Listing.kind.in_(RENTABLE_KINDS)).group_by(Organisation.id, Organisation.name)
            .order_by(n_res.desc(), Organisation.id))
    page = max(1, min(page, 100_000))
    rows = db.session.execute(stmt.limit(per_page + 1).offset((page - 1) * per_page)).all()
    has_next = len(rows) > per_page
    rows = rows[:per_page]
    org_ids = [r[0] for r in rows]
    if not org_ids:
        return [], False
    sums = _booking_sums(Listing.owner_id, year, (Listing.owner_id.in_(org_ids),))
    own = _availability_rows(year, and_(Listing.owner_id.in_(org_ids), Listing.kind.in_(RENTABLE_KINDS)))
    per_org: dict[int, Decimal] = defaultdict(Decimal)
    with_own: dict[int, int] = defaultdict(int)
    for owner, hours in own.values():
        per_org[owner] += hours
        with_own[owner] += 1
    default = default_hours(year)
    for oid, _name, count in rows:  # resources without opening hours of their own open the default hours
        per_org[oid] += default * (int(count) - with_own[oid])
    out = []
    for oid, name, count in rows:
        n, hours, used, completed, no_shows = sums.get(oid, (0, 0, 0, 0, 0))
        out.append(UtilRow(oid, name, name, "", int(count), int(n), _d(hours), _d(used), _d(per_org[oid]),
                           int(completed or 0), int(no_shows or 0)))
    return out, has_next
