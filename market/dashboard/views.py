"""Dashboard routes: the landing page per role, the district-wide views, the charts and their data."""

from __future__ import annotations

import datetime as dt
from operator import itemgetter
from typing import Any

from flask import Response, abort, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from market import exports
from market.deals.labels import label, status_label
from market.domain.completeness import Reason
from market.domain.localtime import local_year
from market.exports import Column, Table
from market.extensions import db
from market.i18n import N_
from market.ledger.services import REASON_LABELS, completeness, describe
from market.ledger.views import EXPORT_COLUMNS as LEDGER_COLUMNS
from market.search.labels import TRACK_LABELS
from market.web import permission_required
from models.deals import Bid, Booking, Contract, ContractKind, DataAccessMode, DataApplication
from models.ledger import EntryKind, LedgerEntry
from models.organisations import Organisation

from . import bp, charts, district, kpis, ledger_sql, queues, roles


# ---------------------------------------------------------------- parsing
def _int_arg(name: str, lo: int = 1, hi: int = 2**31 - 1) -> int | None:
    value = request.args.get(name, type=int)
    return value if value is not None and lo <= value <= hi else None


def _year_arg() -> int | None:
    return _int_arg("year", 2000, 2100)


def _page() -> int:
    return _int_arg("page", 1, 100_000) or 1


def _bool_arg(name: str) -> bool | None:
    raw = request.args.get(name)
    return {"1": True, "0": False}.get(raw or "")


def _org_choice() -> Organisation | None:
    org_id = _int_arg("org")
    return db.session.get(Organisation, org_id) if org_id else None


# ---------------------------------------------------------------- landing page
@bp.get("/")
@permission_required("dashboard.view")
def home():
    """The landing page after login: the district's work, a provider's requests, an SME's deals."""
    if current_user.is_district_staff:
        return render_template("dashboard/district.html", title=_("工作台"), queues=queues.district_queues(),
                               charts=list(kpis.KPIS), chart_titles=_chart_titles())
    org = current_user.organisation
    if org is None:
        abort(403)
    if org.kind == "sme":
        return render_template("dashboard/sme.html", title=_("工作台"), org=org, **roles.sme_dashboard(org, current_user))
    return render_template("dashboard/provider.html", title=_("工作台"), org=org, **roles.provider_dashboard(org))


def _chart_titles() -> dict[str, str]:
    return {
        "listings_kind": _("每月新发布资源（按类型）"), "listings_track": _("已发布资源（按赛道）"),
        "organisations": _("每月注册与核验的机构"), "smes_engaged": _("每月参与对接的中小企业"),
        "deals": _("每月达成的交易（生效合同）"), "confirmed_amounts": _("每月确认的交易金额（元）"),
        "ledger_years": _("台账年度合计（元）"),
    }


# ---------------------------------------------------------------- charts
def _series(chart: str) -> kpis.Series:
    fn = kpis.KPIS.get(chart)
    if fn is None:
        abort(404)
    return fn()


@bp.get("/charts/<chart>.svg")
@permission_required("dashboard.district")
def chart_svg(chart: str):
    svg = charts.render(_series(chart))
    resp = Response(svg, mimetype="image/svg+xml")
    resp.headers["Content-Security-Policy"] = charts.SVG_CSP
    resp.headers["Cache-Control"] = "private, max-age=60"
    return resp


@bp.get("/charts/<chart>.<fmt>")
@permission_required("dashboard.district")
def chart_data(chart: str, fmt: str):
    """The numbers behind a chart: one row per label, one column per series."""
    s = _series(chart)
    kind = "money" if s.money else "int"
    first = _("赛道") if chart == "listings_track" else _("期间")
    cols = [Column(first, itemgetter(0), width=14, translate=False)]
    cols += [Column(name, itemgetter(i + 1), kind, width=16, translate=False) for i, name in enumerate(s.series)]
    rows = [[lab, *(vals[j] for vals in s.series.values())] for j, lab in enumerate(s.labels)]
    return exports.download(exports.require_format(fmt), Table(s.title, cols, rows), filename=f"{s.title}-{exports.stamp()}",
                            fallback=f"{chart}-{exports.stamp()}", title=s.title)


# ---------------------------------------------------------------- district ledger
def _ledger_filters() -> ledger_sql.LedgerFilters:
    kind = request.args.get("kind") or None
    track = request.args.get("track") or None
    status = request.args.get("status") or None
    sort = request.args.get("sort") or "seq"
    return ledger_sql.LedgerFilters(
        year=_year_arg(),
        kind=kind if kind in {k.value for k in EntryKind} else None,
        track=track if track in TRACK_LABELS else None,
        org_id=_int_arg("org"),
        status=status if status in ledger_sql.STATUS_CHOICES else None,
        disputed=_bool_arg("disputed"),
        sort=sort if sort in ledger_sql.SORTS else "seq",
        desc=request.args.get("dir") != "asc",
    )


STATUS_WORDS = {"complete": N_("记录完整"), "incomplete": N_("记录不完整"), **{r.value: REASON_LABELS[r] for r in Reason}}


def _entry_row(e: LedgerEntry) -> dict[str, Any]:
    found = completeness(e)
    return {
        "ref": e.ref, "kind": e.kind, "payer": e.payer.name, "payee": e.payee.name,
        "amount_cny": e.amount_cny, "paid_at": e.paid_at, "year": local_year(e.paid_at),
        "payer_confirmed": e.payer_confirmed_at is not None, "payee_confirmed": e.payee_confirmed_at is not None,
        "disputed": e.in_dispute, "evidence": sorted(e.evidence_types), "counted": not found,
        "reverses": e.reverses.ref if e.reverses else "", "entry_hash": e.entry_hash,
        "track": str(TRACK_LABELS.get(e.listing.track, "")) if e.listing else "",
        "why": _("；").join(describe(f) for f in found),
    }


DISTRICT_LEDGER_COLUMNS = (
    *LEDGER_COLUMNS[:-1],
    Column(N_("赛道"), "track", width=14),
    Column(N_("不完整原因"), "why", width=30),
    LEDGER_COLUMNS[-1],
)


@bp.get("/district/ledger")
@permission_required("dashboard.district")
def district_ledger():
    f = _ledger_filters()
    page = ledger_sql.page_of_entries(f, _page())
    return render_template(
        "dashboard/district_ledger.html", title=_("全区交易台账"), f=f, page=page,
        rows=[(e, _entry_row(e)) for e in page.items],
        by_year=ledger_sql.totals_by("year", f), by_kind=ledger_sql.totals_by("kind", f),
        by_track=ledger_sql.totals_by("track", f), by_payee=ledger_sql.totals_by("payee", f, limit=10),
        by_payer=ledger_sql.totals_by("payer", f, limit=10), years=ledger_sql.year_choices(),
        org=_org_choice(), kinds=[(k.value, label(ContractKind, k.value)) for k in EntryKind],
        tracks=[(k, str(v)) for k, v in TRACK_LABELS.items()], statuses=[(k, _(v)) for k, v in STATUS_WORDS.items()],
    )


@bp.get("/district/ledger/export.<fmt>")
@permission_required("dashboard.district")
def district_ledger_export(fmt: str):
    f = _ledger_filters()
    title = _("全区交易台账")
    table = Table(title, DISTRICT_LEDGER_COLUMNS, (_entry_row(e) for e in ledger_sql.all_entries(f)))
    return exports.download(exports.require_format(fmt), table, filename=f"{title}-{exports.stamp()}",
                            fallback=f"district-ledger-{exports.stamp()}", title=title)


# ---------------------------------------------------------------- district deals lists
def _list_filters(spec: district.ListSpec) -> district.ListFilters:
    status = request.args.get("status") or None
    sort = request.args.get("sort") or spec.default_sort
    return district.ListFilters(
        status=status if status in {s.value for s in spec.statuses} else None,
        org_id=_int_arg("org"), year=_year_arg(),
        sort=sort if sort in spec.sorts else spec.default_sort, desc=request.args.get("dir") != "asc",
    )


def _bid_row(b: Bid) -> dict[str, Any]:
    return {"id": f"B{b.id}", "link": f"/deals/bids/{b.id}", "listing": b.listing.title, "provider": b.listing.owner.name,
            "party": b.bidder.name, "status": status_label(b), "amount": b.price_cny, "at": b.submitted_at, "note": ""}


def _booking_row(b: Booking) -> dict[str, Any]:
    return {"id": f"K{b.id}", "link": f"/deals/bookings/{b.id}", "listing": b.listing.title,
            "provider": b.listing.owner.name, "party": b.renter.name, "status": status_label(b), "amount": b.amount_cny,
            "at": b.start_at, "note": _("%(h)s 小时", h=b.hours)}


def _application_row(a: DataApplication) -> dict[str, Any]:
    return {"id": f"A{a.id}", "link": f"/deals/applications/{a.id}", "listing": a.listing.title,
            "provider": a.listing.owner.name, "party": a.applicant.name, "status": status_label(a), "amount": a.fee_cny,
            "at": a.created_at, "note": label(DataAccessMode, a.mode)}


def _contract_row(c: Contract) -> dict[str, Any]:
    return {"id": f"C{c.id}", "link": f"/deals/contracts/{c.id}", "listing": c.display_title, "provider": c.payee.name,
            "party": c.payer.name, "status": status_label(c), "amount": c.amount_cny, "at": c.created_at,
            "note": label(ContractKind, c.kind)}


SECTIONS = {
    "bids": (N_("全区揭榜方案"), _bid_row, N_("投标方"), N_("提交时间")),
    "bookings": (N_("全区仪器设施预约"), _booking_row, N_("预约方"), N_("开始时间")),
    "applications": (N_("全区数据申请"), _application_row, N_("申请方"), N_("申请时间")),
    "contracts": (N_("全区合同"), _contract_row, N_("付款方"), N_("创建时间")),
}


def _list_columns(section: str) -> tuple[Column, ...]:
    _title, _row, party, at = SECTIONS[section]
    return (
        Column(N_("编号"), "id", width=10), Column(N_("资源/场景"), "listing", width=36),
        Column(N_("收款方") if section == "contracts" else N_("提供方"), "provider", width=28),
        Column(party, "party", width=28), Column(N_("状态"), "status", width=10),
        Column(N_("金额（元）"), "amount", "money", width=16), Column(at, "at", "datetime", width=20),
        Column(N_("备注"), "note", width=20),
    )


def _district_list(section: str):
    spec = district.LISTS[section]
    f = _list_filters(spec)
    title, row, _party, _at = SECTIONS[section]
    page = district.page_of(spec, f, _page())
    return render_template(
        "dashboard/district_list.html", title=_(title), section=section, f=f, page=page,
        rows=[row(x) for x in page.items], columns=_list_columns(section), spec=spec,
        statuses=[(s.value, label(spec.statuses, s.value)) for s in spec.statuses],
        counts=district.status_counts(spec, f), org=_org_choice(),
        sections=[(k, _(v[0])) for k, v in SECTIONS.items()],
    )


def _district_list_export(section: str, fmt: str):
    spec = district.LISTS[section]
    f = _list_filters(spec)
    title, row, _party, _at = SECTIONS[section]
    table = Table(_(title), _list_columns(section), (row(x) for x in district.all_rows(spec, f)))
    return exports.download(exports.require_format(fmt), table, filename=f"{_(title)}-{exports.stamp()}",
                            fallback=f"district-{section}-{exports.stamp()}", title=_(title))


@bp.get("/district/bids")
@permission_required("dashboard.district")
def district_bids():
    return _district_list("bids")


@bp.get("/district/bookings")
@permission_required("dashboard.district")
def district_bookings():
    return _district_list("bookings")


@bp.get("/district/applications")
@permission_required("dashboard.district")
def district_applications():
    return _district_list("applications")


@bp.get("/district/contracts")
@permission_required("dashboard.district")
def district_contracts():
    return _district_list("contracts")


@bp.get("/district/bids/export.<fmt>")
@permission_required("dashboard.district")
def district_bids_export(fmt: str):
    return _district_list_export("bids", fmt)


@bp.get("/district/bookings/export.<fmt>")
@permission_required("dashboard.district")
def district_bookings_export(fmt: str):
    return _district_list_export("bookings", fmt)


@bp.get("/district/applications/export.<fmt>")
@permission_required("dashboard.district")
def district_applications_export(fmt: str):
    return _district_list_export("applications", fmt)


@bp.get("/district/contracts/export.<fmt>")
@permission_required("dashboard.district")
def district_contracts_export(fmt: str):
    return _district_list_export("contracts", fmt)


# ---------------------------------------------------------------- utilisation
UTIL_COLUMNS = (
    Column(N_("资源编号"), "ref", width=14), Column(N_("资源/提供方"), "label", width=36),
    Column(N_("提供方"), "owner", width=28), Column(N_("资源数"), "resources", "int"),
    Column(N_("预约次数"), "bookings", "int"), Column(N_("预约小时"), "booked_hours", "number"),
    Column(N_("开放小时"), "available_hours", "number"), Column(N_("利用率（%）"), "rate", "number"),
    Column(N_("实际小时"), "used_hours", "number"), Column(N_("已使用"), "completed", "int"),
    Column(N_("爽约"), "no_shows", "int"),
)


def _util_args() -> tuple[int, str, str]:
    year = _year_arg() or local_year(dt.datetime.now(dt.UTC))
    by = "provider" if request.args.get("by") == "provider" else "resource"
    sort = request.args.get("sort") if request.args.get("sort") in district.UTIL_SORTS else "booked_hours"
    return year, by, sort


def _util_rows(year: int, by: str, sort: str, page: int, per_page: int = 50):
    if by == "provider":
        return district.utilisation_by_provider(year, page, per_page)
    return district.utilisation_by_resource(year, _int_arg("org"), page, per_page, sort)


@bp.get("/district/utilisation")
@permission_required("dashboard.district")
def district_utilisation():
    year, by, sort = _util_args()
    rows, has_next = _util_rows(year, by, sort, _page())
    return render_template("dashboard/utilisation.html", title=_("全区仪器设施利用率"), rows=rows, has_next=has_next,
                           page=_page(), year=year, by=by, sort=sort, org=_org_choice())


@bp.get("/district/utilisation/export.<fmt>")
@permission_required("dashboard.district")
def district_utilisation_export(fmt: str):
    year, by, sort = _util_args()

    def rows():
        page = 1
        while True:
            batch, more = _util_rows(year, by, sort, page, 500)
            yield from batch
            if not more:
                return
            page += 1

    title = _("全区仪器设施利用率") + f" · {year}"
    return exports.download(exports.require_format(fmt), Table(title, UTIL_COLUMNS, rows()), filename=f"{title}-{exports.stamp()}",
                            fallback=f"district-utilisation-{year}", title=title)

