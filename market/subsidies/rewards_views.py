"""Reward decision pages under /subsidies/rewards (art. 8 opener, art. 9 tiers, art. 13 awards).

District staff (``subsidies.decide``) see the queue and decide; an organisation's members read the
decisions about their organisation (``subsidies.view`` on the decision).
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from market.db import get_or_404
from market.domain.localtime import today
from market.extensions import db
from market.permissions import require
from market.web import permission_required, run_service
from models.events import DemoDeclaration
from models.organisations import Organisation

from . import parameters
from . import rewards as svc
from .forms import DataForm, DemoForm, OpenerForm, RevokeForm

bp = Blueprint("rewards", __name__, url_prefix="/subsidies/rewards")

def _ctx(**kw):
    params = parameters.default()
    return dict(params=params, **kw)


@bp.get("/")
@permission_required("subsidies.decide")
def index():
    year = today().year
    return render_template("subsidies/rewards/index.html", title=_("补贴审定"), decisions=svc.decisions(),
                           pending=svc.pending_declarations(), firms=svc.leading_firms(),
                           totals=svc.decided_totals(year), year=year, **_ctx())


@bp.route("/opener/<int:org_id>", methods=["GET", "POST"])
@permission_required("subsidies.decide")
def opener(org_id: int):
    org = get_or_404(Organisation, org_id)
    form = OpenerForm()
    live = svc.live_opener(org.id)
    if form.validate_on_submit():
        decision, ok = run_service(svc.decide_opener, current_user, org, form.amount_cny.data, form.reason.data,
                                   form=form, ok=_("已审定一次性奖励。"))
        if ok:
            return redirect(url_for("rewards.detail", decision_id=decision.id))
    cap = svc.cap_on("art8_opener", today())
    return render_template("subsidies/rewards/opener.html", title=_("第八条一次性奖励：%(n)s", n=org.name), org=org,
                           form=form, live=live, evidence=svc.opener_evidence(org.id), cap=cap, **_ctx())


@bp.route("/demo/<int:decl_id>", methods=["GET", "POST"])
@permission_required("subsidies.decide")
def demo(decl_id: int):
    decl = get_or_404(DemoDeclaration, decl_id)
    tiers = svc.tiers_on(today())
    form = DemoForm()
    form.tier.choices = [(k, f"{k} · ¥{v:,.2f}") for k, v in tiers.items()]
    if not form.is_submitted() and decl.proposed_tier in tiers:
        form.tier.data = decl.proposed_tier
    if form.validate_on_submit():
        decision, ok = run_service(svc.decide_demo, current_user, decl, form.tier.data, form.reason.data, form=form, ok=_("已审定示范项目档次。"))
        if ok:
            return redirect(url_for("rewards.detail", decision_id=decision.id))
    from market.events.services import criteria

    return render_template("subsidies/rewards/demo.html", title=_("第九条示范项目审定：%(t)s", t=decl.title), decl=decl,
                           form=form, tiers=tiers, criteria=criteria(), **_ctx())


@bp.route("/data/new", methods=["GET", "POST"])
@permission_required("subsidies.decide")
def data_new():
    form = DataForm()
    orgs = db.session.execute(select(Organisation.id, Organisation.name).order_by(Organisation.name)).all()
    form.organisation_id.choices = [(i, n) for i, n in orgs]
    if form.validate_on_submit():
        org = get_or_404(Organisation, form.organisation_id.data)
        decision, ok = run_service(svc.decide_data, current_user, org, form.project_title.data, form.amount_cny.data,
                                   form.evaluation.data, form=form, ok=_("已审定公共数据项目奖励。"))
        if ok:
            return redirect(url_for("rewards.detail", decision_id=decision.id))
    return render_template("subsidies/rewards/data.html", title=_("第十三条公共数据项目奖励"), form=form,
                           cap=svc.cap_on("art13_data", today()), **_ctx())


@bp.get("/<int:decision_id>")
@permission_required("subsidies.view")
def detail(decision_id: int):
    decision = svc.get_decision(decision_id)
    require(current_user, "subsidies.view", decision)
    return render_template("subsidies/rewards/detail.html", title=_("补贴审定"), d=decision, form=RevokeForm(), **_ctx())


@bp.post("/<int:decision_id>/revoke")
@permission_required("subsidies.decide")
def revoke(decision_id: int):
    decision = svc.get_decision(decision_id)
    form = RevokeForm()
    if not form.validate_on_submit():
        flash(_("请写明撤销理由。"), "danger")
        return redirect(url_for("rewards.detail", decision_id=decision.id))
    # a redirect follows: an error is flashed, not put on a form that will not be shown again
    run_service(svc.revoke, current_user, decision, form.reason.data, ok=_("已撤销该决定。"))
    return redirect(url_for("rewards.detail", decision_id=decision_id))
