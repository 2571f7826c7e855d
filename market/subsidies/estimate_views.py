"""Subsidy estimates where decisions are made (booking, data application, bid pages) and the JSON
endpoint the pages' small script calls when the user changes the period or the price.

The words are built here once (:func:`estimate_text`) for the template and the JSON alike; the figures
come from :mod:`market.subsidies.estimates` (the engine's own rule functions).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import Blueprint, abort, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from market.domain.localtime import today
from market.errors import ValidationError
from market.extensions import db
from market.i18n import format_cny
from market.money import parse_money
from market.web import permission_required
from models.listings import Listing
from models.users import Role

from . import estimates, parameters
from .claims_labels import rule_label
from .estimates import Estimate

bp = Blueprint("subsidy_estimates", __name__, url_prefix="/subsidies")

MEMBER_ROLES = frozenset({Role.SME_MEMBER, Role.PROVIDER_MEMBER, Role.ORG_ADMIN})


def _pct(rate: Decimal | None) -> str:
    return "—" if rate is None else f"{(rate * 100).normalize():f}%"


def estimate_text(est: Estimate, listing_kind: str) -> str:
    """The sentence the page shows (Chinese source, translated)."""
    if not est.eligible:
        reasons = _("；").join(_(w) for w in est.reason_words)
        # the rule named: on a page citing another article (a data application, art. 13) "本条款" read as that one
        return _("本次交易预计不能按%(rule)s获得补贴：%(reasons)s。", rule=rule_label(est.rule), reasons=reasons)
    if est.remaining <= 0:
        return _("今年补贴已达上限 %(cap)s，本次交易不再增加补贴。", cap=format_cny(est.cap))
    if est.amount is None:
        return _("费用确定后按费用的%(rate)s计算补贴，今年剩余额度 %(y)s", rate=_pct(est.rate), y=format_cny(est.remaining))
    if listing_kind == "scenario":
        return _("本项目预计可获补贴 %(x)s（按合同金额的%(rate)s），今年剩余额度 %(y)s",
                 x=format_cny(est.amount), rate=_pct(est.rate), y=format_cny(est.remaining))
    return _("本次租用预计可获补贴 %(x)s，今年剩余额度 %(y)s", x=format_cny(est.amount), y=format_cny(est.remaining))


def subsidy_estimate(listing: Listing, amount: Any = None) -> dict[str, Any] | None:
    """For templates: the logged-in member's estimate on ``listing`` (None for visitors and district staff)."""
    user = current_user
    if not getattr(user, "is_authenticated", False) or user.role not in MEMBER_ROLES or user.organisation_id is None:
        return None
    value = Decimal(amount) if amount not in (None, "") else None
    est = estimates.for_listing(user.organisation_id, listing, value)
    if est is None:
        return None
    return {"estimate": est, "text": estimate_text(est, listing.kind), "amount": value}


PROVIDER_KINDS = frozenset({"university", "institute", "leading_firm"})


def provider_standing_for(org: Any) -> estimates.Standing | None:
    """For the deals dashboard: a university's, institute's or leading firm's art7_provider figure this year."""
    if org is None or org.kind not in PROVIDER_KINDS:
        return None
    return estimates.provider_standing(org.id, today().year)


def engine_answer_for(entry: Any) -> list[dict[str, Any]]:
    """For the ledger entry page: per side, the rule it counts under and its contribution, or the
    exclusions with their reasons in words (the engine's answer, beside the ledger's completeness)."""
    from .rules import EVIDENCE_WORDS, REASON_WORDS

    params = parameters.default()
    out = []
    for ans in estimates.entry_answer(entry, params):
        org = entry.payer if ans.side == "payer" else entry.payee
        excluded = []
        for (rule_id, codes, detail), missing in zip(ans.reasons, ans.missing, strict=True):
            words = [_(REASON_WORDS.get(c, c)) for c in codes]
            # the missing evidence by its codes in the reader's language (the engine's detail holds Chinese words)
            shown = _("、").join(_(EVIDENCE_WORDS.get(m, m)) for m in missing) if missing else detail
            excluded.append({"rule": rule_id, "title": rule_label(rule_id), "codes": codes,
                             "words": _("；").join(words) + (_("：") + shown if shown else "")})
        out.append({"side": ans.side, "org": org, "rule": ans.rule,
                    "title": rule_label(ans.rule) if ans.rule else "",
                    "contribution": ans.contribution, "excluded": excluded})
    return out


def reward_decisions_for(org_id: int, year: int) -> list[Any]:
    """For the calculation sheet: the organisation's admin-decided rewards of the year."""
    from .rewards import decisions_in_year

    return decisions_in_year(org_id, year)


def _amount_arg() -> Decimal | None:
    """The amount as typed (``38万``, ``380,000``: :func:`market.money.parse_money`), or None when none is given;
    a :class:`ValidationError` saying what is accepted otherwise."""
    raw = (request.args.get("amount") or "").strip()
    return parse_money(raw, "amount", allow_zero=True) if raw else None


@bp.get("/estimate/<ref>")
@permission_required("subsidies.estimate")
def estimate(ref: str):
    """GET /subsidies/estimate/REF?amount=X → the estimate as JSON (with the sentence)."""
    listing = db.session.execute(select(Listing).where(Listing.ref == ref)).scalar_one_or_none()
    if listing is None or current_user.organisation_id is None:
        abort(404)
    if listing.status != "published" and listing.owner_id != current_user.organisation_id:
        abort(404)
    try:
        amount = _amount_arg()
    except ValidationError as err:
        # the sentence the box shows while the amount cannot be read (a live preview, so not an error status:
        # the form itself refuses the amount, with the same words, when it is sent)
        return jsonify({"text": err.message, "amount_problem": True})
    est = estimates.for_listing(current_user.organisation_id, listing, amount)
    if est is None:
        abort(404)
    return jsonify({**est.as_json(), "text": estimate_text(est, listing.kind)})
