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
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import aliased, selectinload

from market import audit, exports, imports
from market import evidence as evidence_store
from market.domain.localtime import to_local
from market.domain.refunds import Original, refund_problems
from market.errors import ValidationError
from market.extensions import db
from market.imports import (
    FieldError,
    ImportReport,
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
from .services import (
    EVIDENCE_TYPES,
    check_amount,
    check_paid_at,
    evidence_json,
    refund_message,
    subsidies_json,
)

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
    """Organisation ref or USCC -> id, and id -> USCC (what the ledger binds): two small maps."""
    orgs: dict[str, int] = {}
    uscc_of: dict[int, str] = {}
    for org_id, ref, uscc in db.session.execute(select(Organisation.id, Organisation.ref, Organisation.uscc)):
        orgs[uscc] = org_id
        uscc_of[org_id] = uscc
        if ref:
            orgs[ref] = org_id
    return orgs, uscc_of


@dataclass
class _Context:
    """What the whole file shares: small maps, never the rows themselves."""

    now: dt.datetime
    orgs: dict[str, int]
    uscc_of: dict[int, str]
    seen: dict[str, int] = field(default_factory=dict)  # ref -> first line
    left: dict[str, Decimal] = field(default_factory=dict)  # reversed ref -> what is left to reverse
    unwritten: dict[str, Original] = field(default_factory=dict)  # checked rows not in the database (after an error)


def _parse_row(line: int, row: dict[str, Any], ctx: _Context, listings: dict[str, int],
               report: ImportReport) -> Parsed | None:
    before = report.error_count

    def err(field: str, message: str) -> None:
        report.error(line, field, message)

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
    party: dict[str, int | None] = {"payer": None, "payee": None}
    for name in party:
        value = get(text, row, name, required=True, max_len=64)
        if value is not None:
            if value not in ctx.orgs:
                err(name, _("找不到机构 %(ref)s。", ref=value))
            else:
                party[name] = ctx.orgs[value]
    payer_id, payee_id = party["payer"], party["payee"]
    amount = get(money, row, "amount_cny", required=True, allow_negative=True)
    if amount is not None:
        amount = get(check_amount, amount, "amount_cny")
    paid_at = get(aware_time, row, "paid_at", required=True)
    if paid_at is not None:
        paid_at = get(check_paid_at, paid_at, ctx.now, "paid_at")
    confirmed = get(boolean, row, "confirmed", False)
    evidence = get(_evidence, row)
    listing_id = None
    listing_ref = get(text, row, "listing", max_len=64)
    if listing_ref is not None:
        listing_id = listings.get(listing_ref)
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
        b_id = ctx.orgs.get(beneficiary)
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
        subsidies.append({"beneficiary_uscc": ctx.uscc_of[b_id], "amount_cny": sub_amount, "source": source})
    if ref is not None:
        if ref in ctx.seen:
            err("ref", _("与第 %(n)d 行的 ref 重复。", n=ctx.seen[ref]))
        ctx.seen.setdefault(ref, line)
    if report.error_count > before:
        return None
    return Parsed(
        line=line, ref=ref, kind=kind, payer_id=payer_id, payee_id=payee_id, amount=amount, paid_at=paid_at,
        confirmed=bool(confirmed), evidence_json=evidence_json(evidence or []), listing_id=listing_id,
        reverses=reverses, subsidies_json=subsidies_json(subsidies),
    )


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


def _original(target: LedgerEntry | Original, left: Decimal) -> Original:
    if isinstance(target, Original):
        return Original(target.kind, target.payer_id, target.payee_id, target.paid_at, left, target.is_refund)
    return Original(target.kind, target.payer_id, target.payee_id, target.paid_at, left,
                    is_refund=target.amount_cny < 0)


def import_rows(actor: Any, rows: Iterable[tuple[int, dict[str, Any]]], *, now: dt.datetime | None = None,
                source: str = "import", filename: str = "") -> ImportReport:
    """Check the rows and append the new ones batch by batch in the caller's transaction, under the
    entries chain's lock; refuse the whole file (ImportRefused, the caller rolls back) if any row is
    bad. ``source`` is recorded on each entry ("import", "demo"); ``filename`` in the audit entry."""
    imports.require_import(actor, "ledger.import")
    now = now or dt.datetime.now(dt.UTC)
    report = ImportReport()
    # lock the chain first: what is left to reverse cannot change under us (lock order as services)
    head = chain.lock_head(chain.ENTRIES)
    orgs, uscc_of = _lookup_orgs()
    ctx = _Context(now=now, orgs=orgs, uscc_of=uscc_of)
    batches = imports.Batches(head)
    for batch in imports.batched(rows, report):
        todo, ids = _check_batch(batch, ctx, report)  # ids: ref -> id of the entries this batch reverses
        if report.error_count:
            for p in todo:  # later rows may reverse these: remember them without writing them
                ctx.unwritten[p.ref] = Original(p.kind, p.payer_id, p.payee_id, p.paid_at, p.amount, p.amount < 0)
            continue
        for p in todo:
            entry = chain.append_entry(
                head, ref=p.ref, kind=p.kind, payer_id=p.payer_id, payee_id=p.payee_id, contract_id=None,
                listing_id=p.listing_id, amount_cny=p.amount, paid_at=p.paid_at,
                reverses_id=ids[p.reverses] if p.reverses else None, idempotency_key=f"import:{p.ref}",
                confirmed_by_import=p.confirmed, evidence_json=p.evidence_json, subsidies_json=p.subsidies_json,
                recorded_at=now, source=source,
                payer_confirmed_at=now if p.confirmed else None, payee_confirmed_at=now if p.confirmed else None,
            )
            ids[p.ref] = entry.id  # a later row of the batch may reverse it
            report.created += 1
        batches.release()
    report.refuse_if_errors()
    if report.created:
        audit.record(actor, "ledger.import", object_type="ledger_import", object_id=filename or None,
                     after={"created": report.created, "unchanged": report.unchanged})
    return report


def _check_batch(batch: list[tuple[int, dict[str, Any]]], ctx: _Context,
                 report: ImportReport) -> tuple[list[Parsed], dict[str, int]]:
    """The batch's rows checked against the database and the earlier rows: the new ones to append,
    and the ids of the entries already in the database that they reverse."""
    listing_refs = {str(row["listing"]).strip() for _line, row in batch if row.get("listing")}
    listings = dict(db.session.execute(select(Listing.ref, Listing.id).where(Listing.ref.in_(listing_refs))).all())
    parsed = [p for line, row in batch if (p := _parse_row(line, row, ctx, listings, report)) is not None]
    refs = [p.ref for p in parsed] + [p.reverses for p in parsed if p.reverses]
    existing: dict[str, LedgerEntry] = {}
    for i in range(0, len(refs), 500):
        for e in db.session.execute(select(LedgerEntry).where(LedgerEntry.ref.in_(refs[i:i + 500]))).scalars():
            existing[e.ref] = e
    in_batch: dict[str, Parsed] = {}
    todo: list[Parsed] = []
    ids: dict[str, int] = {}
    for p in parsed:
        target: LedgerEntry | Original | None = None
        if p.reverses:
            target = existing.get(p.reverses) or ctx.unwritten.get(p.reverses)
            if target is None and p.reverses in in_batch:
                q = in_batch[p.reverses]
                target = Original(q.kind, q.payer_id, q.payee_id, q.paid_at, q.amount, q.amount < 0)
            if target is None:
                report.error(p.line, "reverses", _("找不到被冲正的记录 %(ref)s（须在本文件前面或已导入）。", ref=p.reverses))
                continue
        old = existing.get(p.ref)
        if old is not None:
            reverses_id = existing[p.reverses].id if p.reverses and p.reverses in existing else None
            if not _same(old, p, reverses_id):
                report.error(p.line, "ref", _("记录 %(ref)s 已存在且内容不同；台账不能修改，请导入一笔冲正记录。", ref=p.ref))
            else:
                report.unchanged += 1
            continue
        if target is not None:
            if p.reverses not in ctx.left:
                ctx.left[p.reverses] = (chain.remaining(target) if isinstance(target, LedgerEntry)
                                        else target.remaining)
            left = ctx.left[p.reverses]
            problems = refund_problems(_original(target, left), -p.amount, p.paid_at,
                                       kind=p.kind, payer_id=p.payer_id, payee_id=p.payee_id)
            for code in problems:
                report.error(p.line, *refund_message(code, amount=-p.amount, left=left, ref=p.reverses))
            if problems:
                continue
            ctx.left[p.reverses] = left + p.amount
            if isinstance(target, LedgerEntry):
                ids[p.reverses] = target.id
        in_batch[p.ref] = p
        todo.append(p)
    return todo, ids


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


__all__ = ["import_rows", "export_records", "export_table"]
