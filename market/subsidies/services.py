"""The subsidy engine's service: load a year with set-based SQL, call the pure rules, shape the results.

Queries per computation, whatever the size of the year: the organisations' refs, their fact
timelines and group map (``market.orgs.services``), the declared other subsidies
(``market.ledger.services.declared_subsidies``), the payments that this year's refunds reverse, the
evidence added later by events, and ONE streamed query over the year's entries, each entry once per
side (payer and payee), ordered by beneficiary. The rules run one beneficiary at a time, so memory
holds one beneficiary's entries (plus the organisations), not the year: PostgreSQL streams through a
server-side cursor, SQLite's cursor is lazy by nature.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, select, union_all

from market.domain.completeness import EntryFacts, findings
from market.domain.declared import DeclaredSubsidy
from market.domain.localtime import year_bounds
from market.extensions import db
from market.ledger.services import declared_subsidies
from market.orgs.services import fact_timelines, group_map
from models.ledger import EventKind, LedgerEntry, LedgerEvent
from models.listings import Listing
from models.organisations import Organisation

from . import parameters as parameters_mod
from .parameters import LEDGER_RULES, Parameters
from .rules import Payment, Result, compute

EVIDENCE_TYPES = ("contract", "invoice", "payment_record", "other")
_EVIDENCE_MARKS = tuple((t, f'"type":"{t}"') for t in EVIDENCE_TYPES)  # canonical JSON (models.ledger)
STREAM_BATCH = 5_000


def _evidence_types(raw: str) -> frozenset[str]:
    """The types in an entry's canonical ``evidence_json``, without parsing JSON a million times."""
    if raw == "[]":
        return frozenset()
    return frozenset(t for t, mark in _EVIDENCE_MARKS if mark in raw)


def _entry_columns(le, li):
    # the state columns as booleans computed by the database: no datetime conversion per row
    return (le.c.id, le.c.ref, le.c.kind, le.c.payer_id, le.c.payee_id, le.c.amount_cny, le.c.paid_at,
            le.c.reverses_id, li.c.kind.label("listing_kind"),
            case((le.c.payer_confirmed_at.is_(None), False), else_=True).label("payer_confirmed"),
            case((le.c.payee_confirmed_at.is_(None), False), else_=True).label("payee_confirmed"),
            case((le.c.disputed_at.is_not(None) & le.c.dispute_resolved_at.is_(None), True), else_=False).label("in_dispute"),
            le.c.evidence_json)


def _facts(row: Any, added: dict[int, set[str]], original: EntryFacts | None = None) -> EntryFacts:
    types = _evidence_types(row.evidence_json)
    if row.id in added:
        types = types | added[row.id]
    return EntryFacts(
        payer_confirmed=bool(row.payer_confirmed),
        payee_confirmed=bool(row.payee_confirmed),
        in_dispute=bool(row.in_dispute),
        evidence_types=types,
        reverses=original,
        is_refund=row.reverses_id is not None,
    )


def _payment(row: Any, facts: EntryFacts, declared: tuple[DeclaredSubsidy, ...]) -> Payment:
    found = findings(facts)
    return Payment(
        id=row.id, ref=row.ref, kind=row.kind, payer_id=row.payer_id, payee_id=row.payee_id,
        amount=Decimal(row.amount_cny), paid_at=row.paid_at, listing_kind=row.listing_kind,
        reverses=row.reverses_id, problems=tuple(f.reason.value for f in found), declared=declared,
        missing_evidence=next((f.missing for f in found if f.missing), ()),
    )


def org_refs() -> dict[int, str]:
    """Organisation id → its ``ref`` (CONTRACT.md names beneficiaries by ref; the USCC when it has none)."""
    rows = db.session.execute(select(Organisation.id, func.coalesce(Organisation.ref, Organisation.uscc)))
    return {org_id: ref for org_id, ref in rows}


def iter_year(year: int, params: Parameters | None = None,
              beneficiary_ids: Iterable[int] | None = None) -> Iterator[Result]:
    """Every (beneficiary, rule) result of ``year``, ordered by beneficiary ref then rule, streamed
    (only ``beneficiary_ids``' when given)."""
    ids = list(beneficiary_ids) if beneficiary_ids is not None else None
    params = params or parameters_mod.default()
    start, end = year_bounds(year)
    le, li, ev = LedgerEntry.__table__, Listing.__table__, LedgerEvent.__table__
    in_year = (le.c.paid_at >= start) & (le.c.paid_at < end)
    reversed_ids = select(le.c.reverses_id).where(in_year, le.c.reverses_id.is_not(None))

    timelines = fact_timelines()
    groups = group_map()
    declared = declared_subsidies(year)
    per_entry: dict[int, list[DeclaredSubsidy]] = defaultdict(list)
    for d in declared:
        if d.entry_id is not None:
            per_entry[d.entry_id].append(d)
    org_level = [d for d in declared if d.entry_id is None]

    added: dict[int, set[str]] = defaultdict(set)  # evidence attached after recording (events)
    ev_rows = db.session.execute(
        select(ev.c.entry_id, ev.c.doc_type).where(
            ev.c.kind == EventKind.EVIDENCE_ADDED,
            ev.c.entry_id.in_(select(le.c.id).where(in_year | le.c.id.in_(reversed_ids))),
        )
    )
    for entry_id, doc_type in ev_rows:
        added[entry_id].add(doc_type)

    originals: dict[int, Payment] = {}
    original_facts: dict[int, EntryFacts] = {}
    stmt = (select(*_entry_columns(le, li)).select_from(le.outerjoin(li, li.c.id == le.c.listing_id))
            .where(le.c.id.in_(reversed_ids)))
    for row in db.session.execute(stmt):
        original_facts[row.id] = facts = _facts(row, added)
        originals[row.id] = _payment(row, facts, tuple(per_entry.get(row.id, ())))

    org = Organisation.__table__

    def side(beneficiary, role: str):
        # only the entry kinds that some rule paying this side reads (every version, every year)
        kinds = sorted({f.entry_kind for r in LEDGER_RULES if params.rule(r).beneficiary == role
                        for v in params.rule(r).versions for f in v.base})
        stmt = (select(beneficiary.label("ben"), *_entry_columns(le, li))
                .select_from(le.outerjoin(li, li.c.id == le.c.listing_id)).where(in_year, le.c.kind.in_(kinds)))
        return stmt if ids is None else stmt.where(beneficiary.in_(ids))

    sides = union_all(side(le.c.payer_id, "payer"), side(le.c.payee_id, "payee")).subquery()
    ordered = (select(sides).join(org, org.c.id == sides.c.ben)
               .order_by(func.coalesce(org.c.ref, org.c.uscc), sides.c.ben, sides.c.paid_at, sides.c.id))
    # yield_per: a server-side cursor on PostgreSQL, for this statement only
    result = db.session.execute(ordered.execution_options(yield_per=STREAM_BATCH))

    def finish(ben: int, rows: list[Any]) -> list[Result]:
        payments: dict[int, Payment] = {}
        for row in rows:
            if row.id in payments:  # one organisation on both sides: the row came twice
                continue
            original = original_facts.get(row.reverses_id) if row.reverses_id is not None else None
            payments[row.id] = _payment(row, _facts(row, added, original), tuple(per_entry.get(row.id, ())))
        for p in list(payments.values()):
            if p.reverses is not None and p.reverses not in payments:
                payments[p.reverses] = originals[p.reverses]
        return compute(year, payments.values(), timelines, groups, params, org_level, beneficiaries={ben})

    current, rows = None, []
    for partition in result.partitions(STREAM_BATCH):
        for row in partition:
            if row.ben != current:
                if rows:
                    yield from finish(current, rows)
                current, rows = row.ben, []
            rows.append(row)
    if rows:
        yield from finish(current, rows)


def compute_year(year: int, params: Parameters | None = None) -> list[Result]:
    return list(iter_year(year, params))


# ---------------------------------------------------------------- the public shape (CONTRACT.md)
def money(amount: Decimal) -> str:
    return f"{amount:.2f}"


def as_contract(result: Result, refs: dict[int, str]) -> dict[str, Any]:
    """One result as CONTRACT.md "Subsidies" specifies it."""
    return {
        "beneficiary": refs.get(result.beneficiary_id, str(result.beneficiary_id)),
        "rule": result.rule,
        "year": result.year,
        "base_cny": money(result.base),
        "amount_cny": money(result.amount),
        "capped": result.capped,
        "entries": [ln.ref for ln in result.lines],
        "excluded": [{"entry": e.ref, "reason": e.reason, "message": e.message} for e in result.exclusions],
        "parameters": result.parameters,
    }


def contract_rows(year: int, params: Parameters | None = None) -> Iterator[dict[str, Any]]:
    refs = org_refs()
    for result in iter_year(year, params):
        yield as_contract(result, refs)


def results_for(org_id: int, year: int, params: Parameters | None = None) -> list[Result]:
    """One organisation's results of ``year`` (the calculation sheet): the same computation, one beneficiary."""
    return list(iter_year(year, params, beneficiary_ids=[org_id]))


__all__ = ["iter_year", "compute_year", "as_contract", "contract_rows", "org_refs", "results_for", "LEDGER_RULES"]
