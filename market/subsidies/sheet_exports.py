"""The calculation sheet (计算明细) as a download: XLSX, CSV and a Chinese PDF through ``market.exports``.

One table, every rule of the organisation's year: per rule a summary row (base, rate, amount before the
cap, cap, whether it bit, amount, parameter version), then the entries that make up the base, the
exclusions with their reasons in words, and the best-of choices with why — the same content as the page.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from flask import Blueprint, abort
from flask_babel import gettext as _
from flask_login import current_user

from market import exports
from market.exports import Column, Table
from market.extensions import db
from market.i18n import N_
from market.permissions import require
from market.web import permission_required
from models.organisations import Organisation

from . import parameters, services
from .claims_labels import choice_words, exclusion_words
from .parameters import Parameters
from .rules import Result

bp = Blueprint("subsidy_exports", __name__, url_prefix="/subsidies")

COLUMNS = [
    Column(N_("条款"), "rule", width=19),
    Column(N_("条款名称"), "title", width=22),
    Column(N_("行类型"), "row", width=10),
    Column(N_("台账编号"), "ref", width=12),
    Column(N_("付款时间（北京时间）"), "paid_at", "datetime"),
    Column(N_("金额（元）"), "amount", "money"),
    Column(N_("比例"), "rate", width=20),
    Column(N_("计算基数（元）"), "base", "money"),
    Column(N_("四舍五入后金额（元）"), "uncapped", "money"),
    Column(N_("上限（元）"), "cap", "money"),
    Column(N_("是否达到上限"), "capped", width=10),
    Column(N_("补贴金额（元）"), "subsidy", "money"),
    Column(N_("参数版本"), "parameters", width=17),
    Column(N_("原因或说明"), "note", width=30),
]


def _pct(rate) -> str:
    return f"{(rate * 100).normalize():f}%"


def _reasons(e) -> str:
    return exclusion_words(e.reasons, e.missing, e.detail) + f"（{e.reason}）"


def sheet_rows(results: Iterable[Result], params: Parameters) -> Iterator[dict[str, Any]]:
    """The sheet's rows: per rule a summary, its lines, exclusions and best-of choices."""
    for r in results:
        rule = params.rule(r.rule)
        head = {"rule": r.rule, "title": rule.title}
        rate = _("；").join(_("%(rate)s（%(version)s）", rate=_pct(rate), version=vid) for vid, rate in r.rates) or "—"
        cap = r.cap if r.cap.is_finite() else None
        yield {**head, "row": _("汇总"), "rate": rate, "base": r.base, "uncapped": r.uncapped, "cap": cap,
               "capped": _("是") if r.capped else _("否"), "subsidy": r.amount, "parameters": r.parameters,
               "note": _("第%(n)s条", n=r.article) + " " + rule.clause}
        for ln in r.lines:
            yield {**head, "row": _("计入"), "ref": ln.ref, "paid_at": ln.paid_at, "amount": ln.amount,
                   "parameters": ln.version}
        for e in r.exclusions:
            yield {**head, "row": _("排除"), "ref": e.ref, "paid_at": e.paid_at, "amount": e.amount, "note": _reasons(e)}
        for c in r.choices:
            yield {**head, "row": _("择优"), "ref": c.ref or _("全年"), "amount": c.ours,
                   "note": choice_words(c.ref, c.winner, c.ours, c.other, c.source)
                   + f"（{_('选择')}：{c.winner}；{_('其他补贴')} ¥{c.other:,.2f}）"}


def decision_rows(decisions: Iterable[Any], params: Parameters) -> Iterator[dict[str, Any]]:
    """The admin-decided rewards of the year (art. 8 opener, art. 9, art. 13): live and revoked."""
    for d in decisions:
        rule = params.rule(d.rule)
        revoked = d.status == "revoked"
        note = (d.project_title or rule.title) + (f"（{d.tier}）" if d.tier else "") + "：" + d.reason
        if revoked:
            note += f"；{_('已撤销')}：{d.revocation_reason}"
        yield {"rule": d.rule, "title": rule.title, "row": _("已撤销") if revoked else _("审定"),
               "cap": rule.version_on(d.decided_on).cap_cny if rule.version_on(d.decided_on) else None,
               "subsidy": None if revoked else d.amount_cny, "amount": d.amount_cny,
               "parameters": d.parameter_version, "note": note}


def sheet_table(org: Organisation, year: int, params: Parameters | None = None) -> Table:
    from itertools import chain

    from .rewards import decisions_in_year

    params = params or parameters.default()
    title = _("补贴计算明细") + f"：{org.name} · {year}"
    rows = chain(sheet_rows(services.results_for(org.id, year, params), params),
                 decision_rows(decisions_in_year(org.id, year), params))
    return Table(title, COLUMNS, rows)


@bp.get("/<int:org_id>/<int:year>/export.<fmt>")
@permission_required("subsidies.view")
def sheet_export(org_id: int, year: int, fmt: str):
    fmt = exports.require_format(fmt)
    org = db.session.get(Organisation, org_id)
    if org is None or not 2000 <= year <= 2100:
        abort(404)
    require(current_user, "subsidies.view", org)
    table = sheet_table(org, year)
    return exports.download(fmt, table, filename=f"{_('补贴计算明细')}-{org.ref or org.id}-{year}",
                            fallback=f"subsidy-sheet-{org.ref or org.id}-{year}", title=table.title)
