"""Admin-decided rewards (POLICY.md interpretation 7): the platform gathers the evidence, records the
decision and its reviewer, and enforces the cap and the one-time rule.

* ``art8_opener`` (art. 8): a one-time reward to a leading firm that opened scenarios to in-district
  SMEs — once per firm, ever (here and by the partial unique index ``uq_reward_decision_opener_once``),
  at most the cap of the parameter version in force on the decision date.
* ``art9_demo`` (art. 9): the tier of a graded demonstration project handed off by the events feature
  (``DemoDeclaration`` in ``handed_off``); the amount is the tier's parameter amount (≤ the cap); the
  declaration moves to ``decided``.
* ``art13_data`` (art. 13): a public-data value-added project's award, set after a performance
  evaluation; capped only when the parameter sets a cap.

A decision is never edited: :func:`revoke` records a revocation (who, when, why) on it and, for art. 9,
returns the declaration to ``handed_off`` so that it can be decided again. Figures come from
``parameters.yaml`` (the version in force on the Beijing date of the decision), never from code.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from market import audit
from market.db import get_or_404
from market.domain.localtime import local_date
from market.errors import Conflict, ValidationError
from market.extensions import db
from market.links import path_for
from market.money import parse_money
from market.notifications.services import notify, org_admins
from market.permissions import require
from models.deals import Bid, Contract
from models.events import DeclarationStatus, DemoDeclaration
from models.ledger import EntryKind, LedgerEntry
from models.listings import Listing, ListingKind, ListingStatus
from models.organisations import Organisation, OrgKind
from models.rewards import RewardDecision, RewardStatus

from . import parameters as parameters_mod
from .parameters import Parameters, Version

DECISION_RULES = ("art8_opener", "art9_demo", "art13_data")
ZERO = Decimal("0.00")


def _now(now: dt.datetime | None) -> dt.datetime:
    return now or dt.datetime.now(dt.UTC)


def version_on(rule_id: str, day: dt.date, params: Parameters | None = None) -> Version:
    """The parameter version of ``rule_id`` in force on ``day`` (a decision needs one)."""
    params = params or parameters_mod.default()
    version = params.rule(rule_id).version_on(day)
    if version is None or day < params.effective_from:
        raise ValidationError(_("决定日期 %(day)s 没有生效的条款参数。", day=day.isoformat()), "decided_on")
    return version


def cap_on(rule_id: str, day: dt.date, params: Parameters | None = None) -> Decimal | None:
    return version_on(rule_id, day, params).cap_cny


def _reason(text: str | None, field_name: str = "reason") -> str:
    text = (text or "").strip()
    if len(text) < 4:
        raise ValidationError(_("请写明决定理由或评价意见（至少4个字）。"), field_name)
    return text[:5000]


def _amount(raw: Any, cap: Decimal | None, field_name: str = "amount_cny") -> Decimal:
    amount = parse_money(raw, field_name)
    if cap is not None and amount > cap:
        raise ValidationError(_("金额不得超过本条款上限 ¥%(cap)s。", cap=f"{cap:,.2f}"), field_name)
    return amount


# ---------------------------------------------------------------- art. 8 evidence
@dataclass
class OpenerEvidence:
    """What the platform gathered about a leading firm opening scenarios (art. 8)."""

    scenarios: list[dict[str, Any]] = field(default_factory=list)  # published scenario listings
    smes: list[dict[str, Any]] = field(default_factory=list)  # organisations that bid or contracted
    deals: list[dict[str, Any]] = field(default_factory=list)  # complete ledger entries it paid on them
    deals_total: Decimal = ZERO
    in_district_smes: int = 0

    def summary(self) -> dict[str, Any]:
        """The figures frozen on the decision (JSON-ready)."""
        return {
            "scenarios": len(self.scenarios),
            "scenario_refs": [s["ref"] for s in self.scenarios],
            "smes_engaged": len(self.smes),
            "in_district_smes": self.in_district_smes,
            "deals": len(self.deals),
            "deal_refs": [d["ref"] for d in self.deals],
            "deals_total_cny": f"{self.deals_total:.2f}",
        }


def opener_evidence(org_id: int) -> OpenerEvidence:
    """Scenarios the firm published, the organisations engaged on them (bids, contracts), and the complete
    ledger entries it paid on scenario contracts."""
    from market.ledger.services import is_counted

    ev = OpenerEvidence()
    listings = db.session.execute(
        select(Listing).where(Listing.owner_id == org_id, Listing.kind == ListingKind.SCENARIO,
                              Listing.published_at.is_not(None),
                              Listing.status.in_([ListingStatus.PUBLISHED, ListingStatus.CLOSED, ListingStatus.ARCHIVED]))
        .order_by(Listing.published_at)).scalars().all()
    ids = [li.id for li in listings]
    bids: dict[int, int] = defaultdict(int)
    engaged: dict[int, set[str]] = defaultdict(set)
    if ids:
        for listing_id, bidder_id in db.session.execute(select(Bid.listing_id, Bid.bidder_id).where(Bid.listing_id.in_(ids))):
            bids[listing_id] += 1
            engaged[bidder_id].add("bid")
        for payee_id, in db.session.execute(select(Contract.payee_id).where(Contract.listing_id.in_(ids),
                                                                              Contract.payer_id == org_id)):
            engaged[payee_id].add("contract")
    ev.scenarios = [{"ref": li.ref, "title": li.title, "published_at": li.published_at, "status": li.status,
                     "in_district_only": li.in_district_only, "bids": bids.get(li.id, 0)} for li in listings]
    entries = db.session.execute(
        select(LedgerEntry).where(LedgerEntry.payer_id == org_id, LedgerEntry.kind == EntryKind.SCENARIO_CONTRACT)
        .order_by(LedgerEntry.paid_at)).scalars().all()
    for e in entries:
        if not is_counted(e):
            continue
        engaged[e.payee_id].add("paid")
        ev.deals.append({"ref": e.ref, "id": e.id, "payee_id": e.payee_id, "payee": e.payee.name,
                         "amount_cny": e.amount_cny, "paid_at": e.paid_at})
        ev.deals_total += e.amount_cny
    if ev.deals_total < 0:
        ev.deals_total = ZERO
    if engaged:
        orgs = db.session.execute(select(Organisation).where(Organisation.id.in_(list(engaged)))).scalars().all()
        for o in sorted(orgs, key=lambda o: o.name):
            sme = o.kind == OrgKind.SME or o.size in ("medium", "small", "micro")
            ev.smes.append({"id": o.id, "name": o.name, "in_district": o.in_district, "sme": sme,
                            "how": sorted(engaged[o.id])})
            ev.in_district_smes += int(sme and o.in_district)
    return ev


# ---------------------------------------------------------------- decisions
def live_opener(org_id: int) -> RewardDecision | None:
    return db.session.execute(select(RewardDecision).where(
        RewardDecision.rule == "art8_opener", RewardDecision.organisation_id == org_id,
        RewardDecision.status == RewardStatus.DECIDED)).scalar_one_or_none()


def _record(user: Any, decision: RewardDecision, conflict: str) -> RewardDecision:
    """Add and flush inside the guard that turns the one-time index into the service's Conflict."""
    db.session.add(decision)
    try:
        db.session.flush()
    except IntegrityError:  # the one-time index lost a race: 409, never 500 (DEVELOPING.md conflict guard)
        db.session.rollback()
        raise Conflict(conflict) from None
    audit.record(user, f"reward.decide_{decision.rule}", decision, None, audit.snapshot(decision))
    title = decision.project_title or parameters_mod.default().rule(decision.rule).title
    notify(org_admins(decision.organisation_id), "reward.decided",
           _l("补贴审定：%(title)s，金额 ¥%(amount)s", title=title, amount=f"{decision.amount_cny:,.2f}"),
           _l("决定理由：%(reason)s", reason=decision.reason),
           path_for("rewards.detail", decision_id=decision.id))
    return decision


def decide_opener(user: Any, org: Organisation, amount: Any, reason: str, *,
                  now: dt.datetime | None = None, params: Parameters | None = None) -> RewardDecision:
    """Art. 8: the one-time reward of a leading firm that opened scenarios to in-district SMEs."""
    require(user, "subsidies.decide")
    now = _now(now)
    day = local_date(now)
    if org.kind != OrgKind.LEADING_FIRM:
        raise ValidationError(_("第八条一次性奖励只适用于龙头企业。"), "organisation_id")
    version = version_on("art8_opener", day, params)
    amount = _amount(amount, version.cap_cny)
    reason = _reason(reason)
    if live_opener(org.id) is not None:  # art. 8: 一次性奖励, once per firm ever
        raise Conflict(_("该企业已获得第八条一次性奖励，不能重复奖励。"))
    evidence = opener_evidence(org.id)
    decision = RewardDecision(
        rule="art8_opener", organisation_id=org.id, project_title=None, amount_cny=amount,
        reason=reason, evidence=evidence.summary(), parameter_version=version.id, decided_on=day, decided_at=now,
        decided_by_id=user.id, status=RewardStatus.DECIDED)
    return _record(user, decision, _("该企业已获得第八条一次性奖励，不能重复奖励。"))


def tiers_on(day: dt.date, params: Parameters | None = None) -> dict[str, Decimal]:
    """Art. 9 tier → amount in force on ``day`` (each at most the cap)."""
    version = version_on("art9_demo", day, params)
    cap = version.cap_cny
    return {k: (min(v, cap) if cap is not None else v) for k, v in version.tiers.items()}


def decide_demo(user: Any, decl: DemoDeclaration, tier: str, reason: str, *,
                now: dt.datetime | None = None, params: Parameters | None = None) -> RewardDecision:
    """Art. 9: confirm or change the proposed tier of a handed-off demonstration project."""
    require(user, "subsidies.decide")
    now = _now(now)
    day = local_date(now)
    if decl.status != DeclarationStatus.HANDED_OFF:
        raise Conflict(_("只有已移交补贴审批的示范项目才能审定档次。"))
    version = version_on("art9_demo", day, params)
    tiers = tiers_on(day, params)
    if tier not in tiers:
        raise ValidationError(_("请选择参数中的档次。"), "tier")
    amount = tiers[tier]
    if version.cap_cny is not None and amount > version.cap_cny:  # art. 9: 最高50万元 (tiers_on caps already)
        amount = version.cap_cny
    reason = _reason(reason)  # also when the reviewer changes the proposed tier: the reason says why
    before = audit.snapshot(decl)
    decision = RewardDecision(
        rule="art9_demo", organisation_id=decl.organisation_id, declaration_id=decl.id, project_title=decl.title,
        tier=tier, amount_cny=amount, reason=reason, parameter_version=version.id, decided_on=day, decided_at=now,
        decided_by_id=user.id, status=RewardStatus.DECIDED,
        evidence={"proposed_tier": decl.proposed_tier, "proposed_amount_cny": str(decl.proposed_amount_cny or ""),
                  "total_score": decl.total_score, "scores": dict(decl.scores or {})})
    decl.status = DeclarationStatus.DECIDED
    _record(user, decision, _("该示范项目已审定，不能重复审定。"))
    audit.record(user, "demo_project.decided", decl, before, audit.snapshot(decl))
    return decision


def decide_data(user: Any, org: Organisation, project_title: str, amount: Any, evaluation: str, *,
                now: dt.datetime | None = None, params: Parameters | None = None) -> RewardDecision:
    """Art. 13: a public-data value-added project's award after performance evaluation."""
    require(user, "subsidies.decide")
    now = _now(now)
    day = local_date(now)
    version = version_on("art13_data", day, params)
    title = (project_title or "").strip()
    if not title:
        raise ValidationError(_("请填写项目名称。"), "project_title")
    amount = _amount(amount, version.cap_cny)
    evaluation = _reason(evaluation, "evaluation")
    decision = RewardDecision(
        rule="art13_data", organisation_id=org.id, project_title=title[:200], amount_cny=amount, reason=evaluation,
        parameter_version=version.id, decided_on=day, decided_at=now, decided_by_id=user.id,
        status=RewardStatus.DECIDED, evidence={})
    return _record(user, decision, _("保存失败，请重试。"))


def revoke(user: Any, decision: RewardDecision, reason: str, *, now: dt.datetime | None = None) -> RewardDecision:
    """Revoke a decision with a reason (the decision itself is kept as it was)."""
    require(user, "subsidies.decide")
    if decision.status != RewardStatus.DECIDED:
        raise Conflict(_("该决定已撤销。"))
    reason = _reason(reason)
    before = audit.snapshot(decision)
    decision.status = RewardStatus.REVOKED
    decision.revoked_at = _now(now)
    decision.revoked_by_id = user.id
    decision.revocation_reason = reason
    if decision.declaration is not None and decision.declaration.status == DeclarationStatus.DECIDED:
        decl_before = audit.snapshot(decision.declaration)
        decision.declaration.status = DeclarationStatus.HANDED_OFF  # back to the reviewer's queue
        audit.record(user, "demo_project.reopened", decision.declaration, decl_before, audit.snapshot(decision.declaration))
    db.session.flush()
    audit.record(user, "reward.revoke", decision, before, audit.snapshot(decision))
    notify(org_admins(decision.organisation_id), "reward.revoked",
           _l("补贴审定已撤销：%(title)s",
              title=decision.project_title or parameters_mod.default().rule(decision.rule).title),
           _l("撤销理由：%(reason)s", reason=reason), path_for("rewards.detail", decision_id=decision.id))
    return decision


# ---------------------------------------------------------------- reading
def get_decision(decision_id: int) -> RewardDecision:
    return get_or_404(RewardDecision, decision_id, _("找不到该补贴决定。"))


def decisions(rule: str | None = None, org_id: int | None = None) -> list[RewardDecision]:
    stmt = select(RewardDecision).order_by(RewardDecision.decided_at.desc(), RewardDecision.id.desc())
    if rule:
        stmt = stmt.where(RewardDecision.rule == rule)
    if org_id is not None:
        stmt = stmt.where(RewardDecision.organisation_id == org_id)
    return list(db.session.execute(stmt).scalars())


def pending_declarations() -> list[DemoDeclaration]:
    return list(db.session.execute(select(DemoDeclaration).where(DemoDeclaration.status == DeclarationStatus.HANDED_OFF)
                                   .order_by(DemoDeclaration.handed_off_at, DemoDeclaration.id)).scalars())


def leading_firms() -> list[tuple[Organisation, RewardDecision | None]]:
    """Every leading firm with its live art. 8 reward, if any."""
    firms = db.session.execute(select(Organisation).where(Organisation.kind == OrgKind.LEADING_FIRM)
                               .order_by(Organisation.name)).scalars().all()
    live = {d.organisation_id: d for d in decisions("art8_opener") if d.status == RewardStatus.DECIDED}
    return [(f, live.get(f.id)) for f in firms]


def decisions_in_year(org_id: int, year: int) -> list[RewardDecision]:
    """An organisation's decisions taken in ``year`` (Beijing date of the decision), live and revoked."""
    return list(db.session.execute(
        select(RewardDecision).where(RewardDecision.organisation_id == org_id,
                                     RewardDecision.decided_on >= dt.date(year, 1, 1),
                                     RewardDecision.decided_on <= dt.date(year, 12, 31))
        .order_by(RewardDecision.decided_on, RewardDecision.id)).scalars())


def decided_totals(year: int) -> dict[str, Decimal]:
    """Rule → the total of the live decisions taken in ``year`` (Beijing year of the decision date)."""
    first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)  # decided_on is the Beijing calendar day
    rows = db.session.execute(
        select(RewardDecision.rule, func.sum(RewardDecision.amount_cny))
        .where(RewardDecision.status == RewardStatus.DECIDED,
               RewardDecision.decided_on >= first, RewardDecision.decided_on <= last)
        .group_by(RewardDecision.rule))
    totals = dict.fromkeys(DECISION_RULES, ZERO)
    for rule, total in rows:
        totals[rule] = Decimal(total or 0).quantize(Decimal("0.01"))
    return totals


__all__ = ["decide_opener", "decide_demo", "decide_data", "revoke", "decided_totals", "opener_evidence",
           "tiers_on", "cap_on", "DECISION_RULES"]
