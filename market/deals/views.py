"""Deals pages: parse, authorise, call a service, render or redirect."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from market import evidence, exports
from market.domain import localtime, parties
from market.domain.localtime import localize
from market.exports import Column, Table
from market.i18n import N_
from market.web import permission_required, query_args, run_service

from . import bids as bid_svc
from . import bookings as booking_svc
from . import bp
from . import contracts as contract_svc
from . import dashboard as dash_svc
from . import data_access as data_svc
from .forms import (
    ActionForm,
    ApplicationForm,
    AvailabilityForm,
    AwardForm,
    BidForm,
    BlockForm,
    BookingForm,
    CheckInForm,
    ContractTermsForm,
    DecisionForm,
    DocumentForm,
    MessageForm,
    ReasonForm,
)
from .labels import kind_label, status_label

bp.add_app_template_global(status_label, "deal_status")  # globals reach imported macros too
bp.add_app_template_global(kind_label, "deal_kind")



def _local_input(value: dt.datetime | None) -> dt.datetime | None:
    """A ``datetime-local`` input is Beijing time."""
    return localize(value) if value is not None else None


def _files(field) -> list[tuple[Any, str]]:
    return [(f.stream, f.filename) for f in (field.data or []) if getattr(f, "filename", "")]


def _org():
    if current_user.organisation is None:
        abort(403)
    return current_user.organisation


# ---------------------------------------------------------------- dashboard
@bp.route("/")
@permission_required("deals.home")
def dashboard():
    if current_user.is_district_staff:  # the district sees every organisation's deals (issue 13)
        return redirect(url_for("dashboard.district_bids"))
    org = _org()
    return render_template(
        "deals/dashboard.html", d=dash_svc.dashboard_for(org), open_data=data_svc.open_public_data(),
        no_shows=booking_svc.no_show_count, title=_("我的交易"),
    )


@bp.route("/export.<fmt>")
@permission_required("deals.dashboard")
def export(fmt: str):
    exports.require_format(fmt)
    org = _org()
    return exports.download(fmt, *dash_svc.export_tables(dash_svc.dashboard_for(org), fmt),
                            filename=f"{_('我的交易')}-{exports.stamp()}", fallback=f"deals-{exports.stamp()}",
                            title=f"{_('我的交易')} · {org.name}")


@bp.route("/calendar.ics")
@permission_required("deals.dashboard")
def org_calendar():
    org = _org()
    body = booking_svc.calendar_ics(booking_svc.org_bookings(org.id), org.name, org.id)
    return Response(body, content_type="text/calendar; charset=utf-8",
                    headers={"Content-Disposition": "attachment; filename=bookings.ics"})


# ---------------------------------------------------------------- bids
@bp.route("/scenarios/<ref>/bid", methods=["GET", "POST"])
@permission_required("bid.submit")
def bid_new(ref: str):
    listing = bid_svc.scenario_by_ref(ref)
    if current_user.organisation_id:
        existing = bid_svc.open_bid_of(current_user.organisation_id, listing.id)
        if existing is not None:
            return redirect(url_for("deals.bid_edit", bid_id=existing.id))
    if bid_svc.is_awarded(listing.id):
        flash(_("该场景已确定中标方，不再接受新的揭榜方案。"), "warning")
        return redirect(url_for("listings.detail", ref=listing.ref))
    form = BidForm()
    if form.validate_on_submit():
        data = bid_svc.BidInput(form.approach.data, form.price_cny.data, form.timeline.data, _files(form.attachments))
        bid, ok = run_service(bid_svc.submit_bid, current_user, listing.id, data, form=form, ok=_("方案已提交。"))
        if ok:
            return redirect(url_for("deals.bid_detail", bid_id=bid.id))
    return render_template("deals/bid_form.html", form=form, listing=listing, bid=None, title=_("揭榜：%(t)s", t=listing.title))


@bp.route("/bids/<int:bid_id>/edit", methods=["GET", "POST"])
@permission_required("bid.submit")
def bid_edit(bid_id: int):
    bid = bid_svc.get_bid(current_user, bid_id)
    if bid.bidder_id != current_user.organisation_id:
        abort(403)
    refused = bid_svc.revision_refused(bid)
    if refused:  # the form would only be refused on saving
        flash(refused, "warning")
        return redirect(url_for("deals.bid_detail", bid_id=bid.id))
    form = BidForm(obj=bid) if request.method == "GET" else BidForm()  # obj's Decimal price broke Length on POST
    form.submit.label.text = _("保存修改")
    if form.validate_on_submit():
        data = bid_svc.BidInput(form.approach.data, form.price_cny.data, form.timeline.data, _files(form.attachments),
                                request.form.getlist("remove_attachment"))
        _b, ok = run_service(bid_svc.revise_bid, current_user, bid.id, data, form=form, ok=_("方案已修改。"))
        if ok:
            return redirect(url_for("deals.bid_detail", bid_id=bid.id))
    return render_template("deals/bid_form.html", form=form, listing=bid.listing, bid=bid, title=_("修改方案"))


@bp.route("/bids/<int:bid_id>")
@permission_required("deals.view")
def bid_detail(bid_id: int):
    bid = bid_svc.get_bid(current_user, bid_id)
    return render_template(
        "deals/bid_detail.html", bid=bid, message_form=MessageForm(), reason_form=ReasonForm(),
        award_form=AwardForm(), action_form=ActionForm(), is_owner=current_user.organisation_id == bid.listing.owner_id,
        is_bidder=current_user.organisation_id == bid.bidder_id, scenario_awarded=bid_svc.is_awarded(bid.listing_id),
        title=_("揭榜方案"),
    )


@bp.route("/bids/<int:bid_id>/<any(withdraw, shortlist, award, decline):action>", methods=["POST"])
@permission_required("deals.view")
def bid_action(bid_id: int, action: str):
    if action == "withdraw":
        ActionForm().validate_on_submit() or abort(400)
        run_service(bid_svc.withdraw_bid, current_user, bid_id, ok=_("方案已撤回。"))
    elif action == "shortlist":
        ActionForm().validate_on_submit() or abort(400)
        run_service(bid_svc.shortlist_bid, current_user, bid_id, ok=_("已列入入围名单。"))
    elif action == "award":
        form = AwardForm()
        form.validate_on_submit() or abort(400)
        run_service(bid_svc.award_bid, current_user, bid_id, form.note.data, ok=_("已确定中标，合同草稿已生成。"))
    else:
        run_service(bid_svc.decline_bid, current_user, bid_id, request.form.get("reason"), ok=_("已通知投标机构未中标。"))
    return redirect(url_for("deals.bid_detail", bid_id=bid_id))


@bp.route("/bids/<int:bid_id>/messages", methods=["POST"])
@permission_required("bid.message")
def bid_message(bid_id: int):
    form = MessageForm()
    if form.validate_on_submit():
        reply = int(form.reply_to_id.data) if (form.reply_to_id.data or "").isdigit() else None
        run_service(bid_svc.post_message, current_user, bid_id, form.body.data, reply, ok=_("留言已发送。"))
    else:
        flash(_("请填写留言内容。"), "danger")
    return redirect(url_for("deals.bid_detail", bid_id=bid_id) + "#messages")


@bp.route("/bids/<int:bid_id>/attachments/<sha256>")
@permission_required("deals.view")
def bid_attachment(bid_id: int, sha256: str):
    bid = bid_svc.get_bid(current_user, bid_id)
    att = next((a for a in bid.attachments if a["sha256"] == sha256), None)
    if att is None or not evidence.path_for(sha256).is_file():
        abort(404)
    return send_file(evidence.path_for(sha256), download_name=att["filename"], as_attachment=True)


@bp.route("/scenarios/<ref>/bids", methods=["GET", "POST"])
@permission_required("bid.manage_received")
def scenario_bids(ref: str):
    listing = bid_svc.scenario_by_ref(ref)
    form = ReasonForm()
    if form.validate_on_submit():
        n, ok = run_service(bid_svc.decline_remaining, current_user, listing.id, form.reason.data, form=form)
        if ok:
            flash(_("已通知 %(n)d 家未中标机构。", n=n), "success")
            return redirect(url_for("deals.scenario_bids", ref=ref))
    return render_template("deals/scenario_bids.html", listing=listing, bids=bid_svc.bids_for_listing(current_user, listing),
                           form=form, title=_("揭榜方案：%(t)s", t=listing.title))


# ---------------------------------------------------------------- bookings
@bp.route("/resources/<ref>/book", methods=["GET", "POST"])
@permission_required("booking.request")
def book(ref: str):
    listing = booking_svc.resource_by_ref(ref)
    form = BookingForm()
    if form.validate_on_submit():
        data = booking_svc.BookingInput(
            _local_input(form.start_at.data), _local_input(form.end_at.data), form.purpose.data,
            form.sample_description.data, form.operator_needed.data,
        )
        booking, ok = run_service(booking_svc.request_booking, current_user, listing.id, data, form=form, ok=_("预约申请已提交，等待提供方审批。"))
        if ok:
            return redirect(url_for("deals.booking_detail", booking_id=booking.id))
    avail = booking_svc.availability_for(listing)
    week = _week_start(avail.lead_time_hours)
    return render_template(
        "deals/book.html", form=form, listing=listing, avail=avail, opening=booking_svc.opening_summary(avail),
        busy=booking_svc.bookings_for_resource(listing, upcoming_only=True), title=_("预约：%(t)s", t=listing.title),
        week=week, days=booking_svc.week_slots(listing, week),
        prev_week=week - dt.timedelta(days=7), next_week=week + dt.timedelta(days=7),
    )


def _week_start(lead_time_hours: int = 0) -> dt.date:
    """The Monday of ``?week=YYYY-MM-DD`` (inside the 2000..2100 window), or of the week of the first moment a
    booking may start (now plus the resource's lead time, Beijing time): on a Sunday with 24 hours' lead the
    renter is shown next week, not a week with nothing left to book."""
    from market.dates import in_window
    from market.domain.localtime import local_date

    day = None
    raw = request.args.get("week", "")
    if raw:
        try:
            day = dt.date.fromisoformat(raw[:10])
        except ValueError:
            day = None
        if day is not None and not in_window(day):
            day = None
    day = day or local_date(dt.datetime.now(dt.UTC) + dt.timedelta(hours=lead_time_hours or 0))
    return day - dt.timedelta(days=day.weekday())


@bp.route("/resources/<ref>/slots.json")
@permission_required("booking.request")
def resource_slots(ref: str):
    """The week's slots of a resource, free / busy / blocked / unavailable: times only, never who booked."""
    listing = booking_svc.resource_by_ref(ref)
    if listing.status != "published" and listing.owner_id != current_user.organisation_id:
        abort(404)
    avail = booking_svc.availability_for(listing)
    week = _week_start(avail.lead_time_hours)

    def local(moment: dt.datetime) -> str:
        return moment.astimezone(localtime.SHANGHAI).strftime("%Y-%m-%dT%H:%M")

    return {
        "week": week.isoformat(),
        "slot_minutes": avail.slot_minutes,
        "lead_time_hours": avail.lead_time_hours,
        "max_horizon_days": avail.max_horizon_days,
        "days": [
            {"date": day.isoformat(), "slots": [{"start": local(s.start), "end": local(s.end), "state": s.state} for s in slots]}
            for day, slots in booking_svc.week_slots(listing, week)
        ],
    }


@bp.route("/resources/<ref>/calendar.ics")
@permission_required("deals.view")
def resource_calendar(ref: str):
    listing = booking_svc.resource_by_ref(ref)
    body = booking_svc.calendar_ics(booking_svc.bookings_for_resource(listing), listing.title, current_user.organisation_id)
    return Response(body, content_type="text/calendar; charset=utf-8",
                    headers={"Content-Disposition": f"attachment; filename={listing.ref}.ics"})


@bp.route("/resources/<ref>/availability", methods=["GET", "POST"])
@permission_required("availability.edit")
def availability(ref: str):
    listing = booking_svc.resource_by_ref(ref)
    if listing.owner_id != current_user.organisation_id:
        abort(403)
    avail = booking_svc.availability_for(listing)
    form = AvailabilityForm(prefix="a")
    block_form = BlockForm(prefix="b")
    if request.method == "GET":
        for n, day in enumerate(booking_svc.WEEKDAYS):
            getattr(form, day).data = ", ".join((avail.opening_hours or {}).get(str(n), []))
        form.min_hours.data, form.max_hours.data = str(avail.min_hours), str(avail.max_hours)
        form.lead_time_hours.data, form.free_cancel_hours.data = str(avail.lead_time_hours), str(avail.free_cancel_hours)
        form.max_horizon_days.data, form.slot_minutes.data = str(avail.max_horizon_days), str(avail.slot_minutes)
    elif form.submit.data and form.validate_on_submit():
        data = booking_svc.AvailabilityInput(
            {day: getattr(form, day).data for day in booking_svc.WEEKDAYS}, form.min_hours.data,
            form.max_hours.data, form.lead_time_hours.data, form.free_cancel_hours.data,
            form.max_horizon_days.data, form.slot_minutes.data,
        )
        _a, ok = run_service(booking_svc.set_availability, current_user, listing.id, data, form=_DayErrors(form), ok=_("开放时间已保存。"))
        if ok:
            return redirect(url_for("deals.availability", ref=ref))
    elif block_form.submit.data and block_form.validate_on_submit():
        _b, ok = run_service(booking_svc.add_block, current_user, listing.id, _local_input(block_form.start_at.data),
                      _local_input(block_form.end_at.data), block_form.reason.data, form=block_form, ok=_("停用时段已添加。"))
        if ok:
            return redirect(url_for("deals.availability", ref=ref))
    return render_template("deals/availability.html", listing=listing, avail=avail, form=form, block_form=block_form,
                           action_form=ActionForm(), title=_("开放时间：%(t)s", t=listing.title))


class _DayErrors:
    """Map the service's ``hours_mon`` field names onto the form's ``mon`` fields."""

    def __init__(self, form):
        self._form = form

    def __getattr__(self, name):
        return getattr(self._form, name[6:] if name.startswith("hours_") else name)


@bp.route("/resources/<ref>/blocks/<int:block_id>/delete", methods=["POST"])
@permission_required("availability.edit")
def block_delete(ref: str, block_id: int):
    ActionForm().validate_on_submit() or abort(400)
    run_service(booking_svc.remove_block, current_user, block_id, ok=_("停用时段已删除。"))
    return redirect(url_for("deals.availability", ref=ref))


@bp.route("/resources/<ref>/bookings")
@permission_required("booking.manage")
def resource_bookings(ref: str):
    listing = booking_svc.resource_by_ref(ref)
    if listing.owner_id != current_user.organisation_id:
        abort(403)
    return render_template("deals/resource_bookings.html", listing=listing, bookings=booking_svc.bookings_for_resource(listing),
                           no_shows=booking_svc.no_show_count, title=_("预约记录：%(t)s", t=listing.title))


@bp.route("/utilisation")
@permission_required("deals.utilisation")
def utilisation():
    if current_user.is_district_staff:  # every provider's resources (issue 13)
        return redirect(url_for("dashboard.district_utilisation", **query_args()))
    year = request.args.get("year", type=int)
    rows = booking_svc.utilisation(_org().id, year)
    return render_template("deals/utilisation.html", rows=rows, year=year, title=_("资源利用率"))


UTILISATION_COLUMNS = (
    Column(N_("资源编号"), lambda u: u.listing.ref, width=14),
    Column(N_("资源"), lambda u: u.listing.title, width=36),
    Column(N_("预约次数"), "bookings", "int"),
    Column(N_("预约小时"), "booked_hours", "number"),
    Column(N_("实际小时"), "used_hours", "number"),
    Column(N_("利用率（%）"), "rate", "number"),
    Column(N_("已使用"), "completed", "int"),
    Column(N_("爽约"), "no_shows", "int"),
)


@bp.route("/utilisation/export.<fmt>")
@permission_required("booking.manage")
def utilisation_export(fmt: str):
    exports.require_format(fmt)
    year = request.args.get("year", type=int)
    org = _org()
    title = _("资源利用率") + (f" · {year}" if year else "")
    table = Table(title, UTILISATION_COLUMNS, booking_svc.utilisation(org.id, year))
    name = f"{_('资源利用率')}-{year or exports.stamp()}"
    return exports.download(fmt, table, filename=name, fallback=f"utilisation-{year or exports.stamp()}",
                            title=f"{title} · {org.name}")


@bp.route("/bookings/<int:booking_id>")
@permission_required("deals.view")
def booking_detail(booking_id: int):
    booking = booking_svc.get_booking(current_user, booking_id)
    return render_template(
        "deals/booking_detail.html", booking=booking, reason_form=ReasonForm(), action_form=ActionForm(),
        checkin_form=CheckInForm(actual_hours=str(booking.hours)), now=dt.datetime.now(dt.UTC),
        is_provider=current_user.organisation_id == booking.listing.owner_id,
        is_renter=current_user.organisation_id == booking.renter_id,
        no_shows=booking_svc.no_show_count(booking.renter_id), title=_("预约详情"),
    )


@bp.route("/bookings/<int:booking_id>/<any(approve, reject, cancel, checkin, no_show):action>", methods=["POST"])
@permission_required("deals.view")
def booking_action(booking_id: int, action: str):
    if action == "approve":
        ActionForm().validate_on_submit() or abort(400)
        run_service(booking_svc.approve_booking, current_user, booking_id, ok=_("预约已批准，租用合同草稿已生成。"))
    elif action == "reject":
        run_service(booking_svc.reject_booking, current_user, booking_id, request.form.get("reason"), ok=_("预约已拒绝。"))
    elif action == "cancel":
        run_service(booking_svc.cancel_booking, current_user, booking_id, request.form.get("reason"), ok=_("预约已取消。"))
    elif action == "checkin":
        run_service(booking_svc.check_in, current_user, booking_id, request.form.get("actual_hours"), ok=_("使用情况已登记。"))
    else:
        ActionForm().validate_on_submit() or abort(400)
        run_service(booking_svc.mark_no_show, current_user, booking_id, ok=_("已登记爽约，时段已释放。"))
    return redirect(url_for("deals.booking_detail", booking_id=booking_id))


# ---------------------------------------------------------------- data access
@bp.route("/data/<ref>/apply", methods=["GET", "POST"])
@permission_required("data_application.submit")
def apply_data(ref: str):
    listing = data_svc.data_listing_by_ref(ref)
    form = ApplicationForm()
    form.mode.choices = [SelectChoice(m, kind_label(m)) for m in data_svc.modes_for(listing)]
    offered = data_svc.catalogue_fields(listing)
    if offered:
        form.fields.description = _("可申请的字段：%(fields)s", fields=_("、").join(offered))
    direct = data_svc.is_open_without_application(listing)
    if not direct and form.validate_on_submit():
        data = data_svc.ApplicationInput(form.purpose.data, form.fields.data, form.period_start.data,
                                         form.period_end.data, form.mode.data)
        app, ok = run_service(data_svc.apply, current_user, listing.id, data, form=form, ok=_("申请已提交，等待数据方审批。"))
        if ok:
            return redirect(url_for("deals.application_detail", application_id=app.id))
    return render_template("deals/apply_data.html", form=form, listing=listing, direct=direct, title=_("申请数据：%(t)s", t=listing.title))


@bp.route("/applications/<int:application_id>", methods=["GET", "POST"])
@permission_required("deals.view")
def application_detail(application_id: int):
    app = data_svc.get_application(current_user, application_id)
    form = DecisionForm()
    if request.method == "POST" and form.validate_on_submit():
        decision = data_svc.Decision(form.outcome.data, form.conditions.data, form.reason.data,
                                     form.valid_from.data, form.valid_until.data, form.fee_cny.data)
        _a, ok = run_service(data_svc.decide, current_user, app.id, decision, form=form, ok=_("审批结果已通知申请方。"))
        if ok:
            return redirect(url_for("deals.application_detail", application_id=app.id))
    elif request.method == "GET":
        form.valid_from.data, form.valid_until.data = app.period_start, app.period_end
    return render_template("deals/application_detail.html", app=app, form=form, action_form=ActionForm(),
                           is_owner=current_user.organisation_id == app.listing.owner_id,
                           is_applicant=current_user.organisation_id == app.applicant_id,
                           today=data_svc.today_local(), title=_("数据使用申请"))


@bp.route("/applications/<int:application_id>/withdraw", methods=["POST"])
@permission_required("data_application.submit")
def application_withdraw(application_id: int):
    ActionForm().validate_on_submit() or abort(400)
    run_service(data_svc.withdraw, current_user, application_id, ok=_("申请已撤回。"))
    return redirect(url_for("deals.application_detail", application_id=application_id))


# ---------------------------------------------------------------- contracts
_SCHEDULE_LINE = re.compile(r"^\s*(\S+)[\s,，]+(\S+)(?:[\s,，]+(.*))?$")


def _schedule_rows(text: str | None) -> list[dict[str, str]]:
    rows = []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        m = _SCHEDULE_LINE.match(line)
        rows.append({"due": m.group(1), "amount_cny": m.group(2), "note": m.group(3) or ""} if m else {"due": line.strip(), "amount_cny": ""})
    return rows


@bp.route("/contracts/<int:contract_id>", methods=["GET", "POST"])
@permission_required("contract.view")
def contract_detail(contract_id: int):
    contract = contract_svc.get_contract(current_user, contract_id)
    terms = ContractTermsForm(prefix="t")
    doc = DocumentForm(prefix="d")
    if request.method == "POST":
        if terms.submit.data and terms.validate_on_submit():
            _c, ok = run_service(contract_svc.update_terms, current_user, contract.id, terms.amount_cny.data,
                          _schedule_rows(terms.schedule.data), form=_ScheduleErrors(terms), ok=_("合同条款已保存。"))
            if ok:
                return redirect(url_for("deals.contract_detail", contract_id=contract.id))
        elif doc.submit.data and doc.validate_on_submit():
            f = doc.document.data
            if not getattr(f, "filename", ""):
                doc.document.errors.append(_("请选择文件。"))
            else:
                _c, ok = run_service(contract_svc.upload_signed_document, current_user, contract.id, f.stream, f.filename,
                              form=doc, ok=_("合同文件已上传。"))
                if ok:
                    return redirect(url_for("deals.contract_detail", contract_id=contract.id))
    else:
        terms.amount_cny.data = str(contract.amount_cny)
        terms.schedule.data = "\n".join(f"{r['due']} {r['amount_cny']} {r.get('note', '')}".strip() for r in contract.payment_schedule)
    side = parties.side(current_user.organisation_id, contract)
    return render_template("deals/contract_detail.html", contract=contract, terms=terms, doc=doc, action_form=ActionForm(),
                           side=side, title=contract.display_title)


class _ScheduleErrors:
    def __init__(self, form):
        self._form = form

    def __getattr__(self, name):
        return getattr(self._form, "schedule" if name == "payment_schedule" else name)


@bp.route("/contracts/<int:contract_id>/confirm", methods=["POST"])
@permission_required("contract.sign")
def contract_confirm(contract_id: int):
    ActionForm().validate_on_submit() or abort(400)
    run_service(contract_svc.confirm, current_user, contract_id, ok=_("您已确认合同。"))
    return redirect(url_for("deals.contract_detail", contract_id=contract_id))


@bp.route("/contracts/<int:contract_id>/document")
@permission_required("contract.view")
def contract_document(contract_id: int):
    contract = contract_svc.get_contract(current_user, contract_id)
    sha = contract.signed_document_sha256
    if not sha or not evidence.path_for(sha).is_file():
        abort(404)
    return send_file(evidence.path_for(sha), mimetype="application/pdf",
                     download_name=contract.signed_document_filename or f"contract-{contract.id}.pdf")
