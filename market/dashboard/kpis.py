"""District KPIs over time, each one GROUP BY query; a series is (labels, {series name: values}).

Months and years are Beijing-time buckets computed by the database (``sqltime``). Every series can
be drawn (``charts``) and downloaded as data (``market.exports``) from the same numbers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import func, select, union

from market.domain.localtime import SHANGHAI, day_start
from market.extensions import db
from market.search.labels import KIND_LABELS, TRACK_LABELS
from models.dashboard import LedgerFact
from models.deals import Bid, Booking, Contract, ContractStatus, DataApplication
from models.listings import Listing, ListingStatus
from models.organisations import Organisation, OrgKind

from . import cache, ledger_sql
from .sqltime import local_month, no_jit


@dataclass
class Series:
    key: str
    title: str
    labels: list[str]
    series: dict[str, list[float | int | Decimal]]
    kind: str = "line"  # line | bar
    money: bool = False


def months(n: int = 12, now: dt.datetime | None = None) -> list[str]:
    """The last ``n`` Beijing-time months, oldest first, as 'YYYY-MM'."""
    today = (now or dt.datetime.now(dt.UTC)).astimezone(SHANGHAI).date()
    y, m = today.year, today.month
    out = []
    for _i in range(n):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    return out[::-1]


def _since(month_labels: list[str]) -> dt.datetime:
    y, m = (int(x) for x in month_labels[0].split("-"))
    return day_start(dt.date(y, m, 1))


def _by_month(rows, labels: list[str]) -> list[int | Decimal]:
    got = {k: v for k, v in rows}
    return [got.get(k, 0) for k in labels]


def listings_by_kind(now=None) -> Series:
    """Listings published per month, by kind (publication month, Beijing time)."""
    labels = months(now=now)
    month = local_month(Listing.published_at)
    rows = db.session.execute(
        select(Listing.kind, month, func.count(Listing.id))
        .where(Listing.published_at >= _since(labels), Listing.status.in_((ListingStatus.PUBLISHED, ListingStatus.CLOSED)))
        .group_by(Listing.kind, month)).all()
    series = {}
    for kind, word in KIND_LABELS.items():
        got = {m: n for k, m, n in rows if k == kind}
        series[str(word)] = [got.get(m, 0) for m in labels]
    return Series("listings_kind", _("每月新发布资源（按类型）"), labels, series)


def listings_by_track(now=None) -> Series:
    """Published listings now, by track."""
    rows = dict(db.session.execute(select(Listing.track, func.count(Listing.id))
                                   .where(Listing.status == ListingStatus.PUBLISHED).group_by(Listing.track)).all())
    labels = [str(w) for w in TRACK_LABELS.values()]
    return Series("listings_track", _("已发布资源（按赛道）"), labels,
                  {_("资源数"): [rows.get(t, 0) for t in TRACK_LABELS]}, kind="bar")


def organisations(now=None) -> Series:
    labels = months(now=now)
    reg_m = local_month(Organisation.created_at)
    ver_m = local_month(Organisation.verified_at)
    since = _since(labels)
    registered = db.session.execute(select(reg_m, func.count(Organisation.id))
                                    .where(Organisation.created_at >= since).group_by(reg_m)).all()
    verified = db.session.execute(select(ver_m, func.count(Organisation.id))
                                  .where(Organisation.verified_at >= since).group_by(ver_m)).all()
    return Series("organisations", _("每月注册与核验的机构"), labels,
                  {_("注册"): _by_month(registered, labels), _("通过核验"): _by_month(verified, labels)})


def smes_engaged(now=None) -> Series:
    """Distinct SMEs that bid, booked or applied for data, per month."""
    labels = months(now=now)
    since = _since(labels)
    acts = union(
        select(Bid.bidder_id.label("org"), local_month(Bid.submitted_at).label("m")).where(Bid.submitted_at >= since),
        select(Booking.renter_id, local_month(Booking.created_at)).where(Booking.created_at >= since),
        select(DataApplication.applicant_id, local_month(DataApplication.created_at)).where(DataApplication.created_at >= since),
    ).subquery()
    rows = db.session.execute(
        select(acts.c.m, func.count(func.distinct(acts.c.org))).join(Organisation, Organisation.id == acts.c.org)
        .where(Organisation.kind == OrgKind.SME).group_by(acts.c.m)).all()
    return Series("smes_engaged", _("每月参与对接的中小企业"), labels, {_("中小企业数"): _by_month(rows, labels)})


def deals(now=None) -> Series:
    """Contracts in force (active or fulfilled) by month of creation."""
    labels = months(now=now)
    m = local_month(Contract.created_at)
    rows = db.session.execute(select(m, func.count(Contract.id)).where(
        Contract.created_at >= _since(labels), Contract.status.in_((ContractStatus.ACTIVE, ContractStatus.COMPLETED)))
        .group_by(m)).all()
    return Series("deals", _("每月达成的交易（生效合同）"), labels, {_("合同数"): _by_month(rows, labels)}, kind="bar")


def confirmed_amounts(now=None) -> Series:
    """Net amounts of complete ledger entries (both confirmed, evidence, no dispute), by payment month."""
    no_jit()
    labels = months(now=now)
    m = LedgerFact.month
    stmt = select(m, func.sum(LedgerFact.amount_cny)).where(
        LedgerFact.month >= labels[0], LedgerFact.reasons == 0).group_by(m)
    rows = cache.cached(("confirmed_amounts", labels[0]), lambda: [
        (k, Decimal(str(v or 0)).quantize(Decimal("0.01"))) for k, v in db.session.execute(stmt)])
    return Series("confirmed_amounts", _("每月确认的交易金额（元）"), labels, {_("计入金额"): _by_month(rows, labels)},
                  kind="bar", money=True)


def ledger_years(now=None) -> Series:
    """Net amounts per Beijing-time year, all and counted (from ``ledger_year_total``)."""
    rows = ledger_sql.totals_by("year", ledger_sql.LedgerFilters())
    return Series("ledger_years", _("台账年度合计（元）"), [str(r.key) for r in rows],
                  {_("全部"): [r.amount for r in rows], _("完整记录"): [r.counted for r in rows]}, kind="bar", money=True)


KPIS: dict[str, Callable[..., Series]] = {
    "listings_kind": listings_by_kind,
    "listings_track": listings_by_track,
    "organisations": organisations,
    "smes_engaged": smes_engaged,
    "deals": deals,
    "confirmed_amounts": confirmed_amounts,
    "ledger_years": ledger_years,
}

__all__ = ["KPIS", "Series", "months"]
