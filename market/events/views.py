"""Events pages: parse, authorise, call a service, commit once, render or redirect."""

from __future__ import annotations

import re
from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from market import exports
from market.domain.localtime import today
from market.exports import Column, Table
from market.extensions import db
from market.i18n import N_
from market.listings.fields import TRACK_LABELS
from market.permissions import can
from market.web import PUBLIC, permission_required, run_service
from models.events import DemoDeclaration, Event, EventStatus, Meeting, MeetingRequest
from models.listings import Listing, ListingKind, ListingStatus
from models.organisations import Organisation

from . import bp, charts
from . import services as svc
from .forms import (
    ActionForm,
    AttachForm,
    CheckInForm,
    DeclarationForm,
    EventForm,
    GradeForm,
    OutcomeForm,
    PlanForm,
    RegisterForm,
    RequestForm,
    choices,
)
from .labels import OUTCOME, outcome_label


def _event(event_id: int) -> Event:
    return svc.get_event(event_id)


def _org() -> Organisation | None:
    return getattr(current_user, "organisation", None)  # (an anonymous visitor has none)


def _int_or_none(value: Any) -> int | None:
    return int(value) if value not in (None, "") and str(value).isdigit() else None


def _track_choices():
    return choices((k, str(v)) for k, v in TRACK_LABELS.items())


# ---------------------------------------------------------------- list, create, detail
@bp.route("/")
@permission_required(PUBLIC)  # the yearly events are announced to everyone (art. 9); taking part needs an account
def index():
    events = db.session.execute(select(Event).order_by(Event.event_date.desc())).scalars().all()
    plan_form = PlanForm(prefix="plan") if can(current_user, "event.manage") else None
    if plan_form is not None:
        year, quarter = svc.next_quarter(today())
        plan_form.year.data, plan_form.quarter.data = year, str(quarter)
    return render_template("events/index.html", events=events, plan_form=plan_form, tracks=TRACK_LABELS,
                           title=_("专题场景对接会"))


@bp.route("/new", methods=["GET", "POST"])
@permission_required("event.manage")
def new():
    form = EventForm()
    form.track.choices = _track_choices()
    if form.validate_on_submit():
        data = svc.EventInput(**{k: getattr(form, k).data for k in (
            "title", "track", "venue", "event_date", "slot_start", "slot_minutes", "slot_gap", "slot_count", "tables",
            "max_meetings", "target_scenarios")})
        event, ok = run_service(svc.create_event, current_user, data, form=form, ok=_("活动已创建。"))
        if ok:
            return redirect(url_for("events.detail", event_id=event.id))
    return render_template("events/form.html", form=form, title=_("新建对接会"))


@bp.route("/plan", methods=["POST"])
@permission_required("event.manage")
def from_plan():
    form = PlanForm(prefix="plan")
    if not form.validate_on_submit():
        errors = [e for f in (form.year, form.quarter) for e in f.errors]
        flash(str(errors[0]) if errors else _("请填写年份和季度。"), "danger")
        return redirect(url_for("events.index"))
    result, ok = run_service(svc.create_from_plan, current_user, form.year.data, int(form.quarter.data))
    if not ok:
        return redirect(url_for("events.index"))
    event, created = result
    flash(_("已按年度计划创建活动。") if created else _("该季度的计划活动已存在。"), "success" if created else "info")
    return redirect(url_for("events.detail", event_id=event.id))


@bp.route("/<int:event_id>")
@permission_required(PUBLIC)  # an event's date, venue and scenarios are its announcement (the home page links here)
def detail(event_id: int):
    event = _event(event_id)
    org = _org()
    reg = svc.registration_of(event, org.id if org else None)
    ctx: dict[str, Any] = {"event": event, "reg": reg, "org": org, "action": ActionForm()}
    if org is not None:
        if org.kind != "sme" and event.status in svc.OPEN_FOR_SCENARIOS and can(current_user, "event.attach_scenario", org):
            form = AttachForm(prefix="attach")
            attached = set(svc.attached_listing_ids(event))
            form.listing_id.choices = choices((li.id, li.title) for li in db.session.execute(select(Listing).where(
                Listing.owner_id == org.id, Listing.kind == ListingKind.SCENARIO,
                Listing.status == ListingStatus.PUBLISHED)).scalars() if li.id not in attached)
            ctx["attach_form"] = form
        if can(current_user, "event.participate") and (reg is not None or (
                org.kind == "sme" and event.status == EventStatus.REGISTRATION)):
            rf = RegisterForm(prefix="reg")
            rf.interests.choices = choices((s.listing_id, s.listing.title) for s in event.scenarios)
            rf.slots.choices = choices((s.id, _slot_label(s)) for s in event.slots)
            if reg is not None:
                rf.interests.data = [str(i) for i in reg.interests or []]
                rf.slots.data = [str(i) for i in reg.available_slots or []]
            else:
                rf.slots.data = [str(s.id) for s in event.slots]
            ctx["register_form"] = rf
        if reg is not None:
            ctx["requests"] = svc.requests_of(event, org.id)
            if event.status in svc.OPEN_FOR_REQUESTS:
                ctx["recommendations"] = svc.recommendations(event, org)
                ctx["request_form"] = _request_form(event, reg)
    if can(current_user, "event.manage"):
        ctx["participants"] = event.registrations
        ctx["accepted"] = db.session.execute(select(MeetingRequest).where(
            MeetingRequest.event_id == event.id, MeetingRequest.status == "accepted")).scalars().all()
        ctx["meetings"] = svc.meetings_of(event)
    return render_template("events/detail.html", title=event.title, tracks=TRACK_LABELS, **ctx)


def _slot_label(slot) -> str:
    from market.i18n import format_local

    return f"{format_local(slot.start_at, 'HH:mm')}–{format_local(slot.end_at, 'HH:mm')}"


def _request_form(event: Event, reg) -> RequestForm:
    form = RequestForm(prefix="req")
    others = [r for r in event.registrations if r.side != reg.side]
    form.to_org_id.choices = choices((r.organisation_id, r.organisation.name) for r in others)
    form.listing_id.choices = choices([("", "—")] + [(s.listing_id, s.listing.title) for s in event.scenarios])
    return form


@bp.route("/<int:event_id>/advance", methods=["POST"])
@permission_required("event.manage")
def advance(event_id: int):
    event = svc.get_event(event_id, lock=True)
    run_service(svc.advance, current_user, event, ok=_("活动状态已更新。"))
    return redirect(url_for("events.detail", event_id=event_id))


# ---------------------------------------------------------------- scenarios and registration
@bp.route("/<int:event_id>/scenarios", methods=["POST"])
@permission_required("event.attach_scenario")
def attach(event_id: int):
    event = _event(event_id)
    form = AttachForm(prefix="attach")
    listing = db.session.get(Listing, _int_or_none(form.listing_id.data)) if form.listing_id.data else None
    if listing is None:
        flash(_("请选择要挂接的场景。"), "danger")
    else:
        run_service(svc.attach_scenario, current_user, event, listing, ok=_("场景已挂接。"))
    return redirect(url_for("events.detail", event_id=event_id))


@bp.route("/<int:event_id>/scenarios/<int:listing_id>/detach", methods=["POST"])
@permission_required("event.attach_scenario")
def detach(event_id: int, listing_id: int):
    event = _event(event_id)
    listing = db.session.get(Listing, listing_id)
    if listing is None:
        abort(404)
    run_service(svc.detach_scenario, current_user, event, listing, ok=_("场景已撤下。"))
    return redirect(url_for("events.detail", event_id=event_id))


@bp.route("/<int:event_id>/register", methods=["POST"])
@permission_required("event.participate")
def register(event_id: int):
    event = _event(event_id)
    run_service(svc.register, current_user, event, request.form.getlist("reg-interests"), request.form.getlist("reg-slots"),
         ok=_("报名信息已保存。"))
    return redirect(url_for("events.detail", event_id=event_id))


# ---------------------------------------------------------------- meeting requests
@bp.route("/<int:event_id>/requests", methods=["POST"])
@permission_required("event.participate")
def request_meeting(event_id: int):
    event = _event(event_id)
    to_org = _int_or_none(request.form.get("req-to_org_id"))
    if to_org is None:
        flash(_("请选择会谈对象。"), "danger")
        return redirect(url_for("events.detail", event_id=event_id))
    priority = _int_or_none(request.form.get("req-priority")) or 2
    run_service(svc.request_meeting, current_user, event, to_org, _int_or_none(request.form.get("req-listing_id")),
         priority, request.form.get("req-message"), ok=_("会谈预约已发出。"))
    return redirect(url_for("events.detail", event_id=event_id))


@bp.route("/requests/<int:request_id>/<any(accept, decline):action>", methods=["POST"])
@permission_required("event.participate")
def respond(request_id: int, action: str):
    req = db.session.get(MeetingRequest, request_id)
    if req is None:
        abort(404)
    run_service(svc.respond, current_user, req, action == "accept",
         ok=_("已接受会谈预约。") if action == "accept" else _("已谢绝会谈预约。"))
    return redirect(url_for("events.detail", event_id=req.event_id))


# ---------------------------------------------------------------- agenda
@bp.route("/<int:event_id>/agenda/compute", methods=["POST"])
@permission_required("event.manage")
def compute(event_id: int):
    event = svc.get_event(event_id, lock=True)
    result, ok = run_service(svc.compute_agenda, current_user, event)
    if ok:
        flash(_("日程已编排：%(n)d 场会谈，总权重 %(total).2f（上界 %(bound).2f），贪心法 %(greedy).2f。",
                n=result.meetings, total=result.agenda.total_weight, bound=result.agenda.bound,
                greedy=result.greedy.total_weight), "success")
    return redirect(url_for("events.agenda", event_id=event_id))


@bp.route("/<int:event_id>/agenda/publish", methods=["POST"])
@permission_required("event.manage")
def publish(event_id: int):
    event = svc.get_event(event_id, lock=True)
    run_service(svc.publish_agenda, current_user, event, ok=_("日程已发布，参会方已收到通知。"))
    return redirect(url_for("events.agenda", event_id=event_id))


@bp.route("/<int:event_id>/agenda")
@permission_required("event.manage")
def agenda(event_id: int):
    event = _event(event_id)
    return render_template("events/agenda.html", event=event, meetings=svc.meetings_of(event), action=ActionForm(),
                           report=svc.event_report(event), checked=svc.checked_in_ids(event),
                           slot_label=_slot_label, title=_("日程：%(title)s", title=event.title))


@bp.route("/<int:event_id>/agenda.<fmt>")
@permission_required("event.manage")
def agenda_download(event_id: int, fmt: str):
    """The whole agenda for the organisers (the hall's table plan, the check-in desk): every meeting with its time,
    table, both parties, scenario, weight and outcome."""
    exports.require_format(fmt)
    event = _event(event_id)
    rows = [{"time": _slot_label(m.slot), "table": m.table_no, "from": m.request.from_org.name, "to": m.request.to_org.name,
             "listing": m.request.listing.title if m.request.listing else "", "weight": round(m.request.weight, 2),
             "outcome": outcome_label(m.outcome.result) if m.outcome else ""} for m in svc.meetings_of(event)]
    columns = [Column(N_("时间"), "time"), Column(N_("桌号"), "table", "int"), Column(N_("发起方"), "from", width=30),
               Column(N_("对方"), "to", width=30), Column(N_("相关场景"), "listing", width=30),
               Column(N_("权重"), "weight", "number"), Column(N_("结果"), "outcome")]
    title = f"{_('日程：%(title)s', title=event.title)} · {event.event_date.isoformat()} · {event.venue}"
    return exports.download(fmt, Table(_("日程"), columns, rows), filename=f"{_('日程')}-{event.id}",
                            fallback=f"event-agenda-{event.id}", title=title)


@bp.route("/<int:event_id>/my-agenda")
@permission_required("event.participate")
def my_agenda(event_id: int):
    event = _event(event_id)
    org = _org()
    reg = svc.registration_of(event, org.id if org else None)
    published = svc.agenda_is_published(event)
    meetings = svc.meetings_of(event, org.id) if (reg and published) else []
    qr = None
    if reg is not None:
        qr = svc.qr_svg_data_uri(_checkin_url(event, reg.checkin_code))
    return render_template("events/my_agenda.html", event=event, reg=reg, meetings=meetings, published=published,
                           qr=qr, org=org, counterpart=svc.counterpart, slot_label=_slot_label,
                           title=_("我的日程：%(title)s", title=event.title))


def _checkin_url(event: Event, code: str) -> str:
    from flask import current_app

    return f"{current_app.config['SITE_URL'].rstrip('/')}/events/{event.id}/checkin?code={code}"


@bp.route("/<int:event_id>/my-agenda.<fmt>")
@permission_required("event.participate")
def my_agenda_download(event_id: int, fmt: str):
    event = _event(event_id)
    org = _org()
    reg = svc.registration_of(event, org.id if org else None)
    if fmt not in ("pdf", "ics", "xlsx") or reg is None:
        abort(404)
    if fmt == "ics":
        return Response(svc.agenda_ics(event, org), content_type="text/calendar; charset=utf-8",
                        headers={"Content-Disposition": exports.content_disposition(
                            f"{_('我的日程')}-{event.id}.ics", f"agenda-{event.id}.ics")})
    meetings = svc.meetings_of(event, org.id) if svc.agenda_is_published(event) else []
    # plain rows: the download streams after the request's session is gone
    rows = [{"time": _slot_label(m.slot), "table": m.table_no, "who": svc.counterpart(m, org.id).name,
             "listing": m.request.listing.title if m.request.listing else ""} for m in meetings]
    columns = [Column(N_("时间"), "time"), Column(N_("桌号"), "table", "int"), Column(N_("会谈对象"), "who"),
               Column(N_("相关场景"), "listing")]
    # the printed page is what a participant carries to the venue: when, where, who, and the check-in code
    title = (f"{event.title} · {event.event_date.isoformat()} · {event.venue} · {org.name} · "
             f"{_('签到码')} {reg.checkin_code}")
    return exports.download(fmt, Table(_("我的日程"), columns, rows), filename=f"{_('我的日程')}-{event.id}",
                            fallback=f"agenda-{event.id}", title=title)


# ---------------------------------------------------------------- event day
@bp.route("/<int:event_id>/checkin", methods=["GET", "POST"])
@permission_required("event.checkin")
def checkin(event_id: int):
    event = _event(event_id)
    form = CheckInForm()
    if request.method == "GET" and request.args.get("code"):
        form.code.data = request.args["code"][:32]
    result = None
    if form.validate_on_submit():
        found, ok = run_service(svc.check_in, current_user, event, form.code.data, form=form)
        if ok:
            reg, item, new = found
            result = {"org": reg.organisation.name, "new": new, "at": item.checked_in_at, "side": reg.side,
                      "meetings": svc.meetings_of(event, reg.organisation_id)}
            form.code.data = ""
    return render_template("events/checkin.html", event=event, form=form, result=result, slot_label=_slot_label,
                           checked=len(svc.checked_in_ids(event)), title=_("现场签到"))


# ---------------------------------------------------------------- outcomes
@bp.route("/meetings/<int:meeting_id>/outcome", methods=["GET", "POST"])
@permission_required("event.outcome")
def outcome(meeting_id: int):
    meeting = db.session.get(Meeting, meeting_id)
    if meeting is None:
        abort(404)
    if not svc.can_record_outcome(current_user, meeting):
        abort(403)
    form = OutcomeForm(obj=meeting.outcome)
    form.result.choices = choices((k, _(v)) for k, v in OUTCOME.items())
    if form.validate_on_submit():
        _o, ok = run_service(svc.record_outcome, current_user, meeting, form.result.data, form.bid_id.data,
                      form.contract_id.data, form.ledger_entry_id.data, form.note.data, form=form,
                      ok=_("会谈结果已保存。"))
        if ok:
            return redirect(url_for("events.my_agenda" if current_user.organisation_id else "events.agenda",
                                    event_id=meeting.event_id))
    return render_template("events/outcome.html", meeting=meeting, form=form, slot_label=_slot_label,
                           title=_("会谈结果"))


# ---------------------------------------------------------------- KPIs and reports
def _year_arg() -> int | None:
    year = request.args.get("year", "")
    return int(year) if re.fullmatch(r"\d{4}", year) else None


@bp.route("/kpi")
@permission_required(PUBLIC)
def kpi():
    years, tracks = svc.kpis(_year_arg())
    return render_template("events/kpi.html", years=years, tracks=tracks, track_labels=TRACK_LABELS,
                           detail=False, plan=svc.plan(), title=_("对接会成效"))


@bp.route("/kpi/admin")
@permission_required("event.manage")
def kpi_admin():
    year = _year_arg()
    years, tracks = svc.kpis(year)
    events = db.session.execute(select(Event).order_by(Event.event_date.desc())).scalars().all()
    reports = {e.id: svc.event_report(e) for e in events}
    return render_template("events/kpi.html", years=years, tracks=tracks, track_labels=TRACK_LABELS, detail=True,
                           events=events, reports=reports, plan=svc.plan(), year=year, title=_("对接会成效（明细）"))


@bp.route("/kpi/<any(events, scenarios, funnel):name>.svg")
@permission_required(PUBLIC)
def kpi_chart(name: str):
    years, _tracks = svc.kpis()
    svg = charts.render(name, years, svc.plan())
    resp = Response(svg, mimetype="image/svg+xml")
    # the SVG is an image: its own styles only, no scripts (charts.render strips them)
    resp.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return resp


KPI_COLUMNS = [
    Column(N_("年份/赛道"), "key"),
    Column(N_("活动数"), "events_planned", "int"),
    Column(N_("已举办"), "events_held", "int"),
    Column(N_("开放场景"), "scenarios_total", "int"),
    Column(N_("达到 20 个场景的活动"), "events_reaching_target", "int"),
    Column(N_("报名企业"), "registrations", "int"),
    Column(N_("安排会谈"), "meetings", "int"),
    Column(N_("实际会谈"), "meetings_held", "int"),
    Column(N_("后续跟进"), "follow_ups", "int"),
    Column(N_("投标"), "bids", "int"),
    Column(N_("签约"), "contracts", "int"),
    Column(N_("签约金额"), "contract_value", "money"),
]


@bp.route("/kpi/export.<fmt>")
@permission_required("event.manage")
def kpi_export(fmt: str):
    exports.require_format(fmt, ("xlsx", "csv", "pdf"))
    years, tracks = svc.kpis(_year_arg())
    track_rows = [{**vars(r), "key": str(TRACK_LABELS.get(r.key, r.key)), "scenarios_total": r.scenarios_total,
                   "events_reaching_target": r.events_reaching_target} for r in tracks]
    tables = [Table(_("按年度"), KPI_COLUMNS, years), Table(_("按赛道"), KPI_COLUMNS, track_rows)]
    if fmt == "csv":
        tables = tables[:1]
    return exports.download(fmt, *tables, filename=f"{_('对接会成效')}-{exports.stamp()}",
                            fallback=f"events-kpi-{exports.stamp()}", title=_("对接会成效"))


# ---------------------------------------------------------------- art. 9 demonstration projects
@bp.route("/demo-projects")
@permission_required("demo_project.view")
def demo_projects():
    stmt = select(DemoDeclaration).order_by(DemoDeclaration.id.desc())
    if current_user.role not in ("district_reviewer", "district_admin"):
        stmt = stmt.where(DemoDeclaration.organisation_id == current_user.organisation_id)
    form = _declaration_form() if can(current_user, "demo_project.declare") else None
    return render_template("events/demo_projects.html", items=db.session.execute(stmt).scalars().all(), form=form,
                           criteria=svc.criteria(), title=_("示范项目申报"))


def _declaration_form() -> DeclarationForm:
    form = DeclarationForm(prefix="decl")
    org_id = current_user.organisation_id
    outcomes = svc.outcomes_for_org(org_id) if org_id else []
    form.outcome_id.choices = choices([("", "—")] + [
        (o.id, f"{o.meeting.event.title} · {svc.counterpart(o.meeting, org_id).name} · {outcome_label(o.result)}")
        for o in outcomes])
    listings = db.session.execute(select(Listing).where(Listing.owner_id == org_id,
                                                        Listing.kind == ListingKind.SCENARIO)).scalars().all()
    form.listing_id.choices = choices([("", "—")] + [(li.id, li.title) for li in listings])
    return form


@bp.route("/demo-projects/declare", methods=["POST"])
@permission_required("demo_project.declare")
def declare():
    form = _declaration_form()
    if form.validate_on_submit():
        _d, ok = run_service(svc.declare, current_user, form.title.data, form.summary.data, _int_or_none(form.outcome_id.data),
                      _int_or_none(form.listing_id.data), form=form, ok=_("示范项目已申报。"))
        if ok:
            return redirect(url_for("events.demo_projects"))
    else:
        flash(_("请填写项目名称和简介，并选择来源。"), "danger")
    return redirect(url_for("events.demo_projects"))


@bp.route("/demo-projects/<int:decl_id>", methods=["GET", "POST"])
@permission_required("demo_project.grade")
def demo_project(decl_id: int):
    decl = db.session.get(DemoDeclaration, decl_id)
    if decl is None:
        abort(404)
    form = GradeForm(data=decl.scores or None)
    if form.validate_on_submit():
        scores = {k: getattr(form, k).data for k in svc.criteria()}
        _d, ok = run_service(svc.grade, current_user, decl, scores, form.comment.data, form=form, ok=_("评分已保存。"))
        if ok:
            return redirect(url_for("events.demo_project", decl_id=decl.id))
    return render_template("events/demo_project.html", decl=decl, form=form, action=ActionForm(),
                           criteria=svc.criteria(), tiers=svc.tier_table(), title=decl.title)


@bp.route("/demo-projects/<int:decl_id>/handoff", methods=["POST"])
@permission_required("demo_project.handoff")
def demo_handoff(decl_id: int):
    decl = db.session.get(DemoDeclaration, decl_id)
    if decl is None:
        abort(404)
    run_service(svc.hand_off, current_user, decl, ok=_("已移交补贴审批。"))
    return redirect(url_for("events.demo_project", decl_id=decl.id))

