"""``ledger import`` / ``ledger export``, exactly per CONTRACT.md (Ledger).

Import is all-or-nothing and idempotent by ``ref``: a row whose ``ref`` exists with the same
content is a no-op; with different content it is refused (entries are never edited — import a
reversing entry instead). Every error is reported as ``line N: field: message``.

Export writes the same fields plus ``seq``, ``prev_hash`` and ``entry_hash``; the importer accepts
those three and ignores them (the destination chain computes its own), so an export imports back.
Evidence attached as files is exported as objects ``{"type", "sha256", "filename", "size"}``; the
importer accepts those when the file is in the evidence store, and plain type names otherwise
(evidence declared by a migration, without files).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import aliased, selectinload

from market import audit, exports
from market import evidence as evidence_store
from market.domain.localtime import to_local
from market.errors import ImportErrors, RowError, ValidationError
from market.extensions import db
from market.imports import (
    FieldError,
    aware_time,
    boolean,
    check_fields,
    choice,
    json_list,
    money,
    text,
)
from models.ledger import EntryKind, LedgerEntry
from models.listings import Listing
from models.organisations import Organisation

from . import chain
from .services import EVIDENCE_TYPES, check_amount, check_paid_at, evidence_json, subsidies_json

FIELDS = frozenset({
    "ref", "kind", "payer", "payee", "amount_cny", "paid_at", "confirmed", "evidence", "listing",
    "reverses", "declared_subsidies",
})
EXPORT_ONLY = frozenset({"seq", "prev_hash", "entry_hash"})
KINDS = frozenset(k.value for k in EntryKind)
SUBSIDY_FIELDS = frozenset({"beneficiary", "amount_cny", "source"})


@dataclass
class Parsed:
    line: int
    ref: str
    kind: str
    payer_id: int
    payee_id: int
    amount: Decimal
    paid_at: dt.datetime
    confirmed: bool
    evidence_json: str
    listing_id: int | None
    reverses: str | None
    subsidies_json: str


@dataclass
class ImportResult:
    created: int = 0
    unchanged: int = 0


def _evidence(row: dict[str, Any]) -> list[dict[str, Any]]:
    value = row.get("evidence")
    if value is None or value == "":
        return []
    if isinstance(value, str) and value.strip().startswith("["):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise FieldError("evidence", _("必须是凭证类型列表或 JSON 数组。")) from None
    if isinstance(value, str):
        from market.imports import LIST_SPLIT

        value = [v.strip() for v in LIST_SPLIT.split(value) if v.strip()]
    if not isinstance(value, list):
        raise FieldError("evidence", _("必须是列表。"))
    items = []
    for item in value:
        if isinstance(item, str):
            if item not in EVIDENCE_TYPES:
                raise FieldError("evidence", _("凭证类型 %(t)s 无效；可选：%(c)s。", t=item, c=", ".join(sorted(EVIDENCE_TYPES))))
            items.append({"type": item})
        elif isinstance(item, dict):
            if item.get("type") not in EVIDENCE_TYPES:
                raise FieldError("evidence", _("凭证类型无效；可选：%(c)s。", c=", ".join(sorted(EVIDENCE_TYPES))))
            sha = item.get("sha256")
            if sha is not None and not evidence_store.file_matches(str(sha)):
                raise FieldError("evidence", _("凭证文件 %(sha)s 不在凭证库中或已损坏。", sha=sha))
            items.append({"type": item["type"], "sha256": sha, "filename": item.get("filename"), "size": item.get("size")})
        else:
            raise FieldError("evidence", _("必须是凭证类型列表。"))
    return items


def _lookup_orgs() -> tuple[dict[str, int], dict[int, str]]:
    """Organisation ref or USCC -> id, and id -> USCC (what the ledger binds)."""
    orgs: dict[str, int] = {}
    uscc_of: dict[int, str] = {}
    for org_id, ref, uscc in db.session.execute(select(Organisation.id, Organisation.ref, Organisation.uscc)):
        orgs[uscc] = org_id
        uscc_of[org_id] = uscc
        if ref:
            orgs[ref] = org_id
    return orgs, uscc_of


def parse_rows(rows: list[tuple[int, dict[str, Any]]], now: dt.datetime | None = None) -> tuple[list[Parsed], list[RowError]]:
    orgs, uscc_of = _lookup_orgs()
    errors: list[RowError] = []
    parsed: list[Parsed] = []
    seen: dict[str, int] = {}
    now = now or dt.datetime.now(dt.UTC)
    for line, row in rows:
        row_errors: list[RowError] = []

        def err(field: str, message: str, line=line, row_errors=row_errors) -> None:
            row_errors.append(RowError(line, field, message))

        for name in check_fields(row, FIELDS | EXPORT_ONLY):
            err(name, _("未知字段。"))

        def get(fn, *args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except FieldError as fe:
                err(fe.field, fe.message)
            except ValidationError as ve:
                err(ve.field or "-", ve.message)
            return None

        ref = get(text, row, "ref", required=True, max_len=64)
        kind = get(choice, row, "kind", KINDS, required=True)
        payer_id = payee_id = None
        for field in ("payer", "payee"):
            value = get(text, row, field, required=True, max_len=64)
            if value is not None:
                if value not in orgs:
                    err(field, _("找不到机构 %(ref)s。", ref=value))
                elif field == "payer":
                    payer_id = orgs[value]
                else:
                    payee_id = orgs[value]
        amount = get(money, row, "amount_cny", required=True, allow_negative=True)
        if amount is not None:
            amount = get(check_amount, amount, "amount_cny")
        paid_at = get(aware_time, row, "paid_at", required=True)
        if paid_at is not None:
            paid_at = get(check_paid_at, paid_at, now, "paid_at")
        confirmed = get(boolean, row, "confirmed", False)
        evidence = get(_evidence, row)
        listing_id = None
        listing_ref = get(text, row, "listing", max_len=64)
        if listing_ref is not None:
            listing_id = db.session.execute(select(Listing.id).where(Listing.ref == listing_ref)).scalar()
            if listing_id is None:
                err("listing", _("找不到资源 %(ref)s。", ref=listing_ref))
        reverses = get(text, row, "reverses", max_len=64)
        if amount is not None and amount < 0 and reverses is None:
            err("reverses", _("负数金额（退款或更正）必须用 reverses 指明被冲正的记录。"))
        if amount is not None and amount > 0 and reverses is not None:
            err("reverses", _("只有负数金额（退款或更正）才能冲正其他记录。"))
        subsidies = []
        for item in get(json_list, row, "declared_subsidies") or []:
            unknown = sorted(set(item) - SUBSIDY_FIELDS)
            if unknown:
                err("declared_subsidies", _("未知字段：%(f)s。", f=", ".join(unknown)))
                continue
            beneficiary = str(item.get("beneficiary") or "").strip()
            b_id = orgs.get(beneficiary)
            if b_id is None:
                err("declared_subsidies", _("找不到受益机构 %(ref)s。", ref=beneficiary))
                continue
            if b_id not in (payer_id, payee_id):
                err("declared_subsidies", _("受益机构 %(ref)s 必须是这笔交易的一方。", ref=beneficiary))
            try:
                sub_amount = money(item, "amount_cny", required=True)
            except FieldError as fe:
                err("declared_subsidies", fe.message)
                continue
            if sub_amount == 0:
                err("declared_subsidies", _("补贴金额不能为零。"))
            source = str(item.get("source") or "").strip()
            if not source or len(source) > 200:
                err("declared_subsidies", _("请填写补贴来源（不超过 200 字）。"))
                continue
            subsidies.append({"beneficiary_uscc": uscc_of[b_id], "amount_cny": sub_amount, "source": source})
        if ref is not None:
            if ref in seen:
                err("ref", _("与第 %(n)d 行的 ref 重复。", n=seen[ref]))
            seen.setdefault(ref, line)
        if row_errors:
            errors.extend(row_errors)
            continue
        parsed.append(Parsed(
            line=line, ref=ref, kind=kind, payer_id=payer_id, payee_id=payee_id, amount=amount, paid_at=paid_at,
            confirmed=bool(confirmed), evidence_json=evidence_json(evidence or []), listing_id=listing_id,
            reverses=reverses, subsidies_json=subsidies_json(subsidies),
        ))
    return parsed, errors


def _same(entry: LedgerEntry, p: Parsed, reverses_id: int | None) -> bool:
    def ev_key(js: str) -> list[tuple[str, str]]:
        return sorted((i["type"], i.get("sha256") or "") for i in json.loads(js))

    return (
        entry.kind == p.kind and entry.payer_id == p.payer_id and entry.payee_id == p.payee_id
        and entry.amount_cny == p.amount and entry.paid_at == p.paid_at and entry.listing_id == p.listing_id
        and entry.reverses_id == reverses_id and entry.subsidies_json == p.subsidies_json
        and ev_key(evidence_json(entry.evidence)) == ev_key(p.evidence_json)
        and entry.both_confirmed == p.confirmed
    )


def import_rows(rows: list[tuple[int, dict[str, Any]]], actor: Any = "cli", source: str = "import",
                now: dt.datetime | None = None, filename: str = "") -> ImportResult:
    """Validate every row, then append the new ones in one transaction, or nothing at all."""
    now = now or dt.datetime.now(dt.UTC)
    parsed, errors = parse_rows(rows, now)
    # lock the chain first: what is left to reverse cannot change under us (lock order as services)
    head = chain.lock_head(chain.ENTRIES)
    refs = [p.ref for p in parsed] + [p.reverses for p in parsed if p.reverses]
    existing: dict[str, LedgerEntry] = {}
    for i in range(0, len(refs), 500):
        chunk = refs[i:i + 500]
        for e in db.session.execute(select(LedgerEntry).where(LedgerEntry.ref.in_(chunk))).scalars():
            existing[e.ref] = e
    # what is left to reverse, per ref (entries in the database and earlier rows of this file)
    left: dict[str, Decimal] = {}
    in_file: dict[str, Parsed] = {}
    todo: list[Parsed] = []
    result = ImportResult()
    for p in parsed:
        target = None
        if p.reverses:
            target = existing.get(p.reverses) or in_file.get(p.reverses)
            if target is None:
                errors.append(RowError(p.line, "reverses", _("找不到被冲正的记录 %(ref)s（须在本文件前面或已导入）。", ref=p.reverses)))
                continue
            t_kind, t_payer, t_payee = target.kind, target.payer_id, target.payee_id
            t_amount = target.amount_cny if isinstance(target, LedgerEntry) else target.amount
            t_paid = target.paid_at
            if t_amount < 0:
                errors.append(RowError(p.line, "reverses", _("不能冲正一笔退款，请冲正原付款。")))
                continue
            if (t_kind, t_payer, t_payee) != (p.kind, p.payer_id, p.payee_id):
                errors.append(RowError(p.line, "reverses", _("冲正记录的类型、付款方和收款方必须与原记录一致。")))
                continue
            if p.paid_at < t_paid:
                errors.append(RowError(p.line, "paid_at", _("退款时间不能早于原付款时间。")))
        old = existing.get(p.ref)
        if old is not None:
            reverses_id = existing[p.reverses].id if p.reverses and p.reverses in existing else None
            if not _same(old, p, reverses_id):
                errors.append(RowError(p.line, "ref", _("记录 %(ref)s 已存在且内容不同；台账不能修改，请导入一笔冲正记录。", ref=p.ref)))
            else:
                result.unchanged += 1
            continue
        if p.reverses:
            if p.reverses not in left:
                left[p.reverses] = chain.remaining(target) if isinstance(target, LedgerEntry) else target.amount
            if -p.amount > left[p.reverses]:
                errors.append(RowError(p.line, "amount_cny", _("退款金额超过原记录 %(ref)s 剩余可冲正金额 %(left)s。",
                                                              ref=p.reverses, left=f"{left[p.reverses]:,.2f}")))
                continue
            left[p.reverses] += p.amount
        in_file[p.ref] = p
        todo.append(p)
    if errors:
        raise ImportErrors(sorted(errors, key=lambda e: e.line))  # the boundary rolls back (head lock)
    if not todo:
        return result
    ids = {ref: e.id for ref, e in existing.items()}
    for p in todo:
        entry = chain.append_entry(
            head, ref=p.ref, kind=p.kind, payer_id=p.payer_id, payee_id=p.payee_id, contract_id=None,
            listing_id=p.listing_id, amount_cny=p.amount, paid_at=p.paid_at,
            reverses_id=ids.get(p.reverses) if p.reverses else None, idempotency_key=f"import:{p.ref}",
            confirmed_by_import=p.confirmed, evidence_json=p.evidence_json, subsidies_json=p.subsidies_json,
            recorded_at=now, source=source,
            payer_confirmed_at=now if p.confirmed else None, payee_confirmed_at=now if p.confirmed else None,
        )
        ids[p.ref] = entry.id
        result.created += 1
    audit.record(actor, "ledger.import", object_type="ledger_import", object_id=filename or None,
                 after={"created": result.created, "unchanged": result.unchanged})
    db.session.flush()
    return result


# ---------------------------------------------------------------- export
def export_records(batch: int = 5000) -> Iterator[dict[str, Any]]:
    """Every entry in seq order, in the import format plus hashes; streamed."""
    payer, payee = aliased(Organisation), aliased(Organisation)
    rev = aliased(LedgerEntry)
    stmt = (
        select(LedgerEntry, payer.ref, payer.uscc, payee.ref, payee.uscc, Listing.ref, rev.ref)
        .join(payer, payer.id == LedgerEntry.payer_id)
        .join(payee, payee.id == LedgerEntry.payee_id)
        .outerjoin(Listing, Listing.id == LedgerEntry.listing_id)
        .outerjoin(rev, rev.id == LedgerEntry.reverses_id)
        .order_by(LedgerEntry.seq)
        .options(selectinload(LedgerEntry.events))  # evidence added later: one query per batch, not per entry
        .execution_options(yield_per=batch)
    )
    org_refs: dict[str, str] = {}  # USCC -> the key the export names an organisation by
    for e, pr, pu, er, eu, listing_ref, rev_ref in db.session.execute(stmt):
        evidence = [i["type"] if not i.get("sha256") else i for i in e.evidence]
        record: dict[str, Any] = {
            "ref": e.ref, "kind": e.kind, "payer": pr or pu, "payee": er or eu,
            "amount_cny": f"{e.amount_cny:.2f}",
            "paid_at": to_local(e.paid_at).isoformat(),
            "confirmed": e.both_confirmed, "evidence": evidence,
        }
        if listing_ref:
            record["listing"] = listing_ref
        if rev_ref:
            record["reverses"] = rev_ref
        subs = e.declared_subsidies
        if subs:
            for s in subs:
                uscc = s["beneficiary_uscc"]
                if uscc not in org_refs:
                    ref = db.session.execute(select(Organisation.ref).where(Organisation.uscc == uscc)).scalar()
                    org_refs[uscc] = ref or uscc
            record["declared_subsidies"] = [
                {"beneficiary": org_refs[s["beneficiary_uscc"]], "amount_cny": s["amount_cny"], "source": s["source"]}
                for s in subs
            ]
        record.update(seq=e.seq, prev_hash=e.prev_hash, entry_hash=e.entry_hash)
        db.session.expunge(e)
        yield record


def _evidence_cell(record: dict[str, Any]) -> str:
    value = record["evidence"]
    return ";".join(value) if all(isinstance(v, str) for v in value) else json.dumps(value, ensure_ascii=False)


EXPORT_COLUMNS = exports.fields(
    "ref", "kind", "payer", "payee", "amount_cny", "paid_at", "confirmed", "evidence", "listing", "reverses",
    "declared_subsidies", "seq", "prev_hash", "entry_hash",
    kinds={"amount_cny": "money", "confirmed": "bool", "seq": "int"},
    getters={"evidence": _evidence_cell, "declared_subsidies": exports.as_json("declared_subsidies")},
)


def export_table() -> exports.Table:
    """Every entry in chain order: the import format plus seq/prev_hash/entry_hash (paid_at stays ISO text)."""
    return exports.Table("ledger", EXPORT_COLUMNS, export_records())


__all__ = ["import_rows", "parse_rows", "export_records", "export_table"]
