"""Ledger services: record payments and refunds, confirm, dispute, resolve, add evidence; and the
query helpers the dashboards and the subsidy engine read (POLICY.md interpretation 1).

Every function takes the acting user, checks ``permissions``, does its work, writes an audit
entry, notifies whoever must act next, and flushes (inside ``_conflicts_as_409`` where a race can
break a constraint); the view, command or job that called it commits. Nothing here edits an
entry's content: a refund or correction is a new entry with a negative amount that ``reverses``
the one it corrects.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, BinaryIO

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import selectinload

from market import audit, evidence
from market.deals.labels import kind_name
from market.domain import parties
from market.domain.completeness import EntryFacts, Finding, Reason, findings
from market.domain.completeness import missing_evidence as completeness_missing
from market.domain.declared import DeclaredSubsidy
from market.domain.localtime import local_year, year_bounds
from market.domain.refunds import Original, RefundProblem, refund_problems
from market.errors import Conflict, NotFound, PermissionDenied, ValidationError
from market.extensions import db
from market.i18n import N_
from market.links import path_for
from market.money import parse_money
from market.notifications.services import district_staff, notify, org_admins
from market.permissions import require
from models.deals import Contract, ContractStatus
from models.ledger import (
    DECLARED_SQL,
    EventKind,
    EvidenceType,
    LedgerEntry,
    LedgerEvent,
    canonical_json,
)
from models.organisations import ExternalSubsidy, Organisation

from . import chain

EVIDENCE_TYPES = frozenset(t.value for t in EvidenceType)
# Chinese source labels, translated where shown: _(EVIDENCE_LABELS[t]).
EVIDENCE_LABELS = {
    "contract": N_("合同"),
    "invoice": N_("发票"),
    "payment_record": N_("付款凭证"),
    "other": N_("其他"),
}
PAYABLE_CONTRACT_STATUSES = frozenset({ContractStatus.ACTIVE, ContractStatus.COMPLETED})


@dataclass
class Upload:
    """One evidence file to attach: its type (contract/invoice/payment_record/other) and content."""

    doc_type: str
    stream: BinaryIO
    filename: str


# ---------------------------------------------------------------- checks shared with the importer
def check_amount(amount: Any, field: str = "amount_cny") -> Decimal:
    """Not zero, at most 2 decimals, within the sanity limit (CONTRACT.md); negative for a refund."""
    return parse_money(amount, field, allow_negative=True)


def check_paid_at(paid_at: Any, now: dt.datetime | None = None, field: str = "paid_at") -> dt.datetime:
    """Timezone-aware and not in the future (CONTRACT.md). Dates before the policy are history: kept."""
    if not isinstance(paid_at, dt.datetime):
        raise ValidationError(_("请填写付款时间。"), field)
    if paid_at.tzinfo is None or paid_at.utcoffset() is None:
        raise ValidationError(_("付款时间必须带时区，例如 2026-03-01T10:00:00+08:00。"), field)
    now = now or dt.datetime.now(dt.UTC)
    if paid_at > now:
        raise ValidationError(_("付款时间不能晚于现在。"), field)
    return paid_at.astimezone(dt.UTC)


# The one table of what each refund rule code (market.domain.refunds) says and which field it concerns:
# the web refund (record_refund) and `ledger import` both check with refund_problems and say it so.
REFUND_MESSAGES: dict[RefundProblem, tuple[str, str]] = {
    RefundProblem.REFUND_OF_REFUND: ("reverses", N_("退款记录不能再被冲正，请冲正原付款。")),
    RefundProblem.PARTIES_DIFFER: ("reverses", N_("冲正记录的类型、付款方和收款方必须与原记录一致。")),
    RefundProblem.BEFORE_ORIGINAL: ("paid_at", N_("退款时间不能早于原付款时间。")),
    RefundProblem.EXCEEDS_REMAINING: ("amount_cny", N_("退款金额 %(amount)s 超过原付款剩余可冲正金额 %(left)s（原记录 %(ref)s）。")),
}


def refund_message(code: RefundProblem, *, amount: Decimal, left: Decimal, ref: str | None) -> tuple[str, str]:
    """The field and the translated sentence for a refund rule code."""
    field_name, message = REFUND_MESSAGES[code]
    return field_name, _(message, amount=f"{amount:,.2f}", left=f"{left:,.2f}", ref=ref or "-")


def _refund_check(original: LedgerEntry, amount: Decimal, paid_at: dt.datetime, left: Decimal) -> None:
    """Raise the first refund rule ``original`` breaks (in the order of refund_problems)."""
    facts = Original(kind=original.kind, payer_id=original.payer_id, payee_id=original.payee_id,
                     paid_at=original.paid_at, remaining=left, is_refund=original.reverses_id is not None)
    problems = refund_problems(facts, amount, paid_at)
    if problems:
        field_name, message = refund_message(problems[0], amount=amount, left=left, ref=original.ref)
        raise ValidationError(message, field_name)


def _max_evidence_bytes() -> int:
    return int(current_app.config.get("LEDGER_EVIDENCE_MAX_MB", 10)) * 1024 * 1024


def _store_uploads(uploads: Iterable[Upload]) -> list[dict[str, Any]]:
    """Check every upload's type first, then store each by SHA-256 (refusing bad types/sizes)."""
    uploads = list(uploads)
    for up in uploads:
        if up.doc_type not in EVIDENCE_TYPES:
            raise ValidationError(_("凭证类型无效。"), "evidence")
    stored = []
    for up in uploads:
        f = evidence.store(up.stream, up.filename, field="evidence", max_bytes=_max_evidence_bytes())
        stored.append({"type": up.doc_type, "sha256": f.sha256, "filename": f.filename, "size": f.size})
    return stored


def _check_one_role_per_file(items: list[dict[str, Any]]) -> None:
    """One file is one piece of evidence: the same PDF as the contract, the invoice and the payment record would make
    an entry "complete" (and count for a subsidy) on a single document. "Other" may repeat anything."""
    roles: dict[str, str] = {}
    for item in items:
        kind, sha = item["type"], item.get("sha256")
        if not sha or kind == "other":
            continue
        seen = roles.setdefault(sha, kind)
        if seen != kind:
            raise ValidationError(_("同一个文件不能既作%(a)s又作%(b)s：合同、发票和付款凭证须分别上传。",
                                    a=_(EVIDENCE_LABELS[seen]), b=_(EVIDENCE_LABELS[kind])), "evidence")


def _signed_contract_evidence(contract: Contract, uploads: list[Upload]) -> list[dict[str, Any]]:
    """The contract both parties signed and confirmed on the platform is the payment's contract
    evidence (POLICY.md interpretation 1), unless the payer uploads another copy: nobody has to
    upload the same PDF twice. The file is already in the evidence store, under its SHA-256."""
    sha = contract.signed_document_sha256
    if not sha or any(up.doc_type == "contract" for up in uploads):
        return []
    path = evidence.path_for(sha)
    if not path.is_file():
        return []
    return [{"type": "contract", "sha256": sha, "filename": contract.signed_document_filename,
             "size": path.stat().st_size}]


def evidence_json(items: list[dict[str, Any]]) -> str:
    def key(i):
        return (i["type"], i.get("sha256") or "", i.get("filename") or "")

    clean = [
        {"type": i["type"], "sha256": i.get("sha256"), "filename": i.get("filename"), "size": i.get("size")}
        for i in sorted(items, key=key)
    ]
    return canonical_json(clean)


def subsidies_json(items: list[dict[str, Any]]) -> str:
    """Declared subsidies as hashed: the beneficiary by USCC, never by id (models.ledger docstring)."""
    return canonical_json(
        [{"beneficiary_uscc": i["beneficiary_uscc"], "amount_cny": f"{Decimal(i['amount_cny']):.2f}", "source": i["source"]}
         for i in items]
    )


def declared_subsidies(year: int | None = None, beneficiary_ids: Iterable[int] | None = None) -> list[DeclaredSubsidy]:
    """Every declared other subsidy — organisation-level (``external_subsidies``) and per payment
    (``declared_subsidies`` of ledger entries, by year of payment in Beijing time) — as plain records."""
    ids = set(beneficiary_ids) if beneficiary_ids is not None else None
    found: list[DeclaredSubsidy] = []
    stmt = select(ExternalSubsidy)
    if year is not None:
        stmt = stmt.where(ExternalSubsidy.year == year)
    if ids is not None:
        stmt = stmt.where(ExternalSubsidy.organisation_id.in_(ids))
    for s in db.session.execute(stmt).scalars():
        found.append(DeclaredSubsidy(beneficiary_id=s.organisation_id, amount_cny=s.amount_cny, source=s.source,
                                     year=s.year, rule=s.rule, item=s.item))
    # the condition as written in the partial index ix_ledger_entry_declared (a literal, so planners match it)
    entries = select(LedgerEntry.id, LedgerEntry.subsidies_json).where(text(DECLARED_SQL))
    if year is not None:
        start, end = year_bounds(year)
        entries = entries.where(LedgerEntry.paid_at >= start, LedgerEntry.paid_at < end)
    if ids is not None:  # a declaration names a beneficiary that is a party to the entry
        entries = entries.where(or_(LedgerEntry.payer_id.in_(ids), LedgerEntry.payee_id.in_(ids)))
    rows = db.session.execute(entries).all()
    usccs = {i["beneficiary_uscc"] for _id, raw in rows for i in json.loads(raw)}
    org_of = dict(db.session.execute(select(Organisation.uscc, Organisation.id).where(Organisation.uscc.in_(usccs))).all())
    for entry_id, raw in rows:
        for i in json.loads(raw):
            org_id = org_of.get(i["beneficiary_uscc"])
            if org_id is None or (ids is not None and org_id not in ids):
                continue
            found.append(DeclaredSubsidy(beneficiary_id=org_id, amount_cny=Decimal(i["amount_cny"]), source=i["source"],
                                         entry_id=entry_id))
    return found


def sides_of(user: Any, entry: LedgerEntry | Contract) -> tuple[parties.Side, ...]:
    """Which sides of the deal the user's organisation is on (both when it deals with itself)."""
    return parties.sides(getattr(user, "organisation_id", None), entry)


def entry_link(entry: LedgerEntry) -> str:
    return path_for("ledger.entry", entry_id=entry.id)


def _is_lock_timeout(err: OperationalError) -> bool:
    """SQLite gave up waiting for the write lock (``busy_timeout``): the ledger is busy, not broken."""
    return "database is locked" in str(getattr(err, "orig", err))


@contextmanager
def _conflicts_as_409(duplicate: str) -> Iterator[None]:
    """An append that loses a race answers 409, never 500.

    The checks under the head lock make these rare (a second submission of one idempotency key
    waits for the first, then finds it), but the database's own guards still have the last word:
    ``UNIQUE(idempotency_key)`` and the chain's ``UNIQUE(seq)``/``UNIQUE(prev_hash)`` become
    :class:`Conflict` with ``duplicate`` as the message; SQLite's write lock not coming in time
    becomes "busy, try again".
    """
    try:
        yield
    except IntegrityError:
        db.session.rollback()
        raise Conflict(duplicate) from None
    except OperationalError as err:
        if not _is_lock_timeout(err):
            raise
        db.session.rollback()
        raise Conflict(_("台账正忙，请稍后重试。")) from None


def _check_idempotency(key: str | None, duplicate: str) -> str:
    """A usable idempotency key (a fresh one if none was given) not yet in the ledger.

    Called before the head lock (to refuse a resubmission early) and again under it, where the
    answer is final: a concurrent submission of the same key has committed or not started.
    """
    key = (key or "").strip()
    if not key:
        key = uuid.uuid4().hex
    if len(key) > 100:
        raise ValidationError(_("幂等键过长。"), "idempotency_key")
    exists = db.session.execute(select(LedgerEntry.id).where(LedgerEntry.idempotency_key == key)).first()
    if exists:
        raise Conflict(duplicate)  # the boundary rolls back, releasing the head lock
    return key


def contract_paid(contract_id: int) -> Decimal:
    """What has been paid on a contract so far: its payments less their refunds (every entry)."""
    total = db.session.execute(
        select(func.coalesce(func.sum(LedgerEntry.amount_cny), 0)).where(LedgerEntry.contract_id == contract_id)
    ).scalar_one()
    return Decimal(total).quantize(Decimal("0.01"))


def _check_within_contract(contract: Contract, amount: Decimal) -> None:
    """A payment may not take the contract's paid total beyond its amount (issue 8, item 10).

    Every entry counts, confirmed or not: an unconfirmed or disputed payment is corrected by a
    refund/correction entry, which frees its amount again. Called under the entries head lock, so
    two concurrent payments cannot both fit into what is left.
    """
    paid = contract_paid(contract.id)
    if paid + amount > contract.amount_cny:
        left = max(Decimal(contract.amount_cny) - paid, Decimal("0.00"))
        raise ValidationError(
            _("付款金额超出合同金额：合同金额 %(total)s 元，已登记付款（扣除退款）%(paid)s 元，"
              "本次最多可登记 %(left)s 元。",
              total=f"{contract.amount_cny:,.2f}", paid=f"{paid:,.2f}", left=f"{left:,.2f}"),
            "amount_cny",
        )


def _lock_entry(entry_id: int) -> LedgerEntry:
    entry = db.session.execute(
        select(LedgerEntry).where(LedgerEntry.id == entry_id).with_for_update().execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if entry is None:
        raise NotFound(_("找不到这笔记录。"))
    return entry


# ---------------------------------------------------------------- recording
def record_payment(
    user: Any,
    contract: Contract,
    *,
    amount: Any,
    paid_at: Any,
    uploads: Iterable[Upload] = (),
    idempotency_key: str | None = None,
    now: dt.datetime | None = None,
) -> LedgerEntry:
    """A party records a payment against a contract; its own side counts as confirmed."""
    require(user, "ledger.record", contract)
    sides = sides_of(user, contract)
    if not sides:
        raise PermissionDenied(_("只有合同双方可以登记付款。"))
    if contract.status not in PAYABLE_CONTRACT_STATUSES:
        raise ValidationError(_("合同生效（双方确认）后才能登记付款。"))
    amount = check_amount(amount)
    if amount < 0:
        raise ValidationError(_("退款请在原付款记录上登记。"), "amount_cny")
    paid_at = check_paid_at(paid_at, now)
    duplicate = _("这笔付款已经登记过了（重复提交）。")
    key = _check_idempotency(idempotency_key, duplicate)
    _check_within_contract(contract, amount)  # early, before storing any upload; final under the lock
    uploads = list(uploads)
    stored = _store_uploads(uploads) + _signed_contract_evidence(contract, uploads)
    _check_one_role_per_file(stored)
    with _conflicts_as_409(duplicate):
        head = chain.lock_head(chain.ENTRIES)
        _check_idempotency(key, duplicate)
        _check_within_contract(contract, amount)
        entry = _append_with_confirmation(
            user, sides, now, head=head,
            kind=contract.kind, payer_id=contract.payer_id, payee_id=contract.payee_id,
            contract_id=contract.id, listing_id=contract.listing_id, amount_cny=amount, paid_at=paid_at,
            idempotency_key=key, evidence_json=evidence_json(stored),
        )
        audit.record(user, "ledger.record", entry, after=audit.snapshot(entry))
        _notify_confirmation_needed(entry, user.organisation_id, _l("待确认的付款"))
        db.session.flush()
    return entry


def record_refund(
    user: Any,
    original: LedgerEntry,
    *,
    amount: Any,
    paid_at: Any,
    uploads: Iterable[Upload] = (),
    idempotency_key: str | None = None,
    now: dt.datetime | None = None,
) -> LedgerEntry:
    """A refund or correction: a new entry of ``-amount`` reversing ``original`` (never edits it).

    ``amount`` is what goes back (positive as typed, or already negative); it may not exceed what
    is left of the original after earlier reversals.
    """
    require(user, "ledger.refund", original)
    sides = sides_of(user, original)
    if not sides:
        raise PermissionDenied(_("只有付款双方可以登记退款或更正。"))
    amount = abs(check_amount(amount))
    paid_at = check_paid_at(paid_at, now)
    duplicate = _("这笔退款已经登记过了（重复提交）。")
    key = _check_idempotency(idempotency_key, duplicate)
    _refund_check(original, amount, paid_at, chain.remaining(original))  # early, before storing uploads; final under the lock
    stored = _store_uploads(uploads)
    _check_one_role_per_file(stored)
    with _conflicts_as_409(duplicate):
        head = chain.lock_head(chain.ENTRIES)  # lock order: entries head, then the entry row
        _check_idempotency(key, duplicate)
        locked = _lock_entry(original.id)
        _refund_check(locked, amount, paid_at, chain.remaining(locked))  # the boundary rolls back (head lock)
        entry = _append_with_confirmation(
            user, sides, now, head=head,
            kind=locked.kind, payer_id=locked.payer_id, payee_id=locked.payee_id,
            contract_id=locked.contract_id, listing_id=locked.listing_id, amount_cny=-amount, paid_at=paid_at,
            reverses_id=locked.id, idempotency_key=key, evidence_json=evidence_json(stored),
        )
        audit.record(user, "ledger.refund", entry, after=audit.snapshot(entry))
        _notify_confirmation_needed(entry, user.organisation_id, _l("待确认的退款/更正"))
        db.session.flush()
    return entry


def _append_with_confirmation(user, sides, now, head=None, **fields) -> LedgerEntry:
    head = head or chain.lock_head(chain.ENTRIES)
    at = now or dt.datetime.now(dt.UTC)
    fields["ref"] = f"LE{head.seq + 1:08d}"
    entry = chain.append_entry(head, recorded_by_id=user.id, recorded_at=at, source="platform", **fields)
    for side in sides:
        kind = EventKind.PAYER_CONFIRMED if side == "payer" else EventKind.PAYEE_CONFIRMED
        chain.append_event(entry, kind, at=at, org_id=user.organisation_id, user_id=user.id)
        setattr(entry, f"{side}_confirmed_at", at)
    db.session.flush()
    return entry


def _evidence_names(kinds: list[str]) -> Any:
    """合同、发票 as one generated-text parameter (each name translated when read)."""
    names: Any = _l(EVIDENCE_LABELS[kinds[0]])
    for kind in kinds[1:]:
        names = _l("%(a)s、%(b)s", a=names, b=_l(EVIDENCE_LABELS[kind]))
    return names


def _notify_confirmation_needed(entry: LedgerEntry, acting_org_id: int | None, title: str) -> None:
    other = parties.other_party(acting_org_id, entry)
    if other == acting_org_id:
        return
    body = _l("%(ref)s：%(kind)s %(amount)s，请核对并确认，或提出异议。",
             ref=entry.ref, kind=kind_name(entry.kind), amount=f"¥{abs(entry.amount_cny):,.2f}")
    notify(org_admins(other), "ledger.confirm_needed", title, body, entry_link(entry))


# ---------------------------------------------------------------- confirmation, dispute, evidence
def confirm(user: Any, entry: LedgerEntry, now: dt.datetime | None = None) -> LedgerEntry:
    """The user's side confirms the entry. Two concurrent confirmations of one side: one wins."""
    require(user, "ledger.confirm", entry)
    sides = sides_of(user, entry)
    if not sides:
        raise PermissionDenied(_("您不是这笔付款的当事方，不能确认。"))
    at = now or dt.datetime.now(dt.UTC)
    done = []
    for side in sides:
        col = getattr(LedgerEntry, f"{side}_confirmed_at")
        # conditional update: the row lock makes a concurrent confirmation wait, then match nothing
        result = db.session.execute(
            update(LedgerEntry).where(LedgerEntry.id == entry.id, col.is_(None)).values({col: at})
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:
            kind = EventKind.PAYER_CONFIRMED if side == "payer" else EventKind.PAYEE_CONFIRMED
            chain.append_event(entry, kind, at=at, org_id=user.organisation_id, user_id=user.id)
            done.append(side)
    if not done:
        raise Conflict(_("您方已经确认过这笔记录。"))
    db.session.refresh(entry)
    audit.record(user, "ledger.confirm", entry, after={"sides": done, "at": at})
    if entry.both_confirmed:
        missing = missing_evidence(entry)
        body = (_l("双方均已确认。") if not missing else
                _l("双方均已确认，但还缺少凭证：%(m)s。", m=_evidence_names(sorted(missing))))
        notify(org_admins(parties.other_party(user.organisation_id, entry)), "ledger.confirmed",
               _l("付款 %(ref)s 已确认", ref=entry.ref), body, entry_link(entry))
    db.session.flush()
    return entry


def dispute(user: Any, entry: LedgerEntry, reason: str, now: dt.datetime | None = None) -> LedgerEntry:
    """Either party disputes; the entry stops counting until a reviewer or the disputer resolves it."""
    require(user, "ledger.dispute", entry)
    if not sides_of(user, entry):
        raise PermissionDenied(_("您不是这笔付款的当事方，不能提出异议。"))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("请说明异议理由。"), "reason")
    if len(reason) > 1000:
        raise ValidationError(_("异议理由不能超过 1000 个字符。"), "reason")
    at = now or dt.datetime.now(dt.UTC)
    result = db.session.execute(
        update(LedgerEntry).where(LedgerEntry.id == entry.id, LedgerEntry.disputed_at.is_(None))
        .values(disputed_at=at, disputed_by_id=user.organisation_id, dispute_reason=reason)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise Conflict(_("这笔记录已经有过异议，请联系区审核人员，或登记冲正记录。"))
    chain.append_event(entry, EventKind.DISPUTED, at=at, org_id=user.organisation_id, user_id=user.id, reason=reason)
    db.session.refresh(entry)
    audit.record(user, "ledger.dispute", entry, after={"reason": reason})
    title = _l("付款 %(ref)s 有异议", ref=entry.ref)
    notify(org_admins(parties.other_party(user.organisation_id, entry)) + district_staff(), "ledger.disputed",
           title, reason, entry_link(entry))
    db.session.flush()
    return entry


def resolve_dispute(user: Any, entry: LedgerEntry, note: str, now: dt.datetime | None = None) -> LedgerEntry:
    """A district reviewer (or the party that disputed) closes the dispute with a note."""
    require(user, "ledger.resolve", entry)
    if not user.is_district_staff and user.organisation_id != entry.disputed_by_id:
        raise PermissionDenied(_("只有区审核人员或提出异议的一方可以解除异议。"))
    note = (note or "").strip()
    if not note:
        raise ValidationError(_("请填写处理说明。"), "reason")
    at = now or dt.datetime.now(dt.UTC)
    result = db.session.execute(
        update(LedgerEntry)
        .where(LedgerEntry.id == entry.id, LedgerEntry.disputed_at.is_not(None), LedgerEntry.dispute_resolved_at.is_(None))
        .values(dispute_resolved_at=at)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise Conflict(_("这笔记录当前没有待处理的异议。"))
    chain.append_event(entry, EventKind.DISPUTE_RESOLVED, at=at, org_id=user.organisation_id, user_id=user.id, reason=note[:1000])
    db.session.refresh(entry)
    audit.record(user, "ledger.resolve", entry, after={"note": note})
    users = org_admins(entry.payer_id) + org_admins(entry.payee_id)
    notify(users, "ledger.resolved", _l("付款 %(ref)s 的异议已处理", ref=entry.ref), note, entry_link(entry))
    db.session.flush()
    return entry


def add_evidence(user: Any, entry: LedgerEntry, uploads: Iterable[Upload], now: dt.datetime | None = None) -> LedgerEntry:
    """Attach more evidence (e.g. the invoice arrives later): new events, the entry is untouched."""
    require(user, "ledger.confirm", entry)
    if not sides_of(user, entry):
        raise PermissionDenied(_("只有付款双方可以上传凭证。"))
    uploads = list(uploads)
    if not uploads:
        raise ValidationError(_("请选择要上传的凭证文件。"), "evidence")
    stored = _store_uploads(uploads)
    _check_one_role_per_file([*entry.evidence, *stored])
    at = now or dt.datetime.now(dt.UTC)
    _lock_entry(entry.id)
    for item in stored:
        chain.append_event(entry, EventKind.EVIDENCE_ADDED, at=at, org_id=user.organisation_id, user_id=user.id,
                           doc_type=item["type"], sha256=item["sha256"], filename=item["filename"], size=item["size"])
    db.session.expire(entry, ["events"])
    audit.record(user, "ledger.add_evidence", entry, after={"evidence": stored})
    if not entry.both_confirmed:
        _notify_confirmation_needed(entry, user.organisation_id, _l("付款凭证已补充，请确认"))
    db.session.flush()
    return entry


# ---------------------------------------------------------------- what counts (for the subsidy engine)
# Words for the reason codes of market.domain.completeness, translated where shown.
REASON_LABELS = {
    Reason.PAYER_NOT_CONFIRMED: N_("付款方未确认"),
    Reason.PAYEE_NOT_CONFIRMED: N_("收款方未确认"),
    Reason.DISPUTED: N_("有未解决的异议"),
    Reason.MISSING_EVIDENCE: N_("缺少凭证"),
    Reason.REVERSED_ENTRY_INCOMPLETE: N_("被冲正的原付款不计入"),
}


def entry_facts(entry: LedgerEntry) -> EntryFacts:
    """The plain facts completeness depends on (interpretation 1)."""
    original = entry.reverses
    return EntryFacts(
        payer_confirmed=entry.payer_confirmed_at is not None,
        payee_confirmed=entry.payee_confirmed_at is not None,
        in_dispute=entry.in_dispute,
        evidence_types=frozenset(entry.evidence_types),
        reverses=entry_facts(original) if original is not None else None,
        is_refund=entry.reverses_id is not None,
    )


def completeness(entry: LedgerEntry) -> tuple[Finding, ...]:
    """Why the entry is not complete, as codes; () when it is."""
    return findings(entry_facts(entry))


def missing_evidence(entry: LedgerEntry) -> set[str]:
    return set(completeness_missing(frozenset(entry.evidence_types)))


def describe(finding: Finding) -> str:
    """One finding in the reader's language."""
    words = _(REASON_LABELS[finding.reason])
    if finding.missing:
        words += _("：") + _("、").join(_(EVIDENCE_LABELS[m]) for m in finding.missing)
    return words


def count_problems(entry: LedgerEntry) -> list[str]:
    """Why an entry does not count, in words (empty list = it counts)."""
    return [describe(f) for f in completeness(entry)]


def is_counted(entry: LedgerEntry) -> bool:
    return not completeness(entry)


def entries_query(org_id: int | None = None, year: int | None = None, kind: str | None = None,
                  role: str | None = None):
    """Entries in seq order, optionally of one organisation (as payer/payee/either), year and kind."""
    stmt = select(LedgerEntry).options(
        selectinload(LedgerEntry.events), selectinload(LedgerEntry.reverses).selectinload(LedgerEntry.events),
        selectinload(LedgerEntry.payer), selectinload(LedgerEntry.payee),
    ).order_by(LedgerEntry.seq)
    if org_id is not None:
        if role == "payer":
            stmt = stmt.where(LedgerEntry.payer_id == org_id)
        elif role == "payee":
            stmt = stmt.where(LedgerEntry.payee_id == org_id)
        else:
            stmt = stmt.where(or_(LedgerEntry.payer_id == org_id, LedgerEntry.payee_id == org_id))
    if year is not None:
        start, end = year_bounds(year)
        stmt = stmt.where(LedgerEntry.paid_at >= start, LedgerEntry.paid_at < end)
    if kind is not None:
        stmt = stmt.where(LedgerEntry.kind == kind)
    return stmt


def has_entries(org_id: int) -> bool:
    """Whether the organisation pays or is paid in any ledger entry (its USCC is then in the hashes)."""
    stmt = select(LedgerEntry.id).where(or_(LedgerEntry.payer_id == org_id, LedgerEntry.payee_id == org_id))
    return db.session.execute(stmt.limit(1)).first() is not None


def counted_entries(org_id: int | None = None, year: int | None = None, kind: str | None = None,
                    role: str | None = None) -> list[LedgerEntry]:
    """The entries that count (payments and the refunds that net against them), by seq.

    The subsidy engine's one input: filter by beneficiary organisation (``role`` = payer/payee),
    local calendar year of ``paid_at`` and kind.
    """
    return [e for e in db.session.execute(entries_query(org_id, year, kind, role)).scalars() if is_counted(e)]


def entries_for_contract(contract_id: int) -> list[LedgerEntry]:
    stmt = select(LedgerEntry).where(LedgerEntry.contract_id == contract_id).options(
        selectinload(LedgerEntry.events)).order_by(LedgerEntry.seq)
    return list(db.session.execute(stmt).scalars())


def pending_for_org(org_id: int) -> list[LedgerEntry]:
    """Entries waiting for this organisation's confirmation."""
    stmt = select(LedgerEntry).where(
        or_(
            (LedgerEntry.payer_id == org_id) & LedgerEntry.payer_confirmed_at.is_(None),
            (LedgerEntry.payee_id == org_id) & LedgerEntry.payee_confirmed_at.is_(None),
        )
    ).order_by(LedgerEntry.seq)
    return list(db.session.execute(stmt).scalars())


def review_queue() -> dict[str, list[LedgerEntry]]:
    """For district reviewers: disputed and not-yet-confirmed entries."""
    disputed = select(LedgerEntry).where(LedgerEntry.disputed_at.is_not(None), LedgerEntry.dispute_resolved_at.is_(None))
    unconfirmed = select(LedgerEntry).where(
        or_(LedgerEntry.payer_confirmed_at.is_(None), LedgerEntry.payee_confirmed_at.is_(None))
    )
    return {
        "disputed": list(db.session.execute(disputed.order_by(LedgerEntry.seq)).scalars()),
        "unconfirmed": list(db.session.execute(unconfirmed.order_by(LedgerEntry.seq).limit(500)).scalars()),
    }


@dataclass
class Total:
    year: int
    kind: str
    role: str  # payer (spent) / payee (received)
    counted: Decimal
    not_counted: Decimal


def totals(org_id: int) -> list[Total]:
    """Net totals by local year, kind and side; counted vs not counted (interpretations 1 and 5)."""
    acc: dict[tuple[int, str, str], list[Decimal]] = defaultdict(lambda: [Decimal("0"), Decimal("0")])
    for e in db.session.execute(entries_query(org_id)).scalars():
        counted = is_counted(e)
        for role in ("payer", "payee"):
            if getattr(e, f"{role}_id") == org_id:
                acc[(local_year(e.paid_at), e.kind, role)][0 if counted else 1] += e.amount_cny
    return [Total(y, k, r, c, n) for (y, k, r), (c, n) in sorted(acc.items(), reverse=True)]


def export_rows(org_id: int | None = None) -> Iterator[dict[str, Any]]:
    """Flat rows for the dashboard export (one organisation, or all for reviewers); streamed."""
    for e in db.session.execute(entries_query(org_id)).scalars():
        yield {
            "ref": e.ref, "kind": e.kind, "payer": e.payer.name, "payee": e.payee.name,
            "amount_cny": e.amount_cny, "paid_at": e.paid_at, "year": local_year(e.paid_at),
            "payer_confirmed": e.payer_confirmed_at is not None, "payee_confirmed": e.payee_confirmed_at is not None,
            "disputed": e.in_dispute, "evidence": sorted(e.evidence_types),
            "counted": is_counted(e), "reverses": e.reverses.ref if e.reverses else "",
            "entry_hash": e.entry_hash,
        }


__all__ = [
    "Upload", "record_payment", "record_refund", "confirm", "dispute", "resolve_dispute", "add_evidence",
    "counted_entries", "is_counted", "count_problems", "entries_for_contract", "pending_for_org",
    "review_queue", "totals", "export_rows", "check_amount", "check_paid_at", "LedgerEvent",
]
