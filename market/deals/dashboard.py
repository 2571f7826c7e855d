"""What an organisation sees on its deals dashboard, and the same rows as CSV / XLSX."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from itertools import chain
from operator import itemgetter
from typing import Any

from flask_babel import gettext as _
from flask_babel import pgettext
from sqlalchemy import or_, select

from market.domain import parties
from market.domain.localtime import stamp
from market.exports import Column, Table
from market.extensions import db
from market.i18n import N_
from models.deals import (
    OPEN_BID_STATUSES,
    Bid,
    Booking,
    BookingStatus,
    Contract,
    DataApplication,
    DataApplicationStatus,
)
from models.listings import Listing

from .bids import bid_link
from .bookings import booking_link
from .common import clock
from .contracts import awaiting_confirmation, contract_link, counterparty
from .data_access import application_link, today_local
from .labels import kind_label, status_label


@dataclass
class Waiting:
    label: str
    link: str
    since: Any


@dataclass
class Dashboard:
    org: Any
    bids_sent: list[Bid] = field(default_factory=list)
    bids_received: list[Bid] = field(default_factory=list)
    bookings_made: list[Booking] = field(default_factory=list)
    bookings_received: list[Booking] = field(default_factory=list)
    applications_sent: list[DataApplication] = field(default_factory=list)
    applications_received: list[DataApplication] = field(default_factory=list)
    contracts: list[Contract] = field(default_factory=list)
    waiting: list[Waiting] = field(default_factory=list)
    at: dt.datetime | None = None  # the moment the dashboard is for (None: now)

    @property
    def access_granted(self) -> list[DataApplication]:
        day = today_local(self.at)
        return [a for a in self.applications_sent if a.is_valid_on(day)]

    @property
    def access_given(self) -> list[DataApplication]:
        day = today_local(self.at)
        return [a for a in self.applications_received if a.is_valid_on(day)]


def _owned_by(model, org_id: int):
    return select(model).join(Listing, model.listing_id == Listing.id).where(Listing.owner_id == org_id)


def dashboard_for(org, now: dt.datetime | None = None) -> Dashboard:
    s = db.session
    d = Dashboard(org=org, at=now)
    d.bids_sent = list(s.execute(select(Bid).where(Bid.bidder_id == org.id).order_by(Bid.id.desc())).scalars())
    d.bids_received = list(s.execute(_owned_by(Bid, org.id).order_by(Bid.id.desc())).scalars())
    d.bookings_made = list(s.execute(select(Booking).where(Booking.renter_id == org.id).order_by(Booking.start_at.desc())).scalars())
    d.bookings_received = list(s.execute(_owned_by(Booking, org.id).order_by(Booking.start_at.desc())).scalars())
    d.applications_sent = list(s.execute(
        select(DataApplication).where(DataApplication.applicant_id == org.id).order_by(DataApplication.id.desc())
    ).scalars())
    d.applications_received = list(s.execute(_owned_by(DataApplication, org.id).order_by(DataApplication.id.desc())).scalars())
    d.contracts = list(s.execute(
        select(Contract).where(or_(Contract.payer_id == org.id, Contract.payee_id == org.id)).order_by(Contract.id.desc())
    ).scalars())
    d.waiting = _waiting(d)
    return d


def _waiting(d: Dashboard) -> list[Waiting]:
    """Steps that wait on this organisation, oldest first."""
    out: list[Waiting] = []
    moment = clock(d.at)
    for b in d.bids_received:
        if b.status in OPEN_BID_STATUSES:
            out.append(Waiting(_("评审揭榜方案：%(t)s · %(o)s", t=b.listing.title, o=b.bidder.name), bid_link(b), b.submitted_at))
    for bk in d.bookings_received:
        if bk.status == BookingStatus.REQUESTED:
            out.append(Waiting(_("审批预约：%(t)s · %(o)s", t=bk.listing.title, o=bk.renter.name), booking_link(bk), bk.created_at))
        elif bk.status == BookingStatus.APPROVED and bk.start_at <= moment:
            out.append(Waiting(_("登记使用情况：%(t)s · %(o)s", t=bk.listing.title, o=bk.renter.name), booking_link(bk), bk.start_at))
    for a in d.applications_received:
        if a.status == DataApplicationStatus.SUBMITTED:
            out.append(Waiting(_("审批数据申请：%(t)s · %(o)s", t=a.listing.title, o=a.applicant.name), application_link(a), a.created_at))
    for c in awaiting_confirmation(d.org.id)[1]:  # the drafts this side has not confirmed (one definition)
        # the other party tells apart two contracts of one title (two rentals of one room; the time is shown beside)
        out.append(Waiting(_("确认合同：%(t)s · %(o)s", t=c.display_title, o=counterparty(d.org.id, c).name),
                           contract_link(c), c.created_at))
    out.sort(key=lambda w: w.since)
    return out


# The exports: one row per bid, booking, data application and contract; a sheet per section in XLSX
# and PDF, one table in CSV. Headers are translated in the reader's language when exported.
EXPORT_COLUMNS = tuple(
    Column(label, itemgetter(i), kind, width)
    for i, (label, kind, width) in enumerate([
        (N_("类型"), "text", 10), (N_("编号"), "text", 10), (N_("资源/场景编号"), "text", 14),
        (N_("资源/场景"), "text", 36), (N_("我方角色"), "text", 10), (N_("对方"), "text", 30),
        (N_("状态"), "text", 10), (N_("金额（元）"), "money", 16), (N_("时间"), "datetime", 34),
        (N_("备注"), "text", 30),
    ])
)


def export_rows(d: Dashboard) -> list[tuple[str, list[list[Any]]]]:
    """Sections of rows (header excluded); money as Decimal, times aware (shown in Beijing time)."""
    sections: list[tuple[str, list[list[Any]]]] = []
    rows = []
    for b in d.bids_sent:
        rows.append([_("揭榜方案"), f"B{b.id}", b.listing.ref, b.listing.title, _("投标方"), b.listing.owner.name,
                     status_label(b), b.price_cny, b.submitted_at, b.decline_reason or ""])
    for b in d.bids_received:
        rows.append([_("揭榜方案"), f"B{b.id}", b.listing.ref, b.listing.title, _("场景方"), b.bidder.name,
                     status_label(b), b.price_cny, b.submitted_at, b.decline_reason or ""])
    sections.append((pgettext("deals section", "揭榜"), rows))
    rows = []
    for bk, role, other in [(x, _("承租方"), x.listing.owner.name) for x in d.bookings_made] + [
        (x, _("提供方"), x.renter.name) for x in d.bookings_received
    ]:
        note = _("实际 %(h)s 小时", h=bk.actual_hours) if bk.actual_hours is not None else (bk.rejection_reason or bk.cancel_reason or "")
        rows.append([_("预约"), f"K{bk.id}", bk.listing.ref, bk.listing.title, role, other, status_label(bk),
                     bk.amount_cny, f"{_local(bk.start_at)} – {_local(bk.end_at)}", note])
    sections.append((pgettext("deals section", "预约"), rows))
    rows = []
    for a, role, other in [(x, _("申请方"), x.listing.owner.name) for x in d.applications_sent] + [
        (x, _("数据方"), x.applicant.name) for x in d.applications_received
    ]:
        validity = f"{a.valid_from} – {a.valid_until}" if a.valid_from else ""
        rows.append([_("数据申请"), f"A{a.id}", a.listing.ref, a.listing.title, role, other,
                     status_label(a), a.fee_cny, a.created_at,
                     " ".join(x for x in (kind_label(a.mode), validity, a.conditions or a.rejection_reason or "") if x)])
    sections.append((_("数据申请"), rows))
    rows = []
    for c in d.contracts:
        side = parties.side(d.org.id, c)
        other = c.payee.name if side == "payer" else c.payer.name
        rows.append([_("合同"), f"C{c.id}", c.listing.ref if c.listing else "", c.listing.title if c.listing else c.display_title,
                     _("付款方") if side == "payer" else _("收款方"), other, status_label(c), c.amount_cny,
                     c.created_at, kind_label(c.kind)])
    sections.append((pgettext("deals section", "合同"), rows))
    return sections


def _local(moment) -> str:
    return stamp(moment)


def export_tables(d: Dashboard, fmt: str) -> list[Table]:
    """A table per section; CSV holds one table, so its sections follow one another."""
    sections = export_rows(d)
    if fmt == "csv":
        return [Table(_("我的交易"), EXPORT_COLUMNS, chain.from_iterable(rows for _t, rows in sections))]
    return [Table(title, EXPORT_COLUMNS, rows) for title, rows in sections]
