"""Pages of the claims workflow (issue 10): an organisation files (申报); a reviewer decides and runs the
public notice (公示, a public page) and resolves objections; the admin finalises the award list,
records payments and downloads it (XLSX, CSV, Chinese PDF through market/exports.py).

Views parse, guard, call one service, commit once (``market.web.commit``) and render or redirect.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext, pgettext
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DecimalField, HiddenField, RadioField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from market import exports
from market.dates import SaneDateField
from market.db import get_or_404
from market.domain.localtime import local_date
from market.domain.localtime import today as local_today
from market.i18n import N_
from market.permissions import can, require
from market.web import PUBLIC, permission_required, run_service
from models.claims import AwardList, ClaimObjection, ClaimStatus, NoticeStatus, PublicNotice, SubsidyClaim

from . import claims as svc
from . import claims_labels as labels
from . import parameters
from .parameters import LEDGER_RULES
from .views import year_arg

bp = Blueprint("subsidy_claims", __name__, url_prefix="/subsidies")
DECLARATION_ROWS = 3


@bp.app_context_processor
def _labels() -> dict[str, Any]:
    return {"claim_status_label": labels.claim_status_label, "notice_status_label": labels.notice_status_label,
            "objection_status_label": labels.objection_status_label, "claim_rule_label": labels.rule_label,
            "exclusion_words": labels.exclusion_words, "stored_exclusion_words": labels.stored_exclusion_words,
            "choice_words": labels.choice_words, "stored_choice_words": labels.stored_choice_words,
            "clause_translation": labels.clause_translation}


# ---------------------------------------------------------------- forms
class FileClaimForm(FlaskForm):
    other = RadioField(_l("同一事项是否已享受其他补贴"), default="none",
                       choices=[SelectChoice("none", _l("没有其他补贴")), SelectChoice("list", _l("有，列明如下"))])
    source_1 = StringField(_l("其他补贴名称（来源）1"), validators=[Optional(), Length(max=200)])
    amount_1 = StringField(_l("金额（元）1"), validators=[Optional(), Length(max=20)])
    item_1 = StringField(_l("对应事项（留空表示全年）1"), validators=[Optional(), Length(max=200)])
    source_2 = StringField(_l("其他补贴名称（来源）2"), validators=[Optional(), Length(max=200)])
    amount_2 = StringField(_l("金额（元）2"), validators=[Optional(), Length(max=20)])
    item_2 = StringField(_l("对应事项（留空表示全年）2"), validators=[Optional(), Length(max=200)])
    source_3 = StringField(_l("其他补贴名称（来源）3"), validators=[Optional(), Length(max=200)])
    amount_3 = StringField(_l("金额（元）3"), validators=[Optional(), Length(max=20)])
    item_3 = StringField(_l("对应事项（留空表示全年）3"), validators=[Optional(), Length(max=200)])
    declarations = HiddenField()  # where a service error about the declaration is shown
    submit = SubmitField(_l("提交申报"))

    def validate_other(self, field) -> None:
        """"Yes, listed below" with nothing listed was filed as "no other subsidy": the opposite of what was said."""
        if field.data == "list" and not any(
                (getattr(self, f"{part}_{n}").data or "").strip()
                for n in range(1, DECLARATION_ROWS + 1) for part in ("source", "amount", "item")):
            raise ValidationError(_l("您选择了“有其他补贴”：请至少列出一项，或改选“没有其他补贴”。"))

    def declared(self) -> list[dict[str, str]]:
        if self.other.data != "list":
            return []
        return [{"source": getattr(self, f"source_{n}").data, "amount_cny": getattr(self, f"amount_{n}").data,
                 "item": getattr(self, f"item_{n}").data} for n in range(1, DECLARATION_ROWS + 1)]


class DecideForm(FlaskForm):
    decision = RadioField(_l("审核决定"), default="approve", choices=[
        SelectChoice("approve", _l("按计算金额核定")), SelectChoice("adjust", _l("调整金额（须说明理由）")),
        SelectChoice("reject", _l("驳回（须说明理由）"))])
    amount = StringField(_l("核定金额（元，仅调整时填写）"), validators=[Optional(), Length(max=20)])
    reason = TextAreaField(_l("理由"), validators=[Optional(), Length(max=2000)])
    submit = SubmitField(_l("提交审核决定"))


class YearForm(FlaskForm):
    year = SelectField(_l("年度"), validators=[DataRequired()])
    submit = SubmitField(_l("确定"))


class ObjectionForm(FlaskForm):
    claim_id = SelectField(_l("对哪一项提出异议"), validators=[DataRequired()])
    text = TextAreaField(_l("异议内容"), validators=[DataRequired(), Length(max=2000)])
    submit = SubmitField(_l("提交异议"))


class ResolveForm(FlaskForm):
    decision = RadioField(_l("处理结果"), default="dismiss",
                          choices=[SelectChoice("dismiss", _l("异议不成立，继续公示")),
                                   SelectChoice("uphold", _l("异议成立，退回重新审核"))])
    resolution = TextAreaField(_l("处理意见"), validators=[DataRequired(), Length(max=2000)])
    submit = SubmitField(_l("提交处理意见"))


class PaymentForm(FlaskForm):
    # InputRequired, not DataRequired: 0 is typed, and the service says why it is refused
    amount_cny = DecimalField(_l("拨付金额（元）"), places=2, validators=[InputRequired()])
    paid_on = SaneDateField(_l("拨付日期"), validators=[DataRequired()])
    reference = StringField(_l("拨付凭证号"), validators=[DataRequired(), Length(max=100)])
    submit = SubmitField(_l("登记拨付"))


class WithdrawForm(FlaskForm):
    submit = SubmitField(_l("撤回申报"))



def _claim(claim_id: int) -> SubsidyClaim:
    return get_or_404(SubsidyClaim, claim_id, _("找不到该申报。"))


def _years_choices(years: list[int]) -> list[SelectChoice]:
    return [SelectChoice(str(y), str(y)) for y in years]


# ---------------------------------------------------------------- lists
@bp.get("/claims/")
@permission_required("subsidies.claims")
def index():
    """Members: their organisation's entitlements and claims; district staff: the queue and the lists."""
    if can(current_user, "subsidies.review"):
        status = request.args.get("status") or None
        if status is not None and status not in set(ClaimStatus):
            status = None
        claims = svc.all_claims(status=status)
        notice_form = YearForm(prefix="notice")
        notice_form.year.choices = _years_choices(svc.years_with(ClaimStatus.APPROVED))
        notice_form.submit.label.text = _("发布公示")
        final_form = YearForm(prefix="final")
        final_form.year.choices = _years_choices(svc.years_with(ClaimStatus.NOTICED))
        final_form.submit.label.text = _("确定拨付名单")
        lists = svc.award_lists()
        return render_template("subsidies/claims/review.html", claims=claims, status=status,
                               statuses=list(ClaimStatus), notices=svc.notices(), objections=svc.open_objections(),
                               award_lists=lists, award_batches=svc.award_batches(lists), award_title=award_title,
                               notice_form=notice_form, final_form=final_form,
                               may_finalise=can(current_user, "subsidies.finalise"))
    org = current_user.organisation
    if org is None:
        abort(403)
    return render_template("subsidies/claims/mine.html", org=org, entitlements=svc.entitlements(org.id),
                           claims=svc.claims_of(org.id), may_file=can(current_user, "subsidies.claim", org))


# ---------------------------------------------------------------- filing
@bp.route("/claims/new", methods=["GET", "POST"])
@permission_required("subsidies.claim")
def new():
    org = current_user.organisation
    rule = request.args.get("rule", "")
    try:
        year = int(request.args.get("year", ""))
    except ValueError:
        year = 0
    if org is None or rule not in LEDGER_RULES or year not in svc.claim_years():
        return redirect(url_for("subsidy_claims.index"))
    require(current_user, "subsidies.claim", org)
    form = FileClaimForm()
    if form.validate_on_submit():
        claim, ok = run_service(svc.file_claim, current_user, org, year, rule, form.declared(), form=form,
                         ok=_("补贴申报已提交，等待新区审核。"))
        if ok:
            return redirect(url_for("subsidy_claims.claim", claim_id=claim.id))
    result = svc.current_result(org.id, year, rule)
    return render_template("subsidies/claims/new.html", org=org, year=year, rule=rule, result=result, form=form,
                           params=parameters.default())


@bp.get("/claims/<int:claim_id>")
@permission_required("subsidies.claim_view")
def claim(claim_id: int):
    return _claim_page(_claim(claim_id))


def _claim_page(c: SubsidyClaim, decide_form: DecideForm | None = None, pay_form: PaymentForm | None = None,
                status: int = 200):
    """The claim, with the forms its reader may use; a form sent back with errors keeps what was chosen and typed (a
    decision reset to "approve" after an error would approve the claim on the next click)."""
    require(current_user, "subsidies.claim_view", c)
    diff = svc.snapshot_diff(c) if c.status not in (ClaimStatus.PAID, ClaimStatus.WITHDRAWN) else None
    if decide_form is None and can(current_user, "subsidies.review") and c.status == ClaimStatus.FILED:
        decide_form = DecideForm()
    if pay_form is None and can(current_user, "subsidies.finalise") and c.status == ClaimStatus.FINALISED:
        pay_form = PaymentForm()
        pay_form.amount_cny.data = (c.approved_cny or 0) - c.paid_cny
        pay_form.paid_on.data = local_today()
    withdraw_form = (WithdrawForm() if can(current_user, "subsidies.claim", c)
                     and c.status in (ClaimStatus.FILED, ClaimStatus.APPROVED) else None)
    resolve_forms = {}
    if can(current_user, "subsidies.review"):
        resolve_forms = {o.id: ResolveForm(prefix=f"o{o.id}") for o in c.objections if o.status == "open"}
    return render_template("subsidies/claims/claim.html", claim=c, diff=diff, decide_form=decide_form,
                           pay_form=pay_form, withdraw_form=withdraw_form, resolve_forms=resolve_forms,
                           params=parameters.default()), status


@bp.post("/claims/<int:claim_id>/decide")
@permission_required("subsidies.review")
def decide(claim_id: int):
    c = _claim(claim_id)
    form = DecideForm()
    if form.validate_on_submit():
        _done, ok = run_service(svc.decide, current_user, c, form.decision.data, amount=form.amount.data,
                                reason=form.reason.data, form=form, ok=_("审核决定已保存。"))
        if ok:
            return redirect(url_for("subsidy_claims.claim", claim_id=claim_id))
    return _claim_page(c, decide_form=form, status=422)


@bp.post("/claims/<int:claim_id>/withdraw")
@permission_required("subsidies.claim")
def withdraw(claim_id: int):
    c = _claim(claim_id)
    if WithdrawForm().validate_on_submit():
        run_service(svc.withdraw, current_user, c, ok=_("申报已撤回。"))
    return redirect(url_for("subsidy_claims.claim", claim_id=claim_id))


@bp.post("/claims/<int:claim_id>/payments")
@permission_required("subsidies.finalise")
def pay(claim_id: int):
    c = _claim(claim_id)
    form = PaymentForm()
    if form.validate_on_submit():
        _done, ok = run_service(svc.record_payment, current_user, c, form.amount_cny.data, form.paid_on.data,
                                form.reference.data, form=form, ok=_("拨付已登记。"))
        if ok:
            return redirect(url_for("subsidy_claims.claim", claim_id=claim_id))
    return _claim_page(c, pay_form=form, status=422)


# ---------------------------------------------------------------- the public notice (公示)
@bp.post("/notices/open")
@permission_required("subsidies.review")
def open_notice():
    form = YearForm(prefix="notice")
    form.year.choices = _years_choices(svc.years_with(ClaimStatus.APPROVED))
    if form.validate_on_submit():
        notice, ok = run_service(svc.open_notice, current_user, int(form.year.data), ok=_("公示已发布。"))
        if ok:
            return redirect(url_for("subsidy_claims.notice", notice_id=notice.id))
    else:
        flash(_("没有待公示的已核定申报。"), "danger")
    return redirect(url_for("subsidy_claims.index"))


@bp.get("/notices/")
@permission_required(PUBLIC)
def notices():
    return render_template("subsidies/claims/notices.html", notices=svc.notices())


@bp.get("/notices/<int:notice_id>")
@permission_required(PUBLIC)
def notice(notice_id: int):
    n = get_or_404(PublicNotice, notice_id, _("找不到该公示。"))
    form = None
    if current_user.is_authenticated and can(current_user, "subsidies.object") and n.status == NoticeStatus.OPEN:
        form = ObjectionForm()
        form.claim_id.choices = [SelectChoice(str(c.id), f"{c.organisation.name} · {labels.rule_label(c.rule)}")
                                 for c in n.claims if c.status == ClaimStatus.IN_NOTICE]
    return render_template("subsidies/claims/notice.html", notice=n, form=form,
                           claims=[c for c in n.claims], may_review=can(current_user, "subsidies.review"))


@bp.post("/notices/<int:notice_id>/objections")
@permission_required("subsidies.object")
def object_(notice_id: int):
    n = get_or_404(PublicNotice, notice_id, _("找不到该公示。"))
    form = ObjectionForm()
    form.claim_id.choices = [SelectChoice(str(c.id), str(c.id)) for c in n.claims]
    if form.validate_on_submit():
        c = _claim(int(form.claim_id.data))
        run_service(svc.file_objection, current_user, n, c, form.text.data, ok=_("异议已提交，新区审核人员将核实处理。"))
    else:
        flash(_("请选择公示项目并填写异议内容。"), "danger")
    return redirect(url_for("subsidy_claims.notice", notice_id=notice_id))


@bp.post("/objections/<int:objection_id>/resolve")
@permission_required("subsidies.review")
def resolve(objection_id: int):
    o = get_or_404(ClaimObjection, objection_id, _("找不到该异议。"))
    form = ResolveForm(prefix=f"o{o.id}")
    if form.validate_on_submit():
        run_service(svc.resolve_objection, current_user, o, form.decision.data, form.resolution.data, ok=_("异议已处理。"))
    else:
        flash(_("请填写处理意见。"), "danger")
    return redirect(url_for("subsidy_claims.claim", claim_id=o.claim_id))


# ---------------------------------------------------------------- the award list
@bp.post("/awards/finalise")
@permission_required("subsidies.finalise")
def finalise():
    form = YearForm(prefix="final")
    form.year.choices = _years_choices(svc.years_with(ClaimStatus.NOTICED))
    if form.validate_on_submit():
        award, ok = run_service(svc.finalise, current_user, int(form.year.data), ok=_("拨付名单已确定。"))
        if ok:
            return redirect(url_for("subsidy_claims.award", award_id=award.id))
    else:
        flash(_("没有公示期满的申报。"), "danger")
    return redirect(url_for("subsidy_claims.index"))


@bp.get("/awards/<int:award_id>")
@permission_required("subsidies.view_all")
def award(award_id: int):
    a = get_or_404(AwardList, award_id, _("找不到该拨付名单。"))
    return render_template("subsidies/claims/award.html", award=a, may_pay=can(current_user, "subsidies.finalise"),
                           totals=a.totals(), title=award_title(a))


def award_title(a: AwardList, batch: int | None = None) -> str:
    return _("%(year)s年度第%(n)d批补贴拨付名单", year=a.year, n=batch or svc.award_batch(a))


def award_rows(a: AwardList) -> list[dict[str, Any]]:
    """The award list as plain rows (read before the response streams: no session is open then)."""
    rows = []
    for c in a.claims:
        n = c.notice
        rows.append({
            "name": c.organisation.name, "uscc": c.organisation.uscc, "rule": labels.rule_label(c.rule),
            "article": _("第%(n)s条", n=c.snapshot.get("article", "")), "computed_cny": c.computed_cny,
            "approved_cny": c.approved_cny, "paid_cny": c.paid_cny,
            "period": f"{local_date(n.starts_at).isoformat()} ~ {local_date(n.ends_at).isoformat()}" if n else "",
            "finalised_at": a.finalised_at,
        })
    if rows:  # the total row: the sums a reader checks the list by
        rows.append({"name": ngettext("合计（%(num)d 项）", "合计（%(num)d 项）", len(rows)), "uscc": "", "rule": "", "article": "", **a.totals(),
                     "period": "", "finalised_at": None})
    return rows


def award_table(a: AwardList) -> exports.Table:
    """The award list's export: organisation, USCC, rule, article, computed, approved, paid, notice period,
    finalised date."""
    columns = [
        exports.Column(N_("机构名称"), "name", width=34),
        exports.Column(N_("统一社会信用代码"), "uscc", width=22),
        exports.Column(N_("条款"), "rule", width=34),
        exports.Column(N_("政策条文"), "article"),
        exports.Column(N_("计算金额（元）"), "computed_cny", "money"),
        exports.Column(N_("核定金额（元）"), "approved_cny", "money"),
        exports.Column(N_("已拨付（元）"), "paid_cny", "money"),
        exports.Column(N_("公示期"), "period"),
        exports.Column(N_("确定时间"), "finalised_at", "datetime"),
    ]
    return exports.Table(N_("补贴拨付名单"), columns, award_rows(a))


@bp.get("/awards/<int:award_id>/export.<fmt>")
@permission_required("subsidies.view_all")
def award_export(award_id: int, fmt: str):
    exports.require_format(fmt)
    a = get_or_404(AwardList, award_id, _("找不到该拨付名单。"))
    title = award_title(a)
    return exports.download(fmt, award_table(a), filename=title, fallback=f"award-list-{a.year}-{a.id}", title=title)


# ---------------------------------------------------------------- the budget view (district)
@bp.get("/budget")
@permission_required("subsidies.view_all")
def budget():
    from .budget import budget as compute_budget

    year = year_arg()
    return render_template("subsidies/claims/budget.html", b=compute_budget(year), year=year)


@bp.get("/budget/<int:year>.svg")
@permission_required("subsidies.view_all")
def budget_chart(year: int):
    from market.dashboard import charts
    from market.dashboard.kpis import Series

    from .budget import budget as compute_budget

    if not 2000 <= year <= 2100:
        abort(404)
    b = compute_budget(year)
    names = {"claimed": pgettext("subsidy claims", "已申报"), "approved": _("已核定"), "paid": _("已拨付")}
    series = Series("subsidy_budget", _("%(year)s年度补贴按月（元）", year=year), b.months,
                    {names[k]: v for k, v in b.monthly.items()}, kind="bar", money=True)
    resp = Response(charts.render(series), mimetype="image/svg+xml")
    resp.headers["Content-Security-Policy"] = charts.SVG_CSP
    return resp
