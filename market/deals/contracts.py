"""Contracts: the draft every deal produces, its schedule, signed document and both confirmations."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, BinaryIO

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from market import audit, evidence, textkeys
from market.domain import parties
from market.errors import Conflict, NotFound, PermissionDenied, ValidationError
from market.extensions import db
from market.links import path_for
from market.money import parse_money
from market.notifications.services import notify, org_admins
from market.permissions import require
from models.deals import Contract, ContractKind, ContractStatus
from models.listings import Listing
from models.organisations import Organisation

from .common import clock, get_for_update, is_party

SIGNED_DOCUMENT_TYPES = frozenset({"pdf"})


def contract_link(contract: Contract) -> str:
    return path_for("deals.contract_detail", contract_id=contract.id)


def create_contract_draft(
    actor: Any,
    *,
    kind: str,
    payer: Organisation,
    payee: Organisation,
    amount_cny: Decimal,
    title: Any,  # _l(...) for a generated title: shown in the reader's language
    listing: Listing | None = None,
    source_type: str | None = None,
    source_id: int | None = None,
    note: str | None = None,
) -> Contract:
    """Add a draft contract (for a bid award, a booking or data access approval).

    Used by bid awards (kind scenario_contract, art. 8), booking approvals (rental, art. 7) and
    data access approvals with a fee (data_access, art. 13). Both parties are told it waits on them.
    """
    if kind not in {k.value for k in ContractKind}:
        raise ValidationError(_("未知的合同类型。"), "kind")
    if payer.id == payee.id:
        raise ValidationError(_("付款方与收款方不能是同一机构。"), "payee")
    amount = parse_money(amount_cny, "amount_cny")
    title_key, title_params = textkeys.freeze(title)
    contract = Contract(
        kind=kind,
        payer=payer,
        payee=payee,
        listing=listing,
        title=str(title)[:200],
        title_key=title_key,
        title_params=title_params,
        amount_cny=amount,
        payment_schedule=[],
        status=ContractStatus.DRAFT,
        source_type=source_type,
        source_id=source_id,
        note=note,
    )
    db.session.add(contract)
    audit.record(actor, "contract.draft", contract, None, audit.snapshot(contract))
    for org in (payer, payee):
        notify(
            org_admins(org.id),
            "contract.draft",
            _l("合同草稿待确认：%(title)s", title=contract.title_text),
            _l("请核对金额与付款计划，上传双方签署的合同（PDF）后确认。"),
            contract_link(contract),
        )
    return contract


def awaiting_confirmation(org_id: int, limit: int | None = None) -> tuple[int, list[Contract]]:
    """Draft contracts that wait on ``org_id``'s confirmation (its side has not confirmed), oldest first, and how many."""
    cond = (Contract.status == ContractStatus.DRAFT) & (
        ((Contract.payer_id == org_id) & Contract.payer_confirmed_at.is_(None))
        | ((Contract.payee_id == org_id) & Contract.payee_confirmed_at.is_(None)))
    n = db.session.execute(select(func.count(Contract.id)).where(cond)).scalar_one()
    rows = db.session.execute(select(Contract).where(cond).options(selectinload(Contract.payer), selectinload(Contract.payee))
                              .order_by(Contract.created_at, Contract.id).limit(limit)).scalars()  # both names: 3 queries
    return int(n), list(rows)


def counterparty(org_id: int, contract: Contract) -> Organisation:
    return contract.payee if contract.payer_id == org_id else contract.payer


def get_contract(user: Any, contract_id: int) -> Contract:
    contract = db.session.get(Contract, contract_id)
    if contract is None:
        raise NotFound(_("找不到该合同。"))
    require(user, "contract.view")
    if not (user.is_district_staff or is_party(user, contract.payer_id, contract.payee_id)):
        raise PermissionDenied(_("只有合同双方可以查看该合同。"))
    return contract


def _editable(user: Any, contract_id: int) -> Contract:
    require(user, "contract.sign")
    contract = get_for_update(Contract, contract_id, _("找不到该合同。"))
    if not is_party(user, contract.payer_id, contract.payee_id):
        raise PermissionDenied(_("只有合同双方可以修改该合同。"))
    if contract.status != ContractStatus.DRAFT:
        raise Conflict(_("合同已生效或已取消，不能再修改。"))
    return contract


def parse_schedule(rows: list[dict[str, Any]], total: Decimal) -> list[dict[str, str]]:
    """Instalments ``{due, amount_cny, note}``; their sum must equal the contract amount."""
    schedule = []
    running = Decimal("0")
    for n, row in enumerate(rows, start=1):
        due_raw = str(row.get("due") or "").strip()
        amount_raw = row.get("amount_cny")
        note = str(row.get("note") or "").strip()[:200]
        if not due_raw and (amount_raw in (None, "")) and not note:
            continue
        try:
            due = dt.date.fromisoformat(due_raw)
        except ValueError:
            raise ValidationError(_("第 %(n)d 期的付款日期无效（格式 YYYY-MM-DD）。", n=n), "payment_schedule") from None
        try:
            amount = parse_money(amount_raw, "payment_schedule")
        except ValidationError as err:
            raise ValidationError(_("第 %(n)d 期：%(msg)s", n=n, msg=err.message), "payment_schedule") from None
        running += amount
        schedule.append({"due": due.isoformat(), "amount_cny": str(amount), "note": note})
    if schedule and running != total:
        raise ValidationError(
            _("付款计划合计 %(sum)s 元，与合同金额 %(total)s 元不一致。", sum=running, total=total), "payment_schedule"
        )
    schedule.sort(key=lambda r: r["due"])
    return schedule


def update_terms(user: Any, contract_id: int, amount_cny: Any, schedule_rows: list[dict[str, Any]]) -> Contract:
    """Change the amount and payment schedule of a draft; any earlier confirmation is withdrawn."""
    contract = _editable(user, contract_id)
    before = audit.snapshot(contract)
    amount = parse_money(amount_cny, "amount_cny")
    schedule = parse_schedule(schedule_rows, amount)
    changed = amount != contract.amount_cny or schedule != contract.payment_schedule
    contract.amount_cny = amount
    contract.payment_schedule = schedule
    if changed:
        _reset_confirmations(contract, user)
    audit.record(user, "contract.update_terms", contract, before, audit.snapshot(contract))
    db.session.flush()
    return contract


def upload_signed_document(user: Any, contract_id: int, stream: BinaryIO, filename: str) -> Contract:
    """Attach the contract signed by both parties (PDF, stored by SHA-256 in the evidence store)."""
    contract = _editable(user, contract_id)
    before = audit.snapshot(contract)
    stored = evidence.store(stream, filename, field="document", allowed=SIGNED_DOCUMENT_TYPES)
    if stored.sha256 != contract.signed_document_sha256:
        _reset_confirmations(contract, user)
    contract.signed_document_sha256 = stored.sha256
    contract.signed_document_filename = stored.filename
    audit.record(user, "contract.upload_document", contract, before, audit.snapshot(contract))
    db.session.flush()
    return contract


def _reset_confirmations(contract: Contract, user: Any) -> None:
    had = contract.payer_confirmed_at or contract.payee_confirmed_at
    contract.payer_confirmed_at = contract.payee_confirmed_at = None
    contract.payer_confirmed_by_id = contract.payee_confirmed_by_id = None
    if had:
        other = contract.payee_id if user.organisation_id == contract.payer_id else contract.payer_id
        notify(
            org_admins(other),
            "contract.changed",
            _l("合同已修改，请重新确认：%(title)s", title=contract.title_text),
            "",
            contract_link(contract),
        )


def confirm(user: Any, contract_id: int, now: dt.datetime | None = None) -> Contract:
    """One party confirms the draft as it stands; with both confirmations the contract is active."""
    contract = _editable(user, contract_id)
    if not contract.signed_document_sha256:
        raise ValidationError(_("请先上传双方签署的合同文件（PDF）。"), "document")
    before = audit.snapshot(contract)
    at = clock(now)
    side = parties.side(user.organisation_id, contract)
    if side == "payer":
        if contract.payer_confirmed_at:
            raise Conflict(_("您已确认过该合同。"))
        contract.payer_confirmed_at, contract.payer_confirmed_by_id = at, user.id
        other = contract.payee_id
    else:
        if contract.payee_confirmed_at:
            raise Conflict(_("您已确认过该合同。"))
        contract.payee_confirmed_at, contract.payee_confirmed_by_id = at, user.id
        other = contract.payer_id
    if contract.payer_confirmed_at and contract.payee_confirmed_at:
        contract.status = ContractStatus.ACTIVE
        notify(
            org_admins(contract.payer_id) + org_admins(contract.payee_id),
            "contract.active",
            _l("合同已生效：%(title)s", title=contract.title_text),
            _l("双方均已确认，付款可在台账中登记。"),
            contract_link(contract),
        )
    else:
        notify(
            org_admins(other),
            "contract.confirm_requested",
            _l("对方已确认合同，等待您确认：%(title)s", title=contract.title_text),
            "",
            contract_link(contract),
        )
    audit.record(user, "contract.confirm", contract, before, audit.snapshot(contract))
    db.session.flush()
    return contract


def cancel_draft(actor: Any, contract: Contract | None, reason: str) -> None:
    """Cancel a contract that is still a draft (its booking was cancelled or missed); a no-op otherwise."""
    if contract is None or contract.status != ContractStatus.DRAFT:
        return
    before = audit.snapshot(contract)
    contract.status = ContractStatus.CANCELLED
    contract.note = ((contract.note or "") + "\n" + reason).strip()
    audit.record(actor, "contract.cancel", contract, before, audit.snapshot(contract))
