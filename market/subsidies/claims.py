"""The claims workflow (issue 10): 申报 → review → 公示 with objections → award list → payments.

Services flush and never commit (the view, CLI command or scheduled job commits); every state change
is audited and notified to the organisation's admins (and, where work waits on them, to district
staff). The engine is called through its public functions (``services.results_for``,
``services.as_contract``); a claim freezes the result at filing and later ledger changes are shown as
a difference (:func:`snapshot_diff`), never applied.

Statuses::

    filed ─approve/adjust→ approved ─open_notice→ in_notice ─close (no open objection)→ noticed
      │  └reject→ rejected                         │ objection upheld → filed (back to review)
      └withdraw→ withdrawn (also from approved)    noticed ─finalise→ finalised ─payments=approved→ paid

The declaration of other subsidies for the same items (closing clause: the most favourable applies,
not more than one) is recorded as the organisation's declared other subsidies for the rule and year
(``ExternalSubsidy``), which is what the engine reads (``ledger.services.declared_subsidies``): the
amount frozen at filing is computed after the declaration, so the best-of decides with it.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from market import audit
from market.deals.common import clock, get_for_update, require_text, serialise_writes
from market.domain.localtime import local_date
from market.domain.localtime import today as local_today
from market.errors import Conflict, ValidationError
from market.extensions import db
from market.links import path_for
from market.money import parse_money
from market.notifications.services import district_staff, notify, org_admins
from market.permissions import require
from models.claims import (
    AwardList,
    AwardPayment,
    ClaimObjection,
    ClaimStatus,
    NoticeStatus,
    ObjectionStatus,
    PublicNotice,
    SubsidyClaim,
)
from models.organisations import ExternalSubsidy, Organisation
from models.users import Role

from . import parameters, services
from .claims_labels import rule_name
from .parameters import LEDGER_RULES
from .rules import Result

ZERO = Decimal("0.00")
MAX_DECLARATIONS = 20





def _audit_view(claim: SubsidyClaim) -> dict[str, Any]:
    """What the audit log keeps of a claim (the snapshot stays on the claim)."""
    return {
        "organisation_id": claim.organisation_id, "year": claim.year, "rule": claim.rule, "status": str(claim.status),
        "computed_cny": str(claim.computed_cny),
        "approved_cny": None if claim.approved_cny is None else str(claim.approved_cny),
        "decision_reason": claim.decision_reason, "notice_id": claim.notice_id, "award_list_id": claim.award_list_id,
    }


def _tell_org(claim: SubsidyClaim, kind: str, title: Any, body: Any = "") -> None:
    notify(org_admins(claim.organisation_id), kind, title, body, path_for("subsidy_claims.claim", claim_id=claim.id))


def _lock(claim: SubsidyClaim) -> SubsidyClaim:
    return get_for_update(SubsidyClaim, claim.id, _("找不到该申报。"))


def _require_status(claim: SubsidyClaim, *allowed: str) -> None:
    if claim.status not in allowed:
        raise Conflict(_("该申报当前状态不允许此操作。"))


# ---------------------------------------------------------------- the frozen calculation
def snapshot_of(result: Result, refs: dict[int, str]) -> dict[str, Any]:
    """The result as CONTRACT.md shapes it, plus its lines, exclusions, choices, rates, cap and version."""
    snap = services.as_contract(result, refs)
    snap.update({
        "article": result.article,
        "uncapped_cny": services.money(result.uncapped),
        "cap_cny": services.money(result.cap),
        "rates": [[v, str(r)] for v, r in result.rates],
        "versions": list(result.versions),
        "lines": [{"entry_id": ln.entry_id, "ref": ln.ref, "amount_cny": services.money(ln.amount),
                   "paid_at": ln.paid_at.isoformat(), "version": ln.version} for ln in result.lines],
        # the codes are what a screen translates; reason, message and why keep the contract's shape and words
        "exclusions": [{"entry_id": e.entry_id, "ref": e.ref, "amount_cny": services.money(e.amount),
                        "paid_at": e.paid_at.isoformat(), "reason": e.reason, "message": e.message,
                        "codes": list(e.reasons), "missing": list(e.missing),
                        "detail": "" if e.missing else e.detail}
                       for e in result.exclusions],
        "choices": [{"ref": c.ref, "winner": c.winner, "ours_cny": services.money(c.ours),
                     "other_cny": services.money(c.other), "source": c.source, "why": c.why} for c in result.choices],
    })
    return snap


def current_result(org_id: int, year: int, rule: str) -> Result | None:
    return next((r for r in services.results_for(org_id, year) if r.rule == rule), None)


@dataclass
class Diff:
    """What changed between the frozen snapshot and a computation now."""

    amount_then: Decimal
    amount_now: Decimal
    added: list[dict[str, Any]] = field(default_factory=list)  # lines now that were not then
    removed: list[dict[str, Any]] = field(default_factory=list)  # lines then that are not now
    changed: list[dict[str, Any]] = field(default_factory=list)  # same entry, another amount

    @property
    def any(self) -> bool:
        return bool(self.added or self.removed or self.changed or self.amount_then != self.amount_now)


def snapshot_diff(claim: SubsidyClaim) -> Diff:
    result = current_result(claim.organisation_id, claim.year, claim.rule)
    now = snapshot_of(result, services.org_refs()) if result is not None else {"lines": [], "amount_cny": "0.00"}
    then_lines = {ln["entry_id"]: ln for ln in claim.snapshot.get("lines", [])}
    now_lines = {ln["entry_id"]: ln for ln in now["lines"]}
    diff = Diff(Decimal(claim.snapshot.get("amount_cny", "0.00")), Decimal(now["amount_cny"]))
    diff.added = [now_lines[i] for i in now_lines if i not in then_lines]
    diff.removed = [then_lines[i] for i in then_lines if i not in now_lines]
    diff.changed = [{"ref": now_lines[i]["ref"], "then": then_lines[i]["amount_cny"], "now": now_lines[i]["amount_cny"]}
                    for i in now_lines if i in then_lines and now_lines[i]["amount_cny"] != then_lines[i]["amount_cny"]]
    return diff


# ---------------------------------------------------------------- filing (申报)
def claim_years(now: dt.datetime | None = None) -> tuple[int, int]:
    """The years an organisation may file for: this Beijing year and the last."""
    year = local_today(now).year
    return year, year - 1


@dataclass
class Entitlement:
    year: int
    rule: str
    result: Result | None
    claim: SubsidyClaim | None  # the live claim, if any

    @property
    def amount(self) -> Decimal:
        return self.result.amount if self.result is not None else ZERO


_LIVE = SubsidyClaim.status.not_in([ClaimStatus.REJECTED, ClaimStatus.WITHDRAWN])


def live_claim(org_id: int, year: int, rule: str) -> SubsidyClaim | None:
    return db.session.execute(select(SubsidyClaim).where(
        SubsidyClaim.organisation_id == org_id, SubsidyClaim.year == year, SubsidyClaim.rule == rule,
        _LIVE)).scalar_one_or_none()


def live_claims(org_id: int, years: Iterable[int]) -> dict[tuple[int, str], SubsidyClaim]:
    """The organisation's live claims of those years by (year, rule): one query for a whole page."""
    rows = db.session.execute(select(SubsidyClaim).where(
        SubsidyClaim.organisation_id == org_id, SubsidyClaim.year.in_(list(years)), _LIVE)).scalars()
    return {(c.year, c.rule): c for c in rows}


def entitlements(org_id: int, now: dt.datetime | None = None) -> list[Entitlement]:
    """Per year (this and last) and ledger rule: the engine's amount and the live claim.

    Only the rules the organisation has ledger entries or a claim under: a university that only rents out
    instruments sees its art. 7 provider line, not three ¥0.00 lines for sides it never takes."""
    out = []
    years = claim_years(now)
    claims = live_claims(org_id, years)
    for year in years:
        results = {r.rule: r for r in services.results_for(org_id, year)}
        for rule in LEDGER_RULES:
            result, claim = results.get(rule), claims.get((year, rule))
            if result is not None or claim is not None:
                out.append(Entitlement(year, rule, result, claim))
    return out


def _declarations(rows: list[dict[str, Any]]) -> list[dict[str, str]]:
    found = []
    for n, row in enumerate(rows[:MAX_DECLARATIONS]):
        source = (row.get("source") or "").strip()
        amount_raw = str(row.get("amount_cny") or "").strip()
        item = (row.get("item") or "").strip()
        if not source and not amount_raw and not item:
            continue
        if not source:
            raise ValidationError(_("请填写其他补贴的名称（来源）。"), f"declarations-{n}-source")
        amount = parse_money(amount_raw, f"declarations-{n}-amount_cny")
        found.append({"source": source[:200], "amount_cny": str(amount), "item": item[:200] or None})
    return found


def file_claim(user: Any, org: Organisation, year: int, rule: str, declarations: list[dict[str, Any]] | None = None,
               *, now: dt.datetime | None = None) -> SubsidyClaim:
    """File a claim for ``org``'s ``rule`` in ``year`` with the engine's amount, declaring the other
    subsidies received for the same items (none: an empty list)."""
    require(user, "subsidies.claim", org)
    now = clock(now)
    serialise_writes()  # SQLite: the check for a live claim and the insert are one writer's (PostgreSQL: the index)
    if rule not in LEDGER_RULES:
        raise ValidationError(_("未知的补贴条款。"), "rule")
    if year not in claim_years(now):
        raise ValidationError(_("只能申报本年度或上一年度的补贴。"), "year")
    declared = _declarations(declarations or [])
    if live_claim(org.id, year, rule) is not None:
        raise Conflict(_("该机构本年度此条款已有申报。"))
    # the declaration replaces what earlier (rejected or withdrawn) filings of this rule declared
    earlier = db.session.execute(select(SubsidyClaim.declaration).where(
        SubsidyClaim.organisation_id == org.id, SubsidyClaim.year == year, SubsidyClaim.rule == rule)).scalars()
    stale = [i for d in earlier for i in (d or {}).get("external_subsidy_ids", [])]
    for old in db.session.execute(select(ExternalSubsidy).where(ExternalSubsidy.id.in_(stale))).scalars():
        db.session.delete(old)
    rows = [ExternalSubsidy(organisation_id=org.id, rule=rule, year=year, amount_cny=Decimal(d["amount_cny"]),
                            source=d["source"], item=d["item"] or _("（全年同一事项）"), declared_in="claim")
            for d in declared]
    db.session.add_all(rows)
    db.session.flush()  # the engine reads the declaration: the best-of decides with it
    result = current_result(org.id, year, rule)
    if result is None or result.amount <= 0:
        if declared and result is not None and any(c.winner == "other" for c in result.choices):
            raise ValidationError(_("已申报的其他补贴不低于本条款金额，按最优执行、不重复执行：本条款无可申报金额。"),
                                  "declarations")
        raise ValidationError(_("该条款本年度没有可申报的补贴金额。"), "rule")
    claim = SubsidyClaim(
        organisation_id=org.id, year=year, rule=rule, status=ClaimStatus.FILED, computed_cny=result.amount,
        snapshot=snapshot_of(result, services.org_refs()),
        declaration={"none": not declared, "items": declared, "external_subsidy_ids": [r.id for r in rows]},
        filed_by_id=user.id, filed_at=now,
    )
    try:
        with db.session.begin_nested():
            db.session.add(claim)
            db.session.flush()
    except IntegrityError:
        raise Conflict(_("该机构本年度此条款已有申报。")) from None
    audit.record(user, "subsidy_claim.file", claim, after=_audit_view(claim) | {"declaration": declared})
    title = _l("补贴申报已提交：%(year)s年度 %(rule)s", year=year, rule=rule_name(rule))
    _tell_org(claim, "subsidy_claim.filed", title, _l("申报金额 ¥%(amount)s，等待新区审核。", amount=f"{claim.computed_cny:,.2f}"))
    notify(district_staff(Role.DISTRICT_REVIEWER), "subsidy_claim.filed",
           _l("新的补贴申报待审核：%(org)s", org=org.name), title, path_for("subsidy_claims.claim", claim_id=claim.id))
    return claim


def withdraw(user: Any, claim: SubsidyClaim, *, now: dt.datetime | None = None) -> SubsidyClaim:
    require(user, "subsidies.claim", claim)
    claim = _lock(claim)
    _require_status(claim, ClaimStatus.FILED, ClaimStatus.APPROVED)
    before = _audit_view(claim)
    claim.status = ClaimStatus.WITHDRAWN
    db.session.flush()
    audit.record(user, "subsidy_claim.withdraw", claim, before, _audit_view(claim))
    _tell_org(claim, "subsidy_claim.withdrawn", _l("补贴申报已撤回：%(year)s年度 %(rule)s", year=claim.year, rule=rule_name(claim.rule)))
    return claim


# ---------------------------------------------------------------- review
def decide(user: Any, claim: SubsidyClaim, decision: str, *, amount: Any = None, reason: str | None = None,
           now: dt.datetime | None = None) -> SubsidyClaim:
    """``approve`` (the computed amount), ``adjust`` (another amount, with a reason) or ``reject`` (with a reason)."""
    require(user, "subsidies.review", claim)
    now = clock(now)
    claim = _lock(claim)
    _require_status(claim, ClaimStatus.FILED)
    before = _audit_view(claim)
    if decision == "approve":
        claim.status, claim.approved_cny = ClaimStatus.APPROVED, claim.computed_cny
        claim.decision_reason = (reason or "").strip() or None
    elif decision == "adjust":
        value = parse_money(amount, "amount", allow_zero=True)  # zero: say "reject" instead
        why = require_text(reason, "reason", _("调整理由"))
        if value <= 0:
            raise ValidationError(_("核定金额须大于零；不予支持请选择驳回。"), "amount")
        if value > claim.computed_cny:  # the rules' amount is the most the policy pays; a wrong one is mended in the ledger
            raise ValidationError(_("核定金额不能高于按规则计算的金额 ¥%(computed)s；计算有误时，请先更正台账记录后重新申报。",
                                    computed=f"{claim.computed_cny:,.2f}"), "amount")
        cap = Decimal(claim.snapshot.get("cap_cny", "0"))
        if cap and value > cap:
            raise ValidationError(_("核定金额不能超过该条款的年度上限 ¥%(cap)s。", cap=f"{cap:,.2f}"), "amount")
        claim.status, claim.approved_cny, claim.decision_reason = ClaimStatus.APPROVED, value, why
    elif decision == "reject":
        claim.decision_reason = require_text(reason, "reason", _("驳回理由"))
        claim.status, claim.approved_cny = ClaimStatus.REJECTED, None
    else:
        raise ValidationError(_("未知的审核决定。"), "decision")
    claim.decided_by_id, claim.decided_at = user.id, now
    db.session.flush()
    audit.record(user, f"subsidy_claim.{decision}", claim, before, _audit_view(claim))
    if claim.status == ClaimStatus.REJECTED:
        _tell_org(claim, "subsidy_claim.rejected", _l("补贴申报未通过：%(year)s年度 %(rule)s", year=claim.year, rule=rule_name(claim.rule)),
                  claim.decision_reason or "")
    else:
        _tell_org(claim, "subsidy_claim.approved", _l("补贴申报审核通过：%(year)s年度 %(rule)s", year=claim.year, rule=rule_name(claim.rule)),
                  _l("核定金额 ¥%(amount)s，将进入公示。", amount=f"{claim.approved_cny:,.2f}"))
    return claim


# ---------------------------------------------------------------- the public notice (公示)
def open_notice(user: Any, year: int, *, now: dt.datetime | None = None) -> PublicNotice:
    """Put every approved claim of ``year`` into a new public notice of ``notice_days`` days."""
    require(user, "subsidies.review")
    now = clock(now)
    serialise_writes()
    claims = claims_in(year, ClaimStatus.APPROVED)
    if not claims:
        raise ValidationError(_("%(year)s年度没有待公示的已核定申报。", year=year), "year")
    days = parameters.default().notice_days
    notice = PublicNotice(year=year, title=_("%(year)s年度数实融合新赛道政策补贴拟支持名单公示", year=year),
                          starts_at=now, ends_at=now + dt.timedelta(days=days), status=NoticeStatus.OPEN,
                          opened_by_id=user.id)
    db.session.add(notice)
    db.session.flush()
    for claim in claims:
        before = _audit_view(claim)
        claim.status, claim.notice_id = ClaimStatus.IN_NOTICE, notice.id
        audit.record(user, "subsidy_claim.noticed", claim, before, _audit_view(claim))
    db.session.flush()
    audit.record(user, "subsidy_notice.open", notice, after=audit.snapshot(notice))
    for claim in claims:
        _tell_org(claim, "subsidy_notice.opened", _l("补贴申报进入公示：%(title)s", title=notice.title),
                  _l("公示期 %(days)s 天，期间任何登录用户可以提出异议。", days=days))
    return notice


def file_objection(user: Any, notice: PublicNotice, claim: SubsidyClaim, text: str, *,
                   now: dt.datetime | None = None) -> ClaimObjection:
    require(user, "subsidies.object", claim)
    now = clock(now)
    if notice.status != NoticeStatus.OPEN or not notice.starts_at <= now < notice.ends_at:
        raise Conflict(_("公示期已结束，不能再提出异议。"))
    if claim.notice_id != notice.id or claim.status != ClaimStatus.IN_NOTICE:
        raise ValidationError(_("该申报不在本次公示中。"), "claim_id")
    objection = ClaimObjection(notice_id=notice.id, claim_id=claim.id, filed_by_id=user.id,
                               text=require_text(text, "text", _("异议内容")), filed_at=now, status=ObjectionStatus.OPEN)
    db.session.add(objection)
    db.session.flush()
    audit.record(user, "subsidy_objection.file", objection, after=audit.snapshot(objection))
    org_name = claim.organisation.name
    notify(district_staff(Role.DISTRICT_REVIEWER), "subsidy_objection.filed", _l("公示异议待处理：%(org)s", org=org_name),
           objection.text, path_for("subsidy_claims.claim", claim_id=claim.id))
    _tell_org(claim, "subsidy_objection.filed", _l("您的补贴申报在公示期收到异议"), _l("新区审核人员将核实处理。"))
    return objection


def resolve_objection(user: Any, objection: ClaimObjection, decision: str, resolution: str, *,
                      now: dt.datetime | None = None) -> ClaimObjection:
    """``uphold`` (the claim leaves the notice, back to review) or ``dismiss`` (it stays)."""
    require(user, "subsidies.review", objection)
    now = clock(now)
    objection = get_for_update(ClaimObjection, objection.id, _("找不到该异议。"))
    if objection.status != ObjectionStatus.OPEN:
        raise Conflict(_("该异议已处理。"))
    if decision not in ("uphold", "dismiss"):
        raise ValidationError(_("未知的处理决定。"), "decision")
    before = audit.snapshot(objection)
    objection.resolution = require_text(resolution, "resolution", _("处理意见"))
    objection.status = ObjectionStatus.UPHELD if decision == "uphold" else ObjectionStatus.DISMISSED
    objection.resolved_by_id, objection.resolved_at = user.id, now
    claim = _lock(objection.claim)
    claim_before = _audit_view(claim)
    if decision == "uphold" and claim.status == ClaimStatus.IN_NOTICE:
        claim.status, claim.notice_id, claim.approved_cny = ClaimStatus.FILED, None, None
    db.session.flush()
    if decision == "dismiss":
        _settle_if_closed(user, claim, now)
    audit.record(user, f"subsidy_objection.{decision}", objection, before, audit.snapshot(objection))
    if claim_before != _audit_view(claim):
        audit.record(user, "subsidy_claim.objection_upheld" if decision == "uphold" else "subsidy_claim.notice_passed",
                     claim, claim_before, _audit_view(claim))
    words = _l("异议成立，申报退回重新审核") if decision == "uphold" else _l("异议不成立，申报继续公示")
    _tell_org(claim, f"subsidy_objection.{decision}", words, objection.resolution)
    if objection.filed_by is not None:
        notify(objection.filed_by, f"subsidy_objection.{decision}", _l("您提出的公示异议已处理"), objection.resolution,
               path_for("subsidy_claims.notice", notice_id=objection.notice_id))
    return objection


def _open_objections(claim_id: int) -> int:
    return db.session.execute(select(func.count(ClaimObjection.id)).where(
        ClaimObjection.claim_id == claim_id, ClaimObjection.status == ObjectionStatus.OPEN)).scalar_one()


def _settle_if_closed(actor: Any, claim: SubsidyClaim, now: dt.datetime) -> bool:
    """A claim in a closed notice without open objections has passed its notice."""
    notice = claim.notice
    if claim.status != ClaimStatus.IN_NOTICE or notice is None or notice.status != NoticeStatus.CLOSED:
        return False
    if _open_objections(claim.id):
        return False
    claim.status = ClaimStatus.NOTICED
    db.session.flush()
    return True


def close_due_notices(actor: Any = "scheduler", *, now: dt.datetime | None = None) -> list[PublicNotice]:
    """Close every open notice whose period has ended: its claims without an open objection become
    ``noticed``; those with one stay ``in_notice`` until it is resolved. Idempotent."""
    now = clock(now)
    due = list(db.session.execute(select(PublicNotice).where(
        PublicNotice.status == NoticeStatus.OPEN, PublicNotice.ends_at <= now).order_by(PublicNotice.id)).scalars())
    for notice in due:
        notice = get_for_update(PublicNotice, notice.id)
        if notice.status != NoticeStatus.OPEN:
            continue  # another run got there first
        before = audit.snapshot(notice)
        notice.status, notice.closed_at = NoticeStatus.CLOSED, now
        db.session.flush()
        audit.record(actor, "subsidy_notice.close", notice, before, audit.snapshot(notice))
        passed = 0
        for claim in list(notice.claims):
            claim_before = _audit_view(claim)
            if _settle_if_closed(actor, claim, now):
                passed += 1
                audit.record(actor, "subsidy_claim.notice_passed", claim, claim_before, _audit_view(claim))
                _tell_org(claim, "subsidy_notice.passed", _l("补贴申报公示期满无异议"), _l("等待新区确定最终拨付名单。"))
        if passed:  # the admin has an award list to finalise
            notify(district_staff(Role.DISTRICT_ADMIN), "subsidy_notice.closed",
                   _l("补贴公示期满：%(title)s", title=notice.title),
                   _l("%(n)s 项申报公示期满，可以确定拨付名单。", n=passed), path_for("subsidy_claims.index"))
    return due


# ---------------------------------------------------------------- the award list and payments
def finalise(user: Any, year: int, *, now: dt.datetime | None = None) -> AwardList:
    require(user, "subsidies.finalise")
    now = clock(now)
    serialise_writes()
    claims = claims_in(year, ClaimStatus.NOTICED)
    if not claims:
        raise ValidationError(_("%(year)s年度没有公示期满的申报，不能确定拨付名单。", year=year), "year")
    award = AwardList(year=year, finalised_by_id=user.id, finalised_at=now)
    db.session.add(award)
    db.session.flush()
    for claim in claims:
        before = _audit_view(claim)
        claim.status, claim.award_list_id = ClaimStatus.FINALISED, award.id
        audit.record(user, "subsidy_claim.finalise", claim, before, _audit_view(claim))
    db.session.flush()
    audit.record(user, "award_list.finalise", award, after=audit.snapshot(award))
    for claim in claims:
        _tell_org(claim, "subsidy_claim.finalised", _l("补贴已列入%(year)s年度拨付名单", year=year),
                  _l("核定金额 ¥%(amount)s，将按名单拨付。", amount=f"{claim.approved_cny:,.2f}"))
    return award


def record_payment(user: Any, claim: SubsidyClaim, amount: Any, paid_on: dt.date, reference: str, *,
                   now: dt.datetime | None = None) -> AwardPayment:
    """Record one payment of a finalised award; the total never exceeds the approved amount."""
    require(user, "subsidies.finalise", claim)
    now = clock(now)
    claim = _lock(claim)
    _require_status(claim, ClaimStatus.FINALISED)
    value = parse_money(amount, "amount_cny")
    if paid_on is None or paid_on > local_today(now):
        raise ValidationError(_("拨付日期不能晚于今天。"), "paid_on")
    listed = claim.award_list.finalised_at if claim.award_list is not None else None
    if listed is not None and paid_on < local_date(listed):  # a payment follows the award list it pays
        raise ValidationError(_("拨付日期不能早于拨付名单确定的日期（%(day)s）。", day=local_date(listed).isoformat()), "paid_on")
    paid = db.session.execute(select(func.coalesce(func.sum(AwardPayment.amount_cny), 0))
                              .where(AwardPayment.claim_id == claim.id)).scalar_one()
    paid = Decimal(paid).quantize(Decimal("0.01"))
    approved = claim.approved_cny or ZERO
    if paid + value > approved:
        raise ValidationError(_("拨付总额不能超过核定金额：尚可拨付 ¥%(left)s。", left=f"{approved - paid:,.2f}"), "amount_cny")
    payment = AwardPayment(claim_id=claim.id, amount_cny=value, paid_on=paid_on,
                           reference=require_text(reference, "reference", _("拨付凭证号"), 100), recorded_by_id=user.id,
                           recorded_at=now)
    db.session.add(payment)
    db.session.flush()
    audit.record(user, "award_payment.record", payment, after=audit.snapshot(payment))
    if paid + value == approved:
        before = _audit_view(claim)
        claim.status = ClaimStatus.PAID
        db.session.flush()
        audit.record(user, "subsidy_claim.paid", claim, before, _audit_view(claim))
    _tell_org(claim, "award_payment.recorded", _l("补贴已拨付 ¥%(amount)s", amount=f"{value:,.2f}"),
              _l("凭证号 %(ref)s，拨付日期 %(day)s。", ref=payment.reference, day=paid_on.isoformat()))
    return payment


# ---------------------------------------------------------------- reading
def claims_of(org_id: int) -> list[SubsidyClaim]:
    return list(db.session.execute(select(SubsidyClaim).where(SubsidyClaim.organisation_id == org_id)
                                   .order_by(SubsidyClaim.year.desc(), SubsidyClaim.id.desc())).scalars())


def all_claims(status: str | None = None, year: int | None = None) -> list[SubsidyClaim]:
    stmt = select(SubsidyClaim).order_by(SubsidyClaim.filed_at, SubsidyClaim.id)
    if status:
        stmt = stmt.where(SubsidyClaim.status == status)
    if year:
        stmt = stmt.where(SubsidyClaim.year == year)
    return list(db.session.execute(stmt).scalars())


def notices(public_only: bool = True) -> list[PublicNotice]:
    return list(db.session.execute(select(PublicNotice).order_by(PublicNotice.starts_at.desc(), PublicNotice.id.desc()))
                .scalars())


def award_lists() -> list[AwardList]:
    return list(db.session.execute(select(AwardList).order_by(AwardList.finalised_at.desc())).scalars())


def award_batches(lists: list[AwardList]) -> dict[int, int]:
    """Which of its year's lists each is (1 for the first), from every list (``award_lists``): no query."""
    out: dict[int, int] = {}
    seen: dict[int, int] = defaultdict(int)
    for a in sorted(lists, key=lambda a: a.id):
        seen[a.year] += 1
        out[a.id] = seen[a.year]
    return out


def award_batch(award: AwardList) -> int:
    """Which of its year's lists ``award`` is: two lists of one year are told apart by it."""
    return db.session.execute(select(func.count(AwardList.id)).where(
        AwardList.year == award.year, AwardList.id <= award.id)).scalar_one()


def claims_in(year: int, status: str) -> list[SubsidyClaim]:
    """The year's claims in ``status``, in filing order (what a notice or an award list takes in)."""
    return list(db.session.execute(select(SubsidyClaim).where(
        SubsidyClaim.year == year, SubsidyClaim.status == status).order_by(SubsidyClaim.id)).scalars())


def years_with(status: str) -> list[int]:
    return list(db.session.execute(select(SubsidyClaim.year).where(SubsidyClaim.status == status).distinct()
                                   .order_by(SubsidyClaim.year.desc())).scalars())


def open_objections() -> list[ClaimObjection]:
    return list(db.session.execute(select(ClaimObjection).where(ClaimObjection.status == ObjectionStatus.OPEN)
                                   .order_by(ClaimObjection.filed_at)).scalars())


__all__ = ["file_claim", "withdraw", "decide", "open_notice", "file_objection", "resolve_objection",
           "close_due_notices", "finalise", "record_payment", "snapshot_diff", "snapshot_of", "entitlements",
           "Diff", "Entitlement"]
