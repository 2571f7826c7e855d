"""The district's ledger: every organisation's entries, filtered, sorted and paged in SQL, with
yearly totals by kind, track and organisation computed by GROUP BY.

Completeness (POLICY.md interpretation 1) is :mod:`market.domain.completeness` translated into SQL
column by column, so a filter on "does not count because ..." runs in the database:

- payments: both confirmations set, no open dispute, and each required evidence type either in the
  hashed ``evidence_json`` (canonical JSON: ``"type":"invoice"`` appears literally; a filename cannot
  fake it because JSON escapes its quotes) or in a later ``evidence_added`` event;
- refunds: no open dispute, and the reversed payment complete (a refund never reverses a refund:
  ``ledger.services.record_refund``).

The codes are stored, as bits, in ``ledger_fact`` (models/dashboard.py, kept in step by ``facts``): the
district ledger filters, sorts and sums those narrow rows instead of re-deriving completeness from
a million wide entries per request. ``tests/integration/dashboard`` checks the stored codes against ``ledger.services.completeness`` entry by
entry, and every total against a Python recomputation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, exists, func, literal, not_, or_, select
from sqlalchemy.orm import aliased, selectinload

from market.domain.completeness import REQUIRED_EVIDENCE, Reason
from market.extensions import db
from models.dashboard import LedgerFact, LedgerYearTotal
from models.ledger import EventKind, LedgerEntry, LedgerEvent
from models.listings import Listing
from models.organisations import Organisation

from . import cache
from .sqltime import no_jit

Orig = aliased(LedgerEntry, name="orig")
Lst = aliased(Listing, name="lst")


def _has_evidence(e, doc_type: str):
    return or_(
        e.evidence_json.like(f'%"type":"{doc_type}"%'),
        exists().where(LedgerEvent.entry_id == e.id, LedgerEvent.kind == EventKind.EVIDENCE_ADDED,
                       LedgerEvent.doc_type == doc_type),
    )


def _in_dispute(e):
    return and_(e.disputed_at.is_not(None), e.dispute_resolved_at.is_(None))


def _all_evidence(e):
    return and_(*(_has_evidence(e, t) for t in sorted(REQUIRED_EVIDENCE)))


def _payment_complete(e):
    return and_(e.payer_confirmed_at.is_not(None), e.payee_confirmed_at.is_not(None), not_(_in_dispute(e)),
                _all_evidence(e))


E = LedgerEntry
REFUND = E.reverses_id.is_not(None)
PAYMENT = E.reverses_id.is_(None)

# reason code -> SQL condition on (ledger_entry, orig): true when the reason applies
REASON_SQL = {
    Reason.PAYER_NOT_CONFIRMED: and_(PAYMENT, E.payer_confirmed_at.is_(None)),
    Reason.PAYEE_NOT_CONFIRMED: and_(PAYMENT, E.payee_confirmed_at.is_(None)),
    Reason.DISPUTED: _in_dispute(E),
    Reason.MISSING_EVIDENCE: and_(PAYMENT, not_(_all_evidence(E))),
    Reason.REVERSED_ENTRY_INCOMPLETE: and_(REFUND, not_(_payment_complete(Orig))),
}


def _flag(cond):
    return case((cond, 1), else_=0)


def with_original(stmt):
    """Join the reversed payment (refunds only) that ``REVERSED_ENTRY_INCOMPLETE`` reads."""
    return stmt.outerjoin(Orig, E.reverses_id == Orig.id)


# ---------------------------------------------------------------- filters (on ledger_fact)
F = LedgerFact
BITS = {code: 1 << i for i, code in enumerate(REASON_SQL)}  # the order of REASON_SQL, as facts store it
STATUS_CHOICES = ("complete", "incomplete", *(r.value for r in Reason))
SORTS = {  # whitelisted sort keys -> indexed columns of ledger_fact (ties broken by seq)
    "seq": F.seq, "paid_at": F.paid_at, "amount": F.amount_cny,
}


@dataclass
class LedgerFilters:
    year: int | None = None
    kind: str | None = None
    track: str | None = None
    org_id: int | None = None
    status: str | None = None  # complete | incomplete | a Reason code
    disputed: bool | None = None
    sort: str = "seq"
    desc: bool = True


def apply_filters(stmt, f: LedgerFilters):
    """Filters on ``ledger_fact`` (the statement must select from or join it)."""
    if f.year is not None:
        stmt = stmt.where(F.year == f.year)
    if f.kind:
        stmt = stmt.where(F.kind == f.kind)
    if f.track:
        stmt = stmt.where(F.track == f.track)
    if f.org_id is not None:
        stmt = stmt.where(or_(F.payer_id == f.org_id, F.payee_id == f.org_id))
    if f.disputed is not None:
        stmt = stmt.where(F.disputed.is_(f.disputed))
    if f.status == "complete":
        stmt = stmt.where(F.reasons == 0)
    elif f.status == "incomplete":
        stmt = stmt.where(F.reasons > 0)
    elif f.status in STATUS_CHOICES:  # the bit sets holding this reason: IN (...) uses the index and its statistics
        bit = BITS[Reason(f.status)]
        stmt = stmt.where(F.reasons.in_([v for v in range(1 << len(BITS)) if v & bit]))
    return stmt


def _ordered(stmt, f: LedgerFilters):
    col = SORTS.get(f.sort, F.seq)
    if f.desc:
        return stmt.order_by(col.desc(), F.seq.desc())
    return stmt.order_by(col.asc(), F.seq.asc())


def entries_stmt(f: LedgerFilters):
    """The filtered entries, sorted; the same statement feeds the page and the export."""
    stmt = select(E).join(F, F.entry_id == E.id)
    return _ordered(apply_filters(stmt, f), f)


def _loaded(stmt):
    return stmt.options(
        selectinload(E.events), selectinload(E.reverses).selectinload(LedgerEntry.events),
        selectinload(E.payer), selectinload(E.payee), selectinload(E.listing),
    )


@dataclass
class EntryPage:
    items: list[LedgerEntry]
    page: int
    per_page: int
    has_next: bool

    @property
    def has_prev(self) -> bool:
        return self.page > 1


def page_of_entries(f: LedgerFilters, page: int = 1, per_page: int = 50) -> EntryPage:
    """One page (LIMIT/OFFSET on an indexed sort; one row more tells whether a next page exists,
    so no COUNT(*) over a million rows per request)."""
    no_jit()
    page = max(1, min(page, 100_000))
    rows = list(db.session.execute(
        _loaded(entries_stmt(f)).limit(per_page + 1).offset((page - 1) * per_page)).scalars())
    return EntryPage(rows[:per_page], page, per_page, len(rows) > per_page)


def all_entries(f: LedgerFilters, batch: int = 1000):
    """Every filtered entry in the page order, streamed in batches (for the export)."""
    no_jit()
    offset = 0
    while True:
        rows = list(db.session.execute(_loaded(entries_stmt(f)).limit(batch).offset(offset)).scalars())
        yield from rows
        if len(rows) < batch:
            return
        offset += batch
        for e in rows:  # keep memory flat on a large export (the organisations stay: a few thousand at most)
            for ev in e.__dict__.get("events", ()):
                db.session.expunge(ev)
            db.session.expunge(e)


def reason_codes(entry_ids: list[int]) -> dict[int, tuple[str, ...]]:
    """The reason codes ``ledger_fact`` holds for these entries (the page's words come from Python)."""
    if not entry_ids:
        return {}
    rows = db.session.execute(select(F.entry_id, F.reasons).where(F.entry_id.in_(entry_ids)))
    return {eid: tuple(code.value for code, bit in BITS.items() if bits & bit) for eid, bits in rows}


# ---------------------------------------------------------------- totals (GROUP BY)
@dataclass
class TotalRow:
    key: Any
    entries: int
    amount: Decimal
    counted: Decimal
    label: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _money(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def totals_by(dimension: str, f: LedgerFilters, limit: int | None = None) -> list[TotalRow]:
    """Net amount and counted amount by ``year`` | ``kind`` | ``track`` | ``payee`` | ``payer``, for
    the filtered entries (GROUP BY on ``ledger_fact``). Year in Beijing time; an organisation appears
    under the side it is on. Cached by ledger version (``cache``) unless it depends on tracks."""
    if dimension in ("year", "kind") and not (f.track or f.org_id or f.status or f.disputed is not None):
        return _totals_from_year_table(dimension, f)
    if dimension == "track" or f.track:
        return _totals_by(dimension, f, limit)
    key = ("totals", dimension, f.year, f.kind, f.org_id, f.status, f.disputed, limit)
    return [TotalRow(**vars(r)) for r in cache.cached(key, lambda: _totals_by(dimension, f, limit))]


def _totals_from_year_table(dimension: str, f: LedgerFilters) -> list[TotalRow]:
    """The same totals from ``ledger_year_total`` (a few rows kept in step by ``facts``)."""
    T = LedgerYearTotal
    key = T.year if dimension == "year" else T.kind
    stmt = select(key, func.sum(T.entries), func.sum(T.amount_cny),
                  func.sum(case((T.counted.is_(True), T.amount_cny), else_=literal(0)))).group_by(key)
    if f.year is not None:
        stmt = stmt.where(T.year == f.year)
    if f.kind:
        stmt = stmt.where(T.kind == f.kind)
    stmt = stmt.having(func.sum(T.entries) > 0).order_by(key)
    return [TotalRow(r[0], int(r[1]), _money(r[2]), _money(r[3])) for r in db.session.execute(stmt)]


def _totals_by(dimension: str, f: LedgerFilters, limit: int | None) -> list[TotalRow]:
    amount = func.sum(F.amount_cny)
    counted = func.sum(case((F.reasons == 0, F.amount_cny), else_=literal(0)))
    n = func.count()
    key = {"year": F.year, "kind": F.kind, "track": func.coalesce(F.track, ""), "payee": F.payee_id,
           "payer": F.payer_id}.get(dimension)
    if key is None:
        raise ValueError(dimension)
    stmt = select(key.label("k"), n, amount, counted).select_from(F)
    stmt = apply_filters(stmt, f).group_by(key)
    if dimension in ("payee", "payer"):
        stmt = stmt.order_by(amount.desc(), key)
    else:
        stmt = stmt.order_by(key)
    if limit:
        stmt = stmt.limit(limit)
    rows = [TotalRow(r[0], int(r[1]), _money(r[2]), _money(r[3])) for r in db.session.execute(stmt)]
    if dimension in ("payee", "payer") and rows:
        names = dict(db.session.execute(
            select(Organisation.id, Organisation.name).where(Organisation.id.in_([r.key for r in rows]))).all())
        for r in rows:
            r.label = names.get(r.key, "")
    return rows


def year_choices() -> list[int]:
    """Years with entries, newest first (min/max use the paid_at index)."""
    lo, hi = db.session.execute(select(func.min(F.year), func.max(F.year))).one()
    if lo is None:
        return []
    return list(range(hi, lo - 1, -1))
