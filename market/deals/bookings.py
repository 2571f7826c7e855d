"""Bookings of instruments, facilities and pilot bases (art. 7): availability, requests, approval,
cancellation, usage check-in, no-shows, utilisation, iCalendar export.

Overlap is refused twice: by the check below (a clear message) and by the database itself — the
PostgreSQL exclusion constraint ``booking_no_overlap`` (models/deals.py), or on SQLite the write lock
taken before the check — so concurrent requests for one slot cannot both win.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import exc as sa_exc
from sqlalchemy import func, or_, select

from market import audit
from market.db import get_or_404
from market.domain.localtime import SHANGHAI, local_year, stamp
from market.errors import Conflict, NotFound, PermissionDenied, ValidationError
from market.extensions import db
from market.links import path_for
from market.notifications.services import notify, org_admins
from market.permissions import require
from models.deals import (
    ACTIVE_BOOKING_STATUSES,
    BOOKING_OVERLAP_CONSTRAINT,
    BlockedPeriod,
    Booking,
    BookingStatus,
    ContractKind,
    ResourceAvailability,
)
from models.listings import RENTABLE_KINDS, Listing, ListingStatus

from .common import (
    acting_org,
    admins_and_requester,
    clock,
    get_for_parties,
    get_for_update,
    is_party,
    listing_of_kind,
    require_text,
    serialise_writes,
)
from .contracts import cancel_draft, create_contract_draft

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_HOURS = {str(d): ["09:00-18:00"] for d in range(5)}  # Mon–Fri, when the provider set nothing
_SPAN = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-(([01]\d|2[0-3]):([0-5]\d)|24:00)$")


def booking_link(booking: Booking) -> str:
    return path_for("deals.booking_detail", booking_id=booking.id)


def resource_by_ref(ref: str) -> Listing:
    return listing_of_kind(ref, RENTABLE_KINDS, _("找不到该仪器、设施或基地。"))


# ---------------------------------------------------------------- availability
def availability_for(listing: Listing) -> ResourceAvailability:
    """The provider's availability, or the defaults (not saved) if none was set yet."""
    avail = db.session.execute(
        select(ResourceAvailability).where(ResourceAvailability.listing_id == listing.id)
    ).scalar_one_or_none()
    if avail is None:
        avail = ResourceAvailability(
            listing_id=listing.id, opening_hours=dict(DEFAULT_HOURS), min_hours=Decimal("1"),
            max_hours=Decimal("8"), lead_time_hours=24, free_cancel_hours=24, max_horizon_days=90, slot_minutes=60,
        )
    return avail


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def parse_spans(text: str | None, field: str) -> list[str]:
    """``"09:00-12:00, 13:00-18:00"`` -> ["09:00-12:00", "13:00-18:00"], checked and sorted."""
    spans = []
    for part in re.split(r"[,，;；\s]+", (text or "").strip()):
        if not part:
            continue
        m = _SPAN.match(part)
        if not m or _minutes(part[:5]) >= _minutes(part[6:]):
            raise ValidationError(_("时段“%(s)s”无效，请写成 09:00-18:00。", s=part), field)
        spans.append(part)
    spans.sort()
    for a, b in zip(spans, spans[1:], strict=False):
        if _minutes(b[:5]) < _minutes(a[6:]):
            raise ValidationError(_("时段 %(a)s 与 %(b)s 重叠。", a=a, b=b), field)
    return spans


@dataclass
class AvailabilityInput:
    hours: dict[str, str]  # "mon".."sun" -> "09:00-12:00, 13:00-18:00"
    min_hours: Any
    max_hours: Any
    lead_time_hours: Any
    free_cancel_hours: Any
    max_horizon_days: Any = None  # None: keep the resource's current value
    slot_minutes: Any = None


def _hours_value(value: Any, field: str, label: str) -> Decimal:
    try:
        d = Decimal(str(value).strip())
    except Exception:
        raise ValidationError(_("%(label)s必须是数字。", label=label), field) from None
    if not d.is_finite() or d <= 0 or d > 24 * 14 or d.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ValidationError(_("%(label)s必须在 0 到 336 小时之间，最多两位小数。", label=label), field)
    return d


def _int_value(value: Any, field: str, label: str) -> int:
    try:
        n = int(str(value).strip())
    except ValueError:
        raise ValidationError(_("%(label)s必须是整数。", label=label), field) from None
    if not 0 <= n <= 24 * 90:
        raise ValidationError(_("%(label)s必须在 0 到 2160 小时之间。", label=label), field)
    return n


def _bounded_int(value: Any, field: str, label: str, low: int, high: int) -> int:
    try:
        n = int(str(value).strip())
    except ValueError:
        raise ValidationError(_("%(label)s必须是整数。", label=label), field) from None
    if not low <= n <= high:
        raise ValidationError(_("%(label)s必须在 %(a)d 到 %(b)d 之间。", label=label, a=low, b=high), field)
    return n


def set_availability(user: Any, listing_id: int, data: AvailabilityInput) -> ResourceAvailability:
    listing = get_for_update(Listing, listing_id, _("找不到该资源。"))
    require(user, "availability.edit", listing)
    if listing.kind not in RENTABLE_KINDS:
        raise ValidationError(_("只有仪器、设施和中试基地可以设置开放时间。"))
    opening = {}
    for n, day in enumerate(WEEKDAYS):
        spans = parse_spans(data.hours.get(day), f"hours_{day}")
        if spans:
            opening[str(n)] = spans
    min_h = _hours_value(data.min_hours, "min_hours", _("最短预约时长"))
    max_h = _hours_value(data.max_hours, "max_hours", _("最长预约时长"))
    if min_h > max_h:
        raise ValidationError(_("最短预约时长不能大于最长预约时长。"), "min_hours")
    lead = _int_value(data.lead_time_hours, "lead_time_hours", _("提前预约时间"))
    free_cancel = _int_value(data.free_cancel_hours, "free_cancel_hours", _("免费取消时限"))
    avail = availability_for(listing)
    horizon = avail.max_horizon_days if data.max_horizon_days in (None, "") else _bounded_int(
        data.max_horizon_days, "max_horizon_days", _("最远可预约天数"), 1, 730)
    slot = avail.slot_minutes if data.slot_minutes in (None, "") else _bounded_int(
        data.slot_minutes, "slot_minutes", _("时段长度"), 5, 480)
    if slot % 5:
        raise ValidationError(_("时段长度必须是 5 分钟的整数倍。"), "slot_minutes")
    if lead > horizon * 24:
        raise ValidationError(_("提前预约时间不能超过最远可预约天数。"), "lead_time_hours")
    before = audit.snapshot(avail) if avail.id else None
    avail.opening_hours, avail.min_hours, avail.max_hours = opening, min_h, max_h
    avail.lead_time_hours, avail.free_cancel_hours = lead, free_cancel
    avail.max_horizon_days, avail.slot_minutes = horizon, slot
    db.session.add(avail)
    audit.record(user, "availability.set", avail, before, audit.snapshot(avail))
    db.session.flush()
    return avail


def add_block(user: Any, listing_id: int, start_at: dt.datetime | None, end_at: dt.datetime | None, reason: str | None) -> BlockedPeriod:
    """Close the resource for a period (maintenance, holidays). Existing bookings are not touched."""
    listing = get_for_update(Listing, listing_id, _("找不到该资源。"))
    require(user, "availability.edit", listing)
    start_at, end_at = _check_span(start_at, end_at)
    reason = require_text(reason, "reason", _("原因"), 200)
    avail = availability_for(listing)
    db.session.add(avail)
    block = BlockedPeriod(availability=avail, start_at=start_at, end_at=end_at, reason=reason)
    db.session.add(block)
    audit.record(user, "availability.block", block, None, audit.snapshot(block))
    db.session.flush()
    return block


def remove_block(user: Any, block_id: int) -> None:
    block = get_or_404(BlockedPeriod, block_id, _("找不到该停用时段。"))
    listing = get_for_update(Listing, block.availability.listing_id)
    require(user, "availability.edit", listing)
    audit.record(user, "availability.unblock", block, audit.snapshot(block), None)
    db.session.delete(block)
    db.session.flush()


def _check_span(start_at: dt.datetime | None, end_at: dt.datetime | None) -> tuple[dt.datetime, dt.datetime]:
    if start_at is None:
        raise ValidationError(_("请填写开始时间。"), "start_at")
    if end_at is None:
        raise ValidationError(_("请填写结束时间。"), "end_at")
    if start_at.tzinfo is None or end_at.tzinfo is None:
        raise ValidationError(_("时间必须带时区。"), "start_at")
    if end_at <= start_at:
        raise ValidationError(_("结束时间必须晚于开始时间。"), "end_at")
    return start_at.astimezone(dt.UTC), end_at.astimezone(dt.UTC)


def within_opening_hours(avail: ResourceAvailability, start_at: dt.datetime, end_at: dt.datetime) -> bool:
    """The booking fits inside one opening span of one local day (Asia/Shanghai)."""
    start_l, end_l = start_at.astimezone(SHANGHAI), end_at.astimezone(SHANGHAI)
    day = start_l.date()
    end_min = (end_l.date() - day).days * 24 * 60 + end_l.hour * 60 + end_l.minute
    start_min = start_l.hour * 60 + start_l.minute
    for span in (avail.opening_hours or {}).get(str(day.weekday()), []):
        if _minutes(span[:5]) <= start_min and end_min <= _minutes(span[6:]):
            return True
    return False


def on_slot_grid(avail: ResourceAvailability, start_at: dt.datetime, end_at: dt.datetime) -> bool:
    """The booking starts on a slot boundary (counted from its opening span's start) and lasts whole slots."""
    slot = avail.slot_minutes or 60
    minutes = int((end_at - start_at).total_seconds()) // 60
    if minutes % slot or (end_at - start_at).total_seconds() % 60:
        return False
    start_l = start_at.astimezone(SHANGHAI)
    start_min = start_l.hour * 60 + start_l.minute
    for span in (avail.opening_hours or {}).get(str(start_l.weekday()), []):
        if _minutes(span[:5]) <= start_min < _minutes(span[6:]):
            return (start_min - _minutes(span[:5])) % slot == 0 and start_l.second == 0
    return False


@dataclass
class Slot:
    start: dt.datetime  # aware UTC
    end: dt.datetime
    state: str  # free | busy | blocked | unavailable (past, too soon, too far)


def week_slots(listing: Listing, week_start: dt.date, moment: dt.datetime | None = None) -> list[tuple[dt.date, list[Slot]]]:
    """The slots of the seven local days from ``week_start`` (Asia/Shanghai): free, booked (busy) or
    blocked. Only times are given, never who booked: no personal data of other renters."""
    avail = availability_for(listing)
    moment = clock(moment)
    slot = dt.timedelta(minutes=avail.slot_minutes or 60)
    first = dt.datetime(week_start.year, week_start.month, week_start.day, tzinfo=SHANGHAI).astimezone(dt.UTC)
    last = first + dt.timedelta(days=7)
    busy = [(b.start_at, b.end_at) for b in db.session.execute(
        select(Booking.start_at, Booking.end_at).where(
            Booking.listing_id == listing.id, Booking.status.in_(ACTIVE_BOOKING_STATUSES),
            Booking.start_at < last, Booking.end_at > first,
        )
    )]
    blocks = [(b.start_at, b.end_at) for b in (avail.blocks if avail.id else []) if b.start_at < last and b.end_at > first]
    earliest = moment + dt.timedelta(hours=avail.lead_time_hours)
    latest_day = (moment + dt.timedelta(days=avail.max_horizon_days)).astimezone(SHANGHAI).date()
    days = []
    for n in range(7):
        day = week_start + dt.timedelta(days=n)
        slots = []
        for span in (avail.opening_hours or {}).get(str(day.weekday()), []):
            begin = dt.datetime(day.year, day.month, day.day, tzinfo=SHANGHAI) + dt.timedelta(minutes=_minutes(span[:5]))
            stop = dt.datetime(day.year, day.month, day.day, tzinfo=SHANGHAI) + dt.timedelta(minutes=_minutes(span[6:]))
            t = begin
            while t + slot <= stop:
                s_utc, e_utc = t.astimezone(dt.UTC), (t + slot).astimezone(dt.UTC)
                if any(a < e_utc and b > s_utc for a, b in busy):
                    state = "busy"
                elif any(a < e_utc and b > s_utc for a, b in blocks):
                    state = "blocked"
                elif s_utc < earliest or day > latest_day:
                    state = "unavailable"
                else:
                    state = "free"
                slots.append(Slot(s_utc, e_utc, state))
                t += slot
        days.append((day, slots))
    return days


def opening_summary(avail: ResourceAvailability) -> list[tuple[str, list[str]]]:
    names = [_("周一"), _("周二"), _("周三"), _("周四"), _("周五"), _("周六"), _("周日")]
    return [(names[n], (avail.opening_hours or {}).get(str(n), [])) for n in range(7)]


# ---------------------------------------------------------------- requests
@dataclass
class BookingInput:
    start_at: dt.datetime | None
    end_at: dt.datetime | None
    purpose: str | None
    sample_description: str | None
    operator_needed: bool = False


def overlapping(listing_id: int, start_at: dt.datetime, end_at: dt.datetime, exclude_id: int | None = None):
    stmt = select(Booking).where(
        Booking.listing_id == listing_id,
        Booking.status.in_(ACTIVE_BOOKING_STATUSES),
        Booking.start_at < end_at,
        Booking.end_at > start_at,
    )
    if exclude_id:
        stmt = stmt.where(Booking.id != exclude_id)
    return db.session.execute(stmt).scalars().first()


def _lost_the_slot_to_a_concurrent_request(err: sa_exc.DBAPIError) -> bool:
    """Whether PostgreSQL refused the insert because another request holds an overlapping slot.

    The exclusion constraint refuses a row that overlaps a committed one (23P01). Rows inserted at
    the same moment wait on each other's transactions while the constraint is checked, and
    PostgreSQL then aborts one of the waiters as a deadlock (40P01) rather than as a violation: that
    request, too, lost the slot to a concurrent one. The flush inserts only this booking, so a
    deadlock there can only come from the constraint's check.
    """
    sqlstate = getattr(err.orig, "sqlstate", None)
    return sqlstate in ("23P01", "40P01") or BOOKING_OVERLAP_CONSTRAINT in str(err.orig)


def request_booking(user: Any, listing_id: int, data: BookingInput, now: dt.datetime | None = None) -> Booking:
    require(user, "booking.request")
    serialise_writes()  # SQLite: the overlap check and the insert happen under one write lock
    listing = db.session.get(Listing, listing_id)
    if listing is None or listing.kind not in RENTABLE_KINDS:
        raise NotFound(_("找不到该仪器、设施或基地。"))
    org = acting_org(user)
    if org.id == listing.owner_id:
        raise PermissionDenied(_("不能预约本机构的资源。"))
    if listing.status != ListingStatus.PUBLISHED:
        raise Conflict(_("该资源未发布，暂不接受预约。"))
    if listing.rate_cny_per_hour is None:
        raise Conflict(_("该资源尚未设定收费标准，暂不接受预约。"))
    start_at, end_at = _check_span(data.start_at, data.end_at)
    purpose = require_text(data.purpose, "purpose", _("使用目的"), 2000)
    sample = require_text(data.sample_description, "sample_description", _("样品说明"), 2000)
    avail = availability_for(listing)
    moment = clock(now)
    if start_at <= moment:
        raise ValidationError(_("不能预约过去的时间。"), "start_at")
    if start_at < moment + dt.timedelta(hours=avail.lead_time_hours):
        raise ValidationError(_("该资源需至少提前 %(h)d 小时预约。", h=avail.lead_time_hours), "start_at")
    if start_at.astimezone(SHANGHAI).date() > (moment + dt.timedelta(days=avail.max_horizon_days)).astimezone(SHANGHAI).date():
        raise ValidationError(_("该资源最多可提前 %(d)d 天预约。", d=avail.max_horizon_days), "start_at")
    hours = Decimal(int((end_at - start_at).total_seconds())) / Decimal(3600)
    if hours < avail.min_hours:
        raise ValidationError(_("预约时长不能少于 %(h)s 小时。", h=_fmt_hours(avail.min_hours)), "end_at")
    if hours > avail.max_hours:
        raise ValidationError(_("预约时长不能超过 %(h)s 小时。", h=_fmt_hours(avail.max_hours)), "end_at")
    if not within_opening_hours(avail, start_at, end_at):
        raise ValidationError(_("所选时间不在开放时间内。"), "start_at")
    if not on_slot_grid(avail, start_at, end_at):
        raise ValidationError(_("请按 %(m)d 分钟一个时段预约（从开放时间起算）。", m=avail.slot_minutes), "start_at")
    for block in avail.blocks if avail.id else []:
        if block.start_at < end_at and block.end_at > start_at:
            raise ValidationError(_("该时段资源停用：%(reason)s。", reason=block.reason), "start_at")
    if overlapping(listing.id, start_at, end_at) is not None:
        raise Conflict(_("该时段已被预约，请选择其他时间。"))
    booking = Booking(
        listing=listing, renter=org, requested_by_id=user.id, start_at=start_at, end_at=end_at,
        purpose=purpose, sample_description=sample, operator_needed=bool(data.operator_needed),
        status=BookingStatus.REQUESTED, rate_cny_per_hour=listing.rate_cny_per_hour,
    )
    db.session.add(booking)
    try:
        db.session.flush()
    except (sa_exc.IntegrityError, sa_exc.OperationalError) as err:
        db.session.rollback()
        if _lost_the_slot_to_a_concurrent_request(err):
            raise Conflict(_("该时段已被预约，请选择其他时间。")) from None
        raise
    audit.record(user, "booking.request", booking, None, audit.snapshot(booking))
    notify(
        org_admins(listing.owner_id), "booking.requested",
        _l("新的预约申请：%(title)s", title=listing.title),
        _l("%(org)s 申请 %(when)s 使用 %(h)s 小时。", org=org.name, when=_local(start_at), h=_fmt_hours(booking.hours)),
        booking_link(booking),
    )
    db.session.flush()
    return booking


def _fmt_hours(h: Decimal) -> str:
    return f"{h.normalize():f}"


def _local(moment: dt.datetime) -> str:
    return stamp(moment)


def get_booking(user: Any, booking_id: int) -> Booking:
    return get_for_parties(user, Booking, booking_id, lambda b: (b.renter_id, b.listing.owner_id),
                           _("找不到该预约。"), _("只有预约双方可以查看该预约。"))


def _provider_booking(user: Any, booking_id: int) -> Booking:
    booking = get_for_update(Booking, booking_id, _("找不到该预约。"))
    require(user, "booking.manage", booking.listing)
    acting_org(user)
    return booking


def approve_booking(user: Any, booking_id: int, now: dt.datetime | None = None) -> Booking:
    """The provider approves; a rental contract draft follows (payer = renter, payee = provider,
    amount = hours × rate; art. 7 counts the rent actually paid under it)."""
    moment = clock(now)
    booking = _provider_booking(user, booking_id)
    if booking.status != BookingStatus.REQUESTED:
        raise Conflict(_("只有待审批的预约可以批准。"))
    if booking.start_at <= moment:
        raise Conflict(_("预约开始时间已过，不能再批准。"))
    before = audit.snapshot(booking)
    booking.status = BookingStatus.APPROVED
    booking.decided_at = moment
    if booking.amount_cny > 0:
        booking.contract = create_contract_draft(
            user, kind=ContractKind.RENTAL, payer=booking.renter, payee=booking.listing.owner,
            amount_cny=booking.amount_cny, listing=booking.listing, source_type="booking", source_id=booking.id,
            title=_l("租用合同：%(title)s（%(when)s）", title=booking.listing.title, when=_local(booking.start_at)),
        )
    audit.record(user, "booking.approve", booking, before, audit.snapshot(booking))
    notify(admins_and_requester(booking.renter_id, booking.requested_by_id), "booking.approved",
           _l("预约已批准：%(title)s", title=booking.listing.title), _local(booking.start_at), booking_link(booking))
    db.session.flush()
    return booking


def reject_booking(user: Any, booking_id: int, reason: str | None, now: dt.datetime | None = None) -> Booking:
    booking = _provider_booking(user, booking_id)
    reason = require_text(reason, "reason", _("拒绝原因"), 2000)
    if booking.status != BookingStatus.REQUESTED:
        raise Conflict(_("只有待审批的预约可以拒绝。"))
    before = audit.snapshot(booking)
    booking.status = BookingStatus.REJECTED
    booking.rejection_reason = reason
    booking.decided_at = clock(now)
    audit.record(user, "booking.reject", booking, before, audit.snapshot(booking))
    notify(admins_and_requester(booking.renter_id, booking.requested_by_id), "booking.rejected",
           _l("预约未获批准：%(title)s", title=booking.listing.title), reason, booking_link(booking))
    db.session.flush()
    return booking


def cancel_booking(user: Any, booking_id: int, reason: str | None = None, now: dt.datetime | None = None) -> Booking:
    """Cancel a pending or approved booking.

    The renter may cancel a pending request at any time before it starts, and an approved booking
    free of charge until ``free_cancel_hours`` before the start; later, only the provider can cancel
    (with a reason), so a late cancellation is settled between the two parties, not silently.
    """
    booking = get_for_update(Booking, booking_id, _("找不到该预约。"))
    if booking.status not in (BookingStatus.REQUESTED, BookingStatus.APPROVED):
        raise Conflict(_("该预约已结束或已取消。"))
    moment = clock(now)
    is_provider = is_party(user, booking.listing.owner_id)
    if is_provider:
        require(user, "booking.manage", booking.listing)
        reason = require_text(reason, "reason", _("取消原因"), 2000)
        if booking.end_at <= moment:
            raise Conflict(_("预约时段已结束，请登记使用情况或爽约。"))
        recipients = admins_and_requester(booking.renter_id, booking.requested_by_id)
    elif is_party(user, booking.renter_id):
        require(user, "booking.request")
        if booking.start_at <= moment:
            raise Conflict(_("预约已开始，不能取消。"))
        if booking.status == BookingStatus.APPROVED:
            free_cancel = availability_for(booking.listing).free_cancel_hours
            if moment > booking.start_at - dt.timedelta(hours=free_cancel):
                raise Conflict(
                    _("距开始不足 %(h)d 小时，不能在线免费取消，请联系提供方。", h=free_cancel)
                )
        reason = (reason or "").strip()[:2000] or None
        recipients = org_admins(booking.listing.owner_id)
    else:
        raise PermissionDenied(_("只有预约双方可以取消该预约。"))
    before = audit.snapshot(booking)
    booking.status = BookingStatus.CANCELLED
    booking.cancelled_at = moment
    booking.cancel_reason = reason
    cancel_draft(user, booking.contract, _("预约已取消。"))
    audit.record(user, "booking.cancel", booking, before, audit.snapshot(booking))
    notify(recipients, "booking.cancelled",
           _l("预约已取消：%(title)s", title=booking.listing.title), reason or "", booking_link(booking))
    db.session.flush()
    return booking


def check_in(user: Any, booking_id: int, actual_hours: Any, now: dt.datetime | None = None) -> Booking:
    """The provider records the hours actually used; a draft rental contract follows the actual use."""
    moment = clock(now)
    booking = _provider_booking(user, booking_id)
    if booking.status != BookingStatus.APPROVED:
        raise Conflict(_("只有已批准的预约可以登记使用。"))
    if booking.start_at > moment:
        raise Conflict(_("预约尚未开始，不能登记使用。"))
    hours = _hours_value(actual_hours, "actual_hours", _("实际使用时长"))
    if hours > booking.hours:
        raise ValidationError(
            _("实际使用时长不能超过预约时长 %(h)s 小时。", h=_fmt_hours(booking.hours)), "actual_hours"
        )
    before = audit.snapshot(booking)
    booking.status = BookingStatus.COMPLETED
    booking.actual_hours = hours
    booking.checked_in_at = moment
    contract = booking.contract
    if contract is not None and contract.status == "draft":
        c_before = audit.snapshot(contract)
        contract.amount_cny = (hours * booking.rate_cny_per_hour).quantize(Decimal("0.01"))
        contract.payment_schedule = []
        contract.payer_confirmed_at = contract.payee_confirmed_at = None
        contract.payer_confirmed_by_id = contract.payee_confirmed_by_id = None
        audit.record(user, "contract.actual_usage", contract, c_before, audit.snapshot(contract))
    audit.record(user, "booking.check_in", booking, before, audit.snapshot(booking))
    notify(admins_and_requester(booking.renter_id, booking.requested_by_id), "booking.checked_in",
           _l("使用已登记：%(title)s", title=booking.listing.title),
           _l("实际使用 %(h)s 小时。", h=_fmt_hours(hours)), booking_link(booking))
    db.session.flush()
    return booking


def mark_no_show(user: Any, booking_id: int, now: dt.datetime | None = None) -> Booking:
    """The renter did not come: the slot is released (the state leaves the constraint) and counted."""
    booking = _provider_booking(user, booking_id)
    if booking.status != BookingStatus.APPROVED:
        raise Conflict(_("只有已批准的预约可以登记爽约。"))
    if booking.start_at > clock(now):
        raise Conflict(_("预约尚未开始，不能登记爽约。"))
    before = audit.snapshot(booking)
    booking.status = BookingStatus.NO_SHOW
    cancel_draft(user, booking.contract, _("承租方爽约。"))
    audit.record(user, "booking.no_show", booking, before, audit.snapshot(booking))
    notify(admins_and_requester(booking.renter_id, booking.requested_by_id), "booking.no_show",
           _l("预约被登记为爽约：%(title)s", title=booking.listing.title), "", booking_link(booking))
    db.session.flush()
    return booking


def no_show_count(org_id: int) -> int:
    return db.session.execute(
        select(func.count()).select_from(Booking).where(Booking.renter_id == org_id, Booking.status == BookingStatus.NO_SHOW)
    ).scalar_one()


# ---------------------------------------------------------------- reading
def bookings_for_resource(listing: Listing, upcoming_only: bool = False, now: dt.datetime | None = None) -> list[Booking]:
    stmt = select(Booking).where(Booking.listing_id == listing.id)
    if upcoming_only:
        stmt = stmt.where(Booking.status.in_(ACTIVE_BOOKING_STATUSES), Booking.end_at > clock(now))
    return list(db.session.execute(stmt.order_by(Booking.start_at)).scalars())


@dataclass
class Utilisation:
    listing: Listing
    booked_hours: Decimal
    used_hours: Decimal
    bookings: int
    completed: int
    no_shows: int

    @property
    def rate(self) -> Decimal | None:
        if not self.booked_hours:
            return None
        return (self.used_hours / self.booked_hours * 100).quantize(Decimal("0.1"))


def utilisation(org_id: int, year: int | None = None) -> list[Utilisation]:
    """Per resource of a provider: hours booked (approved, used or no-show) vs hours used."""
    listings = db.session.execute(
        select(Listing).where(Listing.owner_id == org_id, Listing.kind.in_(RENTABLE_KINDS)).order_by(Listing.ref)
    ).scalars().all()
    stmt = select(Booking).where(
        Booking.listing_id.in_([x.id for x in listings]),
        Booking.status.in_([BookingStatus.APPROVED, BookingStatus.COMPLETED, BookingStatus.NO_SHOW]),
    )
    per: dict[int, list[Booking]] = defaultdict(list)
    for b in db.session.execute(stmt).scalars():
        if year is None or local_year(b.start_at) == year:
            per[b.listing_id].append(b)
    out = []
    for listing in listings:
        items = per.get(listing.id, [])
        out.append(Utilisation(
            listing=listing,
            booked_hours=sum((b.hours for b in items), Decimal("0")),
            used_hours=sum((b.actual_hours or Decimal("0") for b in items), Decimal("0")),
            bookings=len(items),
            completed=sum(1 for b in items if b.status == BookingStatus.COMPLETED),
            no_shows=sum(1 for b in items if b.status == BookingStatus.NO_SHOW),
        ))
    return out


# ---------------------------------------------------------------- iCalendar
def calendar_ics(bookings: list[Booking], name: str, viewer_org_id: int | None, now: dt.datetime | None = None) -> bytes:
    """RFC 5545 calendar of bookings; other organisations' bookings show only as busy."""
    from icalendar import Calendar, Event

    cal = Calendar()
    cal.add("prodid", "-//ccxq-market//deals//ZH")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", name)
    stamp = clock(now)
    for b in bookings:
        if b.status not in ACTIVE_BOOKING_STATUSES:
            continue
        party = viewer_org_id in (b.renter_id, b.listing.owner_id)
        ev = Event()
        ev.add("uid", f"booking-{b.id}@ccxq-market")
        ev.add("dtstamp", stamp)
        ev.add("dtstart", b.start_at)
        ev.add("dtend", b.end_at)
        if party:
            ev.add("summary", f"{b.listing.title} · {b.renter.name}")
            ev.add("description", f"{b.purpose}\n{b.sample_description}")
            ev.add("status", "CONFIRMED" if b.status != BookingStatus.REQUESTED else "TENTATIVE")
        else:
            ev.add("summary", _("已占用"))
            ev.add("class", "PRIVATE")
        ev.add("location", b.listing.title)
        cal.add_component(ev)
    return cal.to_ical()


def org_bookings(org_id: int) -> list[Booking]:
    return list(db.session.execute(
        select(Booking).join(Listing, Booking.listing_id == Listing.id)
        .where(or_(Booking.renter_id == org_id, Listing.owner_id == org_id))
        .order_by(Booking.start_at.desc())
    ).scalars())
