"""Ledger routes: the organisation's dashboard, the reviewers' queue, an entry's page, and the
actions behind ``templates/ledger/_contract_payments.html`` (record, confirm, dispute, refund...).

Action forms are small and live inside other pages (the contract page), so a refused action is
shown as a flash message on the page it came from; nothing is half-saved.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from urllib.parse import urlencode, urlsplit

from flask import Response, abort, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from market import dates, exports
from market import evidence as evidence_store
from market.deals.labels import kind_label
from market.domain.localtime import localize
from market.errors import ValidationError
from market.exports import Column, Table, yes_no
from market.extensions import db
from market.i18n import N_
from market.imports import FieldError, money
from market.permissions import can, require
from market.web import permission_required, run_service
from models.deals import Contract
from models.ledger import LedgerEntry

from . import bp, chain, checkpoint, services
from .services import EVIDENCE_LABELS, Upload

# an entry's history says what happened, not the buttons' words (the English read "Raise a dispute: …")
EVENT_LABELS = {  # translated where shown: _(EVENT_LABELS[kind])
    "payer_confirmed": N_("付款方已确认"), "payee_confirmed": N_("收款方已确认"), "disputed": N_("已提出异议"),
    "dispute_resolved": N_("异议已处理"), "evidence_added": N_("已补充凭证"),
}


# ---------------------------------------------------------------- template helpers (for the partial)
def template_helpers() -> dict:
    return {
        "ledger_entries_for": lambda contract: services.entries_for_contract(contract.id),
        "ledger_sides": lambda entry: services.sides_of(current_user, entry) if current_user.is_authenticated else [],
        "ledger_count_problems": services.count_problems,
        "ledger_remaining": chain.remaining,
        "ledger_new_key": lambda: uuid.uuid4().hex,
        "ledger_kind": kind_label,
        "ledger_evidence_labels": EVIDENCE_LABELS,
        "ledger_event_labels": EVENT_LABELS,
        "ledger_payable": lambda contract: contract.status in services.PAYABLE_CONTRACT_STATUSES,
        "ledger_left_to_pay": lambda contract: contract.amount_cny - services.contract_paid(contract.id),
        "ledger_latest_checkpoint": checkpoint.latest,
    }


# ---------------------------------------------------------------- parsing
def _back(default: str, keep: dict[str, str] | None = None) -> Response:
    """Back to the page the form was on; ``keep``: what was typed, handed back to that page's form in the query
    (a refused payment came back with its amount and time blank; files cannot come back, they are chosen again)."""
    target = request.form.get("next") or request.referrer or default
    parts = urlsplit(target)
    if parts.netloc and parts.netloc != request.host:  # never redirect off-site
        target = default
    if keep:
        target = urlsplit(target)._replace(query=urlencode({k: v for k, v in keep.items() if v}), fragment="").geturl()
        target += "#record-payment-form"
    return redirect(target)


def _amount(field: str = "amount_cny") -> Decimal:
    try:
        value = money({field: request.form.get(field, "").strip()}, field, required=True)
    except FieldError as err:
        raise ValidationError(err.message, field) from None
    return value


def _paid_at(field: str = "paid_at") -> dt.datetime:
    """The form's <input type=datetime-local> is Beijing time (the label says so)."""
    raw = request.form.get(field, "").strip()
    if not raw:
        raise ValidationError(_("请填写付款时间。"), field)
    try:
        moment = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise ValidationError(_("付款时间格式不对。"), field) from None
    dates.require_in_window(moment, field)  # year 0001/9999 overflow in the UTC conversion (issue 8)
    return localize(moment)


def _uploads() -> list[Upload]:
    uploads = []
    for doc_type in EVIDENCE_LABELS:
        for f in request.files.getlist(f"evidence_{doc_type}"):
            if isinstance(f, FileStorage) and f.filename:
                uploads.append(Upload(doc_type, f.stream, f.filename))
    return uploads


def _entry_or_404(entry_id: int):
    entry = db.session.get(LedgerEntry, entry_id)
    if entry is None:
        abort(404)
    return entry


def _run(action, success: str, default: str):
    """Run a service and commit (the view's boundary); a domain error rolls back and is flashed; another
    organisation's entry is a 403/404, never a redirect that hides the refusal."""
    run_service(action, ok=success)
    return _back(default)


# ---------------------------------------------------------------- pages
@bp.get("/")
@permission_required("ledger.view")
def dashboard():
    org_id = current_user.organisation_id
    if current_user.is_district_staff:  # every organisation's entries, filtered, with totals (issue 13)
        return redirect(url_for("dashboard.district_ledger"))
    entries = list(db.session.execute(services.entries_query(org_id)).scalars())
    entries.reverse()
    return render_template(
        "ledger/dashboard.html",
        title=_("交易台账"),
        pending=services.pending_for_org(org_id),
        entries=entries[:200],
        total_entries=len(entries),
        totals=services.totals(org_id),
        org_id=org_id,
    )


@bp.get("/review")
@permission_required("ledger.review")
def review():
    queue = services.review_queue()
    return render_template("ledger/review.html", title=_("台账审核"), **queue)


@bp.get("/entries/ref/<ref>")
@permission_required("ledger.view_entry")
def entry_by_ref(ref: str):
    """An entry by the reference a claim or an export names it by (a claim's snapshot keeps refs, not ids)."""
    e = db.session.execute(select(LedgerEntry).where(LedgerEntry.ref == ref)).scalar_one_or_none()
    if e is None:
        abort(404)
    require(current_user, "ledger.view_entry", e)
    return redirect(url_for("ledger.entry", entry_id=e.id))


@bp.get("/entries/<int:entry_id>")
@permission_required("ledger.view_entry")
def entry(entry_id: int):
    e = _entry_or_404(entry_id)
    require(current_user, "ledger.view_entry", e)
    reversals = [x for x in db.session.execute(
        services.entries_query().where(LedgerEntry.reverses_id == e.id)).scalars()]
    return render_template("ledger/entry.html", title=_("付款记录 %(ref)s", ref=e.ref), entry=e,
                           reversals=reversals, problems=services.count_problems(e))


@bp.get("/entries/<int:entry_id>/evidence/<sha256>")
@permission_required("ledger.view_entry")
def evidence_file(entry_id: int, sha256: str):
    e = _entry_or_404(entry_id)
    require(current_user, "ledger.view_entry", e)
    item = next((i for i in e.evidence if i.get("sha256") == sha256), None)
    if item is None or not evidence_store.path_for(sha256).is_file():
        abort(404)
    return send_file(evidence_store.path_for(sha256), as_attachment=True,
                     download_name=item.get("filename") or sha256)


# ---------------------------------------------------------------- actions
@bp.post("/contracts/<int:contract_id>/payments")
@permission_required("ledger.record")
def record_payment(contract_id: int):
    contract = db.session.get(Contract, contract_id)
    if contract is None:
        abort(404)

    def act():
        services.record_payment(current_user, contract, amount=_amount(), paid_at=_paid_at(),
                                uploads=_uploads(), idempotency_key=request.form.get("idempotency_key"))

    _done, ok = run_service(act, ok=_("付款已登记，等待对方确认。"))
    if ok:
        return _back(url_for("ledger.dashboard"))
    return _back(url_for("ledger.dashboard"), keep={"pay_amount": request.form.get("amount_cny", "")[:30],
                                                   "pay_paid_at": request.form.get("paid_at", "")[:30]})


@bp.post("/entries/<int:entry_id>/confirm")
@permission_required("ledger.confirm")
def confirm(entry_id: int):
    e = _entry_or_404(entry_id)
    return _run(lambda: services.confirm(current_user, e), _("已确认。"), url_for("ledger.entry", entry_id=entry_id))


@bp.post("/entries/<int:entry_id>/dispute")
@permission_required("ledger.dispute")
def dispute(entry_id: int):
    e = _entry_or_404(entry_id)
    return _run(lambda: services.dispute(current_user, e, request.form.get("reason", "")),
                _("异议已提交，区审核人员会跟进。"), url_for("ledger.entry", entry_id=entry_id))


@bp.post("/entries/<int:entry_id>/resolve")
@permission_required("ledger.resolve")
def resolve(entry_id: int):
    e = _entry_or_404(entry_id)
    return _run(lambda: services.resolve_dispute(current_user, e, request.form.get("reason", "")),
                _("异议已处理。"), url_for("ledger.entry", entry_id=entry_id))


@bp.post("/entries/<int:entry_id>/refund")
@permission_required("ledger.refund")
def refund(entry_id: int):
    e = _entry_or_404(entry_id)

    def act():
        services.record_refund(current_user, e, amount=_amount(), paid_at=_paid_at(), uploads=_uploads(),
                               idempotency_key=request.form.get("idempotency_key"))

    return _run(act, _("退款/更正已登记，等待对方确认。"), url_for("ledger.entry", entry_id=entry_id))


@bp.post("/entries/<int:entry_id>/evidence")
@permission_required("ledger.confirm")
def add_evidence(entry_id: int):
    e = _entry_or_404(entry_id)
    return _run(lambda: services.add_evidence(current_user, e, _uploads()), _("凭证已上传。"),
                url_for("ledger.entry", entry_id=entry_id))


# ---------------------------------------------------------------- exports
EXPORT_COLUMNS = (  # headers and labels translated in the reader's language when exported
    Column(N_("编号"), "ref", width=14),
    Column(N_("类型"), lambda r: kind_label(r["kind"])),
    Column(N_("付款方"), "payer", width=28),
    Column(N_("收款方"), "payee", width=28),
    Column(N_("金额（元）"), "amount_cny", "money"),
    Column(N_("付款时间（北京时间）"), "paid_at", "datetime", width=22),
    Column(N_("年度"), "year", "int"),
    Column(N_("付款方已确认"), yes_no("payer_confirmed")),
    Column(N_("收款方已确认"), yes_no("payee_confirmed")),
    Column(N_("异议中"), yes_no("disputed")),
    Column(N_("凭证"), lambda r: "、".join(_(EVIDENCE_LABELS.get(t, t)) for t in r["evidence"]), width=20),
    Column(N_("记录完整"), yes_no("counted")),
    Column(N_("冲正"), "reverses"),
    Column(N_("哈希"), "entry_hash", width=66),
)


@bp.get("/export.<fmt>")
@permission_required("ledger.view")
def export(fmt: str):
    exports.require_format(fmt)
    org_id = None if (current_user.is_district_staff and can(current_user, "ledger.review")) else current_user.organisation_id
    if org_id is None and not current_user.is_district_staff:
        abort(403)
    table = Table(_("台账"), EXPORT_COLUMNS, services.export_rows(org_id))
    return exports.download(fmt, table, filename=f"{_('台账')}-{exports.stamp()}", fallback=f"ledger-{exports.stamp()}")
