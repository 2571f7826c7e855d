"""The subsidy engine's service: load a year with set-based SQL, call the pure rules, shape the results.

Queries per computation, whatever the size of the year: the organisations' refs, their fact
timelines and group map (``market.orgs.services``), the declared other subsidies
(``market.ledger.services.declared_subsidies``), the payments that this year's refunds reverse, the
evidence added later by events, and ONE streamed query over the year's entries.

The whole year (``iter_year``, what ``subsidies compute`` and the budget read) comes as *groups*
(:func:`_year_groups`): the database gathers each beneficiary's entries per side, kind, completeness
and stretch of parameter versions, with their members as columns of text, ordered by beneficiary ref, and
``rules.compute_plain`` judges each group's rule and version once and each member's parties' facts
through a memo; a result's lines are made from those columns when first read. One organisation's year
(``results_for``: the sheet, the estimates, the entry page) reads its rows one by one through the payer
and payee indexes. Either way the rules run one beneficiary at a time, so memory holds one beneficiary's
entries (plus the organisations), not the year: PostgreSQL streams the whole year in libpq's row mode
(:func:`_stream_all`) — sent before the other queries on a second connection with the session's snapshot
when the session's transaction has written nothing (:class:`_EarlyGroups`; the refunds' originals then come
the same way on a third, :class:`_RowsAhead`; neither waits for a connection the pool cannot spare) — and one
organisation's through a server-side cursor; SQLite's cursor is lazy by nature. A beneficiary whose year
needs best-of (an other subsidy declared, self-dealing, a decision of an earlier year) goes through
``rules.compute``; the paths are proven equal where both apply (tests/unit/test_subsidy_rules.py,
tests/integration/subsidies/test_subsidy_engine.py).
"""

from __future__ import annotations

import bisect
import datetime as dt
import gc
import json
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import ARRAY, Integer, String, case, cast, func, literal, literal_column, or_, select, text, true, type_coerce, union, union_all
from sqlalchemy.pool import QueuePool
from sqlalchemy.sql.elements import UnaryExpression
from sqlalchemy.sql.operators import custom_op
from sqlalchemy.types import NullType

from market.domain.completeness import EntryFacts, findings
from market.domain.declared import DeclaredSubsidy
from market.domain.localtime import day_start, local_date, year_bounds
from market.extensions import db
from market.ledger.services import declared_subsidies
from market.orgs.services import fact_timelines, group_map
from models.ledger import EVIDENCE_BITS, EventKind, LedgerEntry, LedgerEvent
from models.listings import Listing
from models.organisations import ExternalSubsidy, Organisation

from . import parameters as parameters_mod
from .parameters import LEDGER_RULES, LISTING_KINDS, Parameters
from .rules import Payment, PlainEntry, PlainGroup, PlainJudge, Result, compute, compute_plain, from_iso, new_tuple, text_columns

EVIDENCE_TYPES = ("contract", "invoice", "payment_record", "other")
STREAM_BATCH = 5_000
# an entry's state as one integer the database computes (no datetime, JSON or boolean conversion per row): these
# bits and the evidence types' (models.ledger.EVIDENCE_BITS, the generated ``evidence_bits``)
PAYER_CONFIRMED, PAYEE_CONFIRMED, IN_DISPUTE = 1, 2, 4


def _state(le):
    """Confirmations, an open dispute and the evidence types of the canonical ``evidence_json`` as the bits
    above: the evidence types are the database's generated ``evidence_bits`` (models.ledger: searching the
    JSON texts of a year per (entry, side) was a third of the year's query)."""
    bit = lambda cond, value: case((cond, value), else_=0)  # noqa: E731
    return (le.c.evidence_bits + bit(le.c.payer_confirmed_at.is_not(None), PAYER_CONFIRMED)
            + bit(le.c.payee_confirmed_at.is_not(None), PAYEE_CONFIRMED)
            + bit(le.c.disputed_at.is_not(None) & le.c.dispute_resolved_at.is_(None), IN_DISPUTE)).label("state")


def _entry_columns(le, li, raw: bool = False):
    """(id, ref, kind, listing kind, payer, payee, amount, paid_at, reverses, state): read as plain tuples.
    ``raw``: the amount and time as the driver gives them (no per-row type processing: the year's stream
    converts them itself, :func:`_raw_converters`)."""
    amount, paid_at = le.c.amount_cny, le.c.paid_at
    if raw:
        amount, paid_at = type_coerce(amount, NullType()).label("amount_cny"), type_coerce(paid_at, NullType()).label("paid_at")
    return (le.c.id, le.c.ref, le.c.kind, li.c.kind.label("listing_kind"), le.c.payer_id, le.c.payee_id,
            amount, paid_at, le.c.reverses_id, _state(le))


def _raw_converters() -> tuple[Callable[[Any], Decimal], Callable[[Any], dt.datetime]]:
    """What ``Money`` and ``UTCDateTime`` (models.base) make of a raw amount and time, as two plain
    functions: SQLite keeps NUMERIC as a float (SQLAlchemy's own conversion: two decimals, then Decimal)
    and a time as ISO text in UTC; PostgreSQL's driver gives Decimal and an aware datetime."""
    if db.engine.dialect.name == "sqlite":
        parse, two = dt.datetime.fromisoformat, "%.2f".__mod__
        return (lambda v: Decimal(two(v))), (lambda v: parse(v + "+00:00"))  # (an offset is 6× faster than replace)
    utc = dt.UTC
    return Decimal, (lambda v: v if v.tzinfo is utc else v.astimezone(utc))


class _Completeness:
    """Each entry's completeness codes (``market.domain.completeness``) from its state bits, the evidence
    added by events and, for a refund, the original's: remembered per distinct combination, a handful."""

    def __init__(self, added: dict[int, set[str]]):
        self.added = added
        self.known: dict[tuple, tuple[EntryFacts, tuple[str, ...], tuple[str, ...]]] = {}
        self.plain: dict[int, tuple] = {}  # state -> of(...) of an entry with nothing else to it

    def of(self, entry_id: int, state: int, original: tuple | None = None, is_refund: bool = False) -> tuple:
        """(key, problems, missing evidence); ``original``: the key of the payment a refund reverses."""
        if original is None and not is_refund and entry_id not in self.added:  # the usual case
            found = self.plain.get(state)
            if found is None:
                found = self.plain[state] = self._of(state, None, None, False)
            return found
        added = frozenset(self.added[entry_id]) if entry_id in self.added else None
        return self._of(state, added, original, is_refund)

    def _of(self, state: int, added: frozenset[str] | None, original: tuple | None, is_refund: bool) -> tuple:
        key = (state, added, original, is_refund)
        found = self.known.get(key)
        if found is None:
            types = frozenset(t for t, b in EVIDENCE_BITS.items() if state & b) | (added or frozenset())
            facts = EntryFacts(payer_confirmed=bool(state & PAYER_CONFIRMED), payee_confirmed=bool(state & PAYEE_CONFIRMED),
                               in_dispute=bool(state & IN_DISPUTE), evidence_types=types,
                               reverses=self.known[original][0] if original is not None else None, is_refund=is_refund)
            got = findings(facts)
            found = self.known[key] = (facts, tuple(f.reason.value for f in got), next((f.missing for f in got if f.missing), ()))
        return key, found[1], found[2]


def _payment(row: tuple, problems: tuple[str, ...], missing: tuple[str, ...], declared: tuple[DeclaredSubsidy, ...]) -> Payment:
    entry_id, ref, kind, listing_kind, payer_id, payee_id, amount, paid_at, reverses_id = row[:9]
    return Payment(
        id=entry_id, ref=ref, kind=kind, payer_id=payer_id, payee_id=payee_id, amount=Decimal(amount),
        paid_at=paid_at, listing_kind=listing_kind, reverses=reverses_id, problems=problems, declared=declared,
        missing_evidence=missing,
    )


class _Days:
    """The Beijing date of a UTC instant of ``year`` by bisecting the year's precomputed day starts."""

    def __init__(self, year: int):
        first = dt.date(year, 1, 1)
        self.dates = [first + dt.timedelta(days=n) for n in range((dt.date(year + 1, 1, 1) - first).days)]
        self.starts = [day_start(d) for d in self.dates]
        self.end = day_start(dt.date(year + 1, 1, 1))

    def of(self, moment: dt.datetime) -> dt.date:
        if self.starts[0] <= moment < self.end:
            return self.dates[bisect.bisect_right(self.starts, moment) - 1]
        return local_date(moment)


def _unindexed(column):
    """``column`` in a condition SQLite must not answer from an index (its unary ``+``): the year's
    entries are a large share of the table, which one sequential scan reads several times faster than
    an index's random reads. Other databases plan this themselves."""
    if db.engine.dialect.name != "sqlite":
        return column
    return UnaryExpression(column, operator=custom_op("+"), type_=column.type)


def _side_kinds(params: Parameters) -> dict[str, list[str]]:
    """The entry kinds some ledger rule reads for the payer's side and for the payee's."""
    return {role: sorted(kinds) for role, kinds in _side_feeds(params).items()}


def _side_feeds(params: Parameters) -> dict[str, dict[str, frozenset[str]]]:
    """For the payer's side and the payee's: entry kind -> the listing kinds (``unlisted`` for none) with which
    some version of a ledger rule paying that side reads it (``BaseFilter.matches``)."""
    feeds: dict[str, dict[str, frozenset[str]]] = {"payer": {}, "payee": {}}
    for rule_id in LEDGER_RULES:
        rule = params.rule(rule_id)
        for f in (f for v in rule.versions for f in v.base):
            side = feeds[rule.beneficiary]
            side[f.entry_kind] = side.get(f.entry_kind, frozenset()) | f.listing_kinds
    return feeds


def _fed(le, li, kind, feeds: dict[str, frozenset[str]]):
    """The condition that some rule of a side reads an entry: its kind is one of ``feeds`` and its listing's kind
    one of that kind's (what ``BaseFilter.matches`` asks) — a refund by its kind only: it is judged as the payment
    it reverses, whose listing the refund's row does not show. Entries no rule reads (e.g. data access without a
    database listing) would only be grouped, sent and skipped."""
    listed = func.coalesce(func.nullif(li.c.kind, ""), "unlisted")
    per_kind = []
    for entry_kind, listing_kinds in sorted(feeds.items()):
        if listing_kinds >= LISTING_KINDS:
            per_kind.append(kind == entry_kind)
        else:
            per_kind.append((kind == entry_kind) & (le.c.reverses_id.is_not(None) | listed.in_(sorted(listing_kinds))))
    return or_(*per_kind) if per_kind else literal(False)


def _year_sides(le, li, year: int, params: Parameters):
    """The whole year's (beneficiary, counterparty, side, entry columns) rows as a subquery: the entries read
    sequentially, two rows each (joined to a two-row table of sides), each side only if some rule paying
    it reads the entry's kind with its listing's kind (:func:`_fed`)."""
    start, end = year_bounds(year)
    feeds = _side_feeds(params)
    two = union_all(select(literal(0).label("side")), select(literal(1).label("side"))).subquery()
    is_payer = two.c.side == 0
    paid_at, kind = _unindexed(le.c.paid_at), _unindexed(le.c.kind)
    return (select(case((is_payer, le.c.payer_id), else_=le.c.payee_id).label("ben"),
                   case((is_payer, le.c.payee_id), else_=le.c.payer_id).label("cp"), two.c.side,
                   *_entry_columns(le, li, raw=True))
            .select_from(le.outerjoin(li, li.c.id == le.c.listing_id).join(two, true()))
            .where(paid_at >= start, paid_at < end,
                   or_(is_payer & _fed(le, li, kind, feeds["payer"]), ~is_payer & _fed(le, li, kind, feeds["payee"])))
            .subquery())


def _year_rows(le, li, year: int, params: Parameters, ids: list[int] | None):
    """The statement of the year's (beneficiary, entry) rows, ordered by beneficiary ref: each entry once
    for its payer and once for its payee, if some rule paying that side reads the entry's kind."""
    org = Organisation.__table__
    start, end = year_bounds(year)
    if ids is not None:  # a few beneficiaries: through the payer and payee indexes
        kinds = _side_kinds(params)
        entries = le.outerjoin(li, li.c.id == le.c.listing_id)

        def side(beneficiary, role: str):
            return (select(beneficiary.label("ben"), *_entry_columns(le, li, raw=True)).select_from(entries)
                    .where(le.c.paid_at >= start, le.c.paid_at < end, le.c.kind.in_(kinds[role]),
                           beneficiary.in_(ids)))

        rows = union_all(side(le.c.payer_id, "payer"), side(le.c.payee_id, "payee")).subquery()
    else:  # the whole year (the general path for every beneficiary: tests compare it with the groups)
        sides = _year_sides(le, li, year, params)
        rows = select(sides.c.ben, *[c for c in sides.c if c.name not in ("ben", "cp", "side")]).subquery()
    return (select(rows).join(org, org.c.id == rows.c.ben)
            .order_by(func.coalesce(org.c.ref, org.c.uscc), rows.c.ben, rows.c.paid_at, rows.c.id))


def _year_groups(le, li, year: int, params: Parameters, order: list[int] | None = None):
    """The statement of the whole year's groups (:class:`rules.PlainGroup`), ordered by beneficiary ref.

    The database does what is the same for every entry of a group — one row per (beneficiary, side, entry
    kind, listing kind, completeness bits, stretch of days between parameter versions) with its members'
    ids, amounts, UTC times and counterparties each as one comma-separated text and their refs as one array
    (PostgreSQL) or JSON array (SQLite), and the members' sum and earliest time — so the rules judge a
    group's rule, version and completeness once, and Python touches each entry only to look up its
    counterparty's facts. Entries judged on their own are groups of one (``single``): refunds (judged as the
    payment they reverse), entries with evidence added later, and self-dealing.

    ``order`` (PostgreSQL): every organisation's id in ref order (:func:`_ref_order`). The groups are then
    formed in that order — the rows sorted by each beneficiary's position, in parallel workers, and aggregated
    as they come — so the first groups reach Python while the database still aggregates the rest, and no
    sort of the finished (wide) groups is needed. Otherwise the groups are joined to their beneficiary's ref
    and sorted at the end."""
    org, ev = Organisation.__table__, LedgerEvent.__table__
    start, end = year_bounds(year)
    rows = _year_sides(le, li, year, params)
    added = select(ev.c.entry_id).where(ev.c.kind == EventKind.EVIDENCE_ADDED)
    single = case((rows.c.reverses_id.is_not(None) | (rows.c.payer_id == rows.c.payee_id) | rows.c.id.in_(added),
                   rows.c.id), else_=0)
    boundaries = sorted(b for b in map(day_start, _version_days(params)) if start < b < end)
    # the stretch between parameter versions, when some version starts or ends within the year
    stretch = [sum((case((rows.c.paid_at >= b, 1), else_=0) for b in boundaries), literal(0))] if boundaries else []
    # every aggregate of a group reads its rows in the same order: the columns line up
    kind, listing_kind = rows.c.kind, rows.c.listing_kind
    if db.engine.dialect.name == "postgresql":
        # grouped (sorted) byte by byte: the database's collation compares through the C library, several
        # times slower for a million keys, and a group is the same either way
        kind, listing_kind = kind.collate("C").label("kind"), listing_kind.collate("C").label("listing_kind")
        amount = rows.c.amount_cny.cast(String)
        utc = func.timezone("UTC", rows.c.paid_at)
        time, earliest = utc.cast(String), func.min(utc).cast(String)  # ISO text: DateStyle is set by _grouped
        joined = func.string_agg
        total = func.sum(rows.c.amount_cny)
        refs = func.array_agg(rows.c.ref)
    else:
        amount = func.printf("%.2f", rows.c.amount_cny)  # what SQLAlchemy makes of SQLite's NUMERIC
        time = type_coerce(rows.c.paid_at, String())  # stored as fixed-width ISO text in UTC
        earliest = func.min(time)
        joined = func.group_concat
        total = func.sum(cast(func.round(rows.c.amount_cny * 100), Integer))  # exact, in fen
        refs = func.json_group_array(rows.c.ref)
    columns = (rows.c.ben, rows.c.side, kind, listing_kind, rows.c.state,
               single.label("single"), func.max(rows.c.reverses_id).label("reverses_id"),
               joined(rows.c.id.cast(String), ",").label("ids"), joined(amount, ",").label("amounts"),
               joined(time.concat(UTC_OFFSET), ",").label("times"),
               joined(rows.c.cp.cast(String), ",").label("cps"),
               type_coerce(refs, NullType()).label("refs"), total.label("total"),
               earliest.concat(UTC_OFFSET).label("first"))
    keys = (rows.c.ben, rows.c.side, kind, listing_kind, rows.c.state, *stretch, single)
    if order is not None and _dense(order):
        # each beneficiary's position in ref order read from an array indexed by its id, in the parallel workers:
        # the rows need no join, and the only sort is the groups' own (a join to an (id, position) table was
        # planned as a merge join, which sorted every row by id first: ~0.4 s before the first group at 1M entries)
        position = _position_by_id(order)[rows.c.ben].label("position")
        groups = select(position, *columns).group_by(position, *keys).subquery()
        return select(*[c for c in groups.c if c.name != "position"]).order_by(groups.c.position)
    if order is not None:  # ids too sparse for an array: each beneficiary's position as an (id, position) table
        positions = (func.unnest(literal_column(f"'{{{','.join(map(str, order))}}}'::integer[]"))
                     .table_valued("id", with_ordinality="position").render_derived())
        groups = (select(positions.c.position, *columns)
                  .select_from(rows.join(positions, positions.c.id == rows.c.ben))
                  .group_by(positions.c.position, *keys).subquery())
        return select(*[c for c in groups.c if c.name != "position"]).order_by(groups.c.position)
    groups = select(*columns).group_by(*keys).subquery()
    return (select(groups).join(org, org.c.id == groups.c.ben)
            .order_by(func.coalesce(org.c.ref, org.c.uscc), groups.c.ben))


# an array indexed by organisation id up to this long is always small enough to send (100,000 integers)
DENSE_IDS_ANYWAY = 100_000


def _dense(order: list[int]) -> bool:
    """Whether an array indexed by organisation id (:func:`_position_by_id`) stays small: ids come from a
    sequence, so unless many organisations were deleted the largest id is about their count; and up to
    DENSE_IDS_ANYWAY ids the array is small whatever the gaps (a test database's sequences run on)."""
    return bool(order) and min(order) > 0 and max(order) <= max(2 * len(order), DENSE_IDS_ANYWAY)


def _position_by_id(order: list[int]):
    """An integer array literal whose element ``id`` (1-based, PostgreSQL's) is that organisation's position in
    ``order`` (0 for ids not in it), for ``[...]`` indexing."""
    positions = [0] * max(order)
    for position, org_id in enumerate(order, 1):
        positions[org_id - 1] = position
    return type_coerce(literal_column(f"('{{{','.join(map(str, positions))}}}'::integer[])"), ARRAY(Integer))


def _ref_order() -> list[int]:
    """Every organisation's id in the order of its ref (the USCC when it has none): the order of a year's results."""
    org = Organisation.__table__
    return list(db.session.execute(select(org.c.id).order_by(func.coalesce(org.c.ref, org.c.uscc), org.c.id)).scalars())


def _version_days(params: Parameters) -> set[dt.date]:
    """Every day on which the ledger rules' parameters may change: a version's first and (exclusive) last
    day, and the policy's start."""
    days = {params.effective_from}
    for rule_id in LEDGER_RULES:
        for v in params.rule(rule_id).versions:
            days.add(v.effective_from)
            if v.effective_to is not None:
                days.add(v.effective_to)
    return days


def org_refs() -> dict[int, str]:
    """Organisation id → its ``ref`` (CONTRACT.md names beneficiaries by ref; the USCC when it has none)."""
    rows = db.session.execute(select(Organisation.id, func.coalesce(Organisation.ref, Organisation.uscc)))
    return {org_id: ref for org_id, ref in rows}


_collector_lock = threading.Lock()  # one year at a time pauses the collector (threads of one process)


class _LongLived:
    """Keeps Python's cyclic garbage collector off the objects a whole year loads before its first group.

    Loading the year's facts (20,000 organisations' timelines, ~80,000 objects that live exactly as long as the
    year) set off one full collection per year that freed nothing (0.15–0.4 s at 1M entries; issue 10), and every
    later full collection would examine them again. So the collector is paused while they load, and what is
    loaded is then frozen (``gc.freeze``: left out of every collection) until the year ends — exhausted, closed
    early by its caller, or failed; the groups' short-lived objects are collected as usual. It acts only when
    the collector is on, the process has frozen nothing of its own (a pre-forking server may freeze what it
    loaded once: unfreezing would undo that) and no other year holds it (threads); otherwise it does nothing."""

    def __init__(self) -> None:
        self.active = _collector_lock.acquire(blocking=False)
        if self.active and not (gc.isenabled() and gc.get_freeze_count() == 0):
            _collector_lock.release()
            self.active = False
        if self.active:
            gc.disable()
        self.frozen = False

    def loaded(self) -> None:
        """The long-lived objects are loaded: freeze them and let the collector run again."""
        if self.active and not self.frozen:
            gc.freeze()
            self.frozen = True
            gc.enable()

    def end(self) -> None:
        if self.active:
            self.active = False
            if self.frozen:
                gc.unfreeze()
            gc.enable()
            _collector_lock.release()


def iter_year(year: int, params: Parameters | None = None,
              beneficiary_ids: Iterable[int] | None = None) -> Iterator[Result]:
    """Every (beneficiary, rule) result of ``year``, ordered by beneficiary ref then rule, streamed
    (only ``beneficiary_ids``' when given). On PostgreSQL the whole year's stream holds the session's
    connection: run no other query of the session until the iteration ends (or is closed)."""
    return _iter_year(year, params, beneficiary_ids)


def _iter_year(year: int, params: Parameters | None = None, beneficiary_ids: Iterable[int] | None = None,
               plain: bool = True) -> Iterator[Result]:
    """:func:`iter_year`; ``plain=False`` sends every beneficiary through the general rules (tests compare)."""
    ids = list(beneficiary_ids) if beneficiary_ids is not None else None
    long_lived = _LongLived() if ids is None else None  # one organisation's year loads little
    try:
        yield from _year(year, params, ids, plain, long_lived)
    finally:
        if long_lived is not None:
            long_lived.end()


def _year(year: int, params: Parameters | None, ids: list[int] | None, plain: bool,
          long_lived: _LongLived | None) -> Iterator[Result]:
    params = params or parameters_mod.default()
    snapshot = _shareable_snapshot() if ids is None and plain else None
    early = _EarlyGroups.start(snapshot, year, params) if snapshot is not None else None
    # the refunds' originals on a third connection while the session builds the organisations' facts
    ahead = _RowsAhead.start(snapshot, _originals_stmt(_reversed_ids(year, None))) if early is not None else None
    try:
        yield from _year_from(year, params, ids, plain, long_lived, early, ahead)
    finally:
        for connection in (ahead, early):
            if connection is not None:
                connection.close()


def _originals_stmt(reversed_ids):
    """The payments whose ids ``reversed_ids`` (:func:`_reversed_ids`) selects, in any year, as
    :func:`_entry_columns` (raw)."""
    le, li = LedgerEntry.__table__, Listing.__table__
    return (select(*_entry_columns(le, li, raw=True)).select_from(le.outerjoin(li, li.c.id == le.c.listing_id))
            .where(le.c.id.in_(reversed_ids)))


def _reversed_ids(year: int, ids: list[int] | None):
    """The ids of the payments that the refunds of ``year`` (``ids``' only, when given) reverse."""
    le = LedgerEntry.__table__
    return select(le.c.reverses_id).where(_scope(year, ids), le.c.reverses_id.is_not(None))


def _scope(year: int, ids: list[int] | None):
    """The condition of the entries of ``year`` (of which ``ids`` are a party, when given)."""
    le = LedgerEntry.__table__
    start, end = year_bounds(year)
    if ids is None:  # SQLite: the refunds through the reverses_id index, not the year's through paid_at's
        return (_unindexed(le.c.paid_at) >= start) & (_unindexed(le.c.paid_at) < end)
    return (le.c.paid_at >= start) & (le.c.paid_at < end) & (le.c.payer_id.in_(ids) | le.c.payee_id.in_(ids))


def _year_from(year: int, params: Parameters, ids: list[int] | None, plain: bool, long_lived: _LongLived | None,
               early: _EarlyGroups | None, ahead: _RowsAhead | None = None) -> Iterator[Result]:
    le, li, ev = LedgerEntry.__table__, Listing.__table__, LedgerEvent.__table__
    scope, reversed_ids = _scope(year, ids), _reversed_ids(year, ids)
    if ids is None:
        timelines, groups = fact_timelines(), group_map()
    else:  # one sheet, estimate or entry page: only the facts of these beneficiaries and their counterparties
        involved = set(ids)
        parties = union(select(le.c.payer_id, le.c.payee_id).where(scope),  # a union: each side through its index
                        select(le.c.payer_id, le.c.payee_id).where(le.c.id.in_(reversed_ids)))
        for payer, payee in db.session.execute(parties):
            involved.update((payer, payee))
        timelines, groups = fact_timelines(involved), group_map(involved)
    declared = declared_subsidies(year, beneficiary_ids=ids)
    per_entry: dict[int, list[DeclaredSubsidy]] = defaultdict(list)
    org_level: dict[int, list[DeclaredSubsidy]] = defaultdict(list)  # by beneficiary: each is asked for its own
    for d in declared:
        if d.entry_id is not None:
            per_entry[d.entry_id].append(d)
        else:
            org_level[d.beneficiary_id].append(d)

    added: dict[int, set[str]] = defaultdict(set)  # evidence attached after recording (events)
    ev_rows = db.session.execute(  # from the (few) events to their entries
        select(ev.c.entry_id, ev.c.doc_type).join(le, le.c.id == ev.c.entry_id)
        .where(ev.c.kind == EventKind.EVIDENCE_ADDED, scope | le.c.id.in_(reversed_ids))
    )
    for entry_id, doc_type in ev_rows:
        added[entry_id].add(doc_type)
    completeness = _Completeness(dict(added))
    days = _Days(year)

    # the payments this year's refunds reverse (any year): (Payment, completeness key, Beijing date)
    originals: dict[int, tuple[Payment, tuple, dt.date]] = {}
    to_money, to_moment = _raw_converters()
    for row in (ahead.rows() if ahead is not None else db.session.execute(_originals_stmt(reversed_ids))):
        key, problems, missing = completeness.of(row[0], row[9], None, row[8] is not None)
        row = (*row[:6], to_money(row[6]), to_moment(row[7]), *row[8:])
        payment = _payment(row, problems, missing, tuple(per_entry.get(row[0], ())))
        originals[row[0]] = (payment, key, days.of(payment.paid_at))
    earlier = _earlier_decisions(year, originals, params)
    decided_before = {ben for ben, _original in earlier}

    year_context = _YearContext(params, originals, per_entry, org_level, completeness, days, timelines, groups,
                                earlier)
    if long_lived is not None:
        long_lived.loaded()
    if ids is None and plain:
        yield from _grouped(year, year_context, decided_before, early)
        return

    ordered = _year_rows(le, li, year, params, ids)
    # yield_per: a server-side cursor on PostgreSQL, for this statement only
    result = db.session.execute(ordered.execution_options(yield_per=STREAM_BATCH))
    memo: dict = {}

    def plain_entries(rows: list[tuple]) -> list[PlainEntry] | None:
        """The beneficiary's rows for :func:`rules.compute_plain`, or None when one needs the general rules."""
        out = []
        usual, starts, dates = completeness.plain, days.starts, days.dates  # the hot loop of the year
        for _ben, entry_id, ref, kind, listing_kind, payer_id, payee_id, amount, paid_at, reverses_id, state in rows:
            if payer_id == payee_id or entry_id in per_entry or reverses_id in per_entry:
                return None
            amount, paid_at = to_money(amount), to_moment(paid_at)
            if reverses_id is None:
                found = usual.get(state) if entry_id not in added else None
                _key, problems, missing = found or completeness.of(entry_id, state)
                # paid in the year (the query says so): its Beijing date by bisecting the day starts
                out.append(PlainEntry(entry_id, ref, amount, paid_at, problems, missing, kind, listing_kind,
                                      payer_id, payee_id, paid_at, dates[bisect.bisect_right(starts, paid_at) - 1], False))
            else:  # judged as the payment it reverses
                out.append(_refund_entry(year_context, entry_id, ref, amount, paid_at, reverses_id, state))
        return out

    def general(ben: int, rows: list[tuple]) -> list[Result]:
        entries = ((*row[1:7], to_money(row[7]), to_moment(row[8]), *row[9:]) for row in rows)
        return _general(year, ben, entries, year_context)

    def finish(ben: int, rows: list[tuple]) -> list[Result]:
        if plain:
            entries = plain_entries(rows) if ben not in decided_before else None
            if entries is not None:
                found = compute_plain(year, ben, entries, timelines, groups, params, org_level.get(ben, ()), memo)
                if found is not None:
                    return found
        return general(ben, rows)

    for ben, rows in _per_beneficiary(row for partition in result.partitions(STREAM_BATCH) for row in partition):
        yield from finish(ben, rows)


class _YearContext(NamedTuple):
    """What a year's computation reads besides its entries (one set of queries, before the entries)."""

    params: Parameters
    originals: dict[int, tuple[Payment, tuple, dt.date]]  # the payments this year's refunds reverse
    per_entry: dict[int, list[DeclaredSubsidy]]  # other subsidies declared on an entry
    org_level: dict[int, list[DeclaredSubsidy]]  # ... for a whole year, by beneficiary
    completeness: _Completeness
    days: _Days
    timelines: dict
    groups: dict
    earlier: dict[tuple[int, int], str]  # best-of decisions of earlier years that this year's refunds follow


def _general(year: int, ben: int, entries: Iterable[tuple], ctx: _YearContext) -> list[Result]:
    """``ben``'s year through the general rules (:func:`rules.compute`) from its entries as
    (id, ref, kind, listing kind, payer, payee, amount, paid_at, reverses id, state bits) — one organisation on
    both sides of an entry gives it twice — with the payments its refunds reverse."""
    payments: dict[int, Payment] = {}
    for entry in entries:
        entry_id, reverses_id, state = entry[0], entry[8], entry[9]
        if entry_id in payments:
            continue
        okey = ctx.originals[reverses_id][1] if reverses_id is not None else None
        _key, problems, missing = ctx.completeness.of(entry_id, state, okey, reverses_id is not None)
        payments[entry_id] = _payment(entry[:9], problems, missing, tuple(ctx.per_entry.get(entry_id, ())))
    for p in list(payments.values()):
        if p.reverses is not None and p.reverses not in payments:
            payments[p.reverses] = ctx.originals[p.reverses][0]
    return compute(year, payments.values(), ctx.timelines, ctx.groups, ctx.params, ctx.org_level.get(ben, ()), ctx.earlier,
                   beneficiaries={ben})


def _refund_entry(ctx: _YearContext, entry_id: int, ref: str, amount: Decimal, paid_at: dt.datetime,
                  reverses_id: int, state: int) -> PlainEntry:
    """A refund as a :class:`rules.PlainEntry`: judged as the payment it reverses (its kind, parties, date and
    completeness), counted at its own amount and time (POLICY.md interpretation 1)."""
    original, okey, oday = ctx.originals[reverses_id]
    _key, problems, missing = ctx.completeness.of(entry_id, state, okey, True)
    return new_tuple(PlainEntry, (entry_id, ref, amount, paid_at, problems, missing, original.kind, original.listing_kind,
                                  original.payer_id, original.payee_id, original.paid_at, oday, bool(original.problems)))


def _group_entries(ben: int, rows: list[tuple], sqlite: bool) -> Iterator[tuple]:
    """The entries of ``ben``'s groups (rows of :func:`_year_groups`) one by one, as :func:`_general` reads them."""
    for _ben, side, kind, listing_kind, state, single, reverses_id, ids, amounts, times, cps, refs, _total, _first \
            in rows:
        for entry_id, ref, amount, at, other in zip(ids.split(","), json.loads(refs) if sqlite else refs,
                                                    amounts.split(","), times.split(","), cps.split(","), strict=True):
            payer, payee = (ben, int(other)) if side == 0 else (int(other), ben)
            yield (int(entry_id), ref, kind, listing_kind, payer, payee, Decimal(amount), from_iso(at),
                   reverses_id if single else None, state)


def _grouped(year: int, ctx: _YearContext, decided_before: set[int], early: _EarlyGroups | None = None
             ) -> Iterator[Result]:
    """The whole year through :func:`_year_groups`: each beneficiary's groups to :func:`rules.compute_plain`;
    a beneficiary whose year is not plain (an other subsidy declared, self-dealing, a best-of decided in
    an earlier year) through the general rules, from the same rows (the stream holds the connection: no
    other query may run until it ends)."""
    params, per_entry, completeness, days = ctx.params, ctx.per_entry, ctx.completeness, ctx.days
    le, li = LedgerEntry.__table__, Listing.__table__
    if early is not None:
        stream: Iterable[tuple] = early
    else:
        if db.engine.dialect.name == "postgresql":
            for setting in _GROUPS_SETTINGS:
                db.session.execute(text(f"SET LOCAL {setting}"))
        order = _ref_order() if db.engine.dialect.name == "postgresql" else None
        stream = _stream_all(_year_groups(le, li, year, params, order))
    memo: dict = {}
    sqlite = db.engine.dialect.name == "sqlite"
    starts, dates = days.starts, days.dates
    declared_on = {str(entry_id) for entry_id in per_entry}  # the ids as the groups give them
    usual, added = completeness.plain, completeness.added

    def items(ben: int, rows: list[tuple]) -> list[PlainEntry | PlainGroup] | None:
        out: list[PlainEntry | PlainGroup] = []
        for _ben, side, kind, listing_kind, state, single, reverses_id, ids, amounts, times, cps, refs, total, first \
                in rows:
            if (declared_on and not declared_on.isdisjoint(ids.split(","))) or reverses_id in per_entry:
                return None
            refs = json.loads(refs) if sqlite else refs
            entry_id, ref, other = int(ids.partition(",")[0]), refs[0], int(cps.partition(",")[0])
            payer, payee = (ben, other) if side == 0 else (other, ben)
            if reverses_id is not None:  # a refund (a group of one): judged as the payment it reverses
                out.append(_refund_entry(ctx, entry_id, ref, Decimal(amounts), from_iso(times), reverses_id, state))
                continue
            found = usual.get(state) if entry_id not in added else None  # (what completeness.of says, inline)
            _key, problems, missing = found or completeness.of(entry_id, state)
            # a group is judged by one entry: the first member, at the group's earliest time (every member has
            # the same rule, version and completeness: the group's key says so)
            at = from_iso(first)
            # the named tuples made with every field at once (their generated __new__ is a Python call per group)
            entry = new_tuple(PlainEntry, (entry_id, ref, Decimal(amounts.partition(",")[0]), at, problems, missing,
                                           kind, listing_kind, payer, payee, at,
                                           dates[bisect.bisect_right(starts, at) - 1], False))
            if single:
                out.append(entry)
                continue
            total = Decimal(total).scaleb(-2) if sqlite else total
            n = len(refs)  # the other columns stay texts until a line is read (rules.MemberColumn): the
            # counterparties' facts are looked up by their texts (PlainJudge.settled_texts)
            ids_c, amounts_c, times_c, cps_c = text_columns(n, ids, amounts, times, cps)
            out.append(new_tuple(PlainGroup, (entry, ids_c, refs, amounts_c, times_c, cps_c, total, at)))
        return out

    def finish(ben: int, rows: list[tuple]) -> Iterable[Result]:
        found = None
        if ben not in decided_before:
            entries = items(ben, rows)
            if entries is not None:
                found = compute_plain(year, ben, entries, ctx.timelines, ctx.groups, params, ctx.org_level.get(ben, ()),
                                      memo)
        return found if found is not None else _general(year, ben, _group_entries(ben, rows, sqlite), ctx)

    # what the groups ask of the organisations' facts (by the UTC year of their first payment: nearly all this
    # one), made while the database still sorts the first groups
    PlainJudge.of(memo, params, ctx.timelines, ctx.groups).settled_texts(year)
    for ben, rows in _per_beneficiary(stream):
        yield from finish(ben, rows)


# the year's grouped query on PostgreSQL, for its transaction only: one large sort-and-aggregate in memory rather
# than in temporary files, not worth the 1.5 s that compiling it (JIT) costs, and the members' times as ISO text
_GROUPS_SETTINGS = ("work_mem = '64MB'", "jit = off", "DateStyle = 'ISO'")


class _EarlyGroups:
    """The year's grouped query (PostgreSQL), sent before the year's other queries on a second connection that
    sees exactly what the session's transaction sees (its exported snapshot), so the database aggregates while
    the session loads the organisations' facts, the refunds' originals and the rest (0.5–1 s at 1M entries,
    issue 10): Python finds the first group ready instead of waiting ~1.2 s for it afterwards.

    Only when the session's transaction has written nothing (``txid_current_if_assigned()`` is null): another
    connection cannot see uncommitted rows, so a transaction that wrote reads its year on its own connection, as
    before. A thread sends the query and waits for its first row (the driver releases the GIL while waiting);
    the rows are then read here, in the caller's thread. Closed (the query cancelled, the second transaction
    rolled back, the connection returned to the pool) when the year ends, stops early or fails; a failure to
    start falls back to the session's connection (None)."""

    def __init__(self, raw, cursor, rows: Iterator[tuple]):
        self.raw, self.cursor, self.rows = raw, cursor, rows
        self.first: list = []
        self.thread = threading.Thread(target=self._first, name="subsidy-year-groups", daemon=True)
        self.thread.start()

    @classmethod
    def start(cls, snapshot: str, year: int, params: Parameters) -> _EarlyGroups | None:
        le, li = LedgerEntry.__table__, Listing.__table__
        sql = _literal_sql(_year_groups(le, li, year, params, _ref_order()))
        found = _snapshot_connection(snapshot, _GROUPS_SETTINGS)
        if found is None:  # no second connection (the pool exhausted, say): the session's own, as before
            return None
        raw, cursor = found
        return cls(raw, cursor, cursor.stream(sql, size=STREAM_BATCH))

    def _first(self) -> None:
        try:
            self.first.append(("row", next(self.rows, None)))
        except BaseException as exc:  # noqa: BLE001 (raised again in the caller's thread)
            self.first.append(("error", exc))

    def __iter__(self) -> Iterator[tuple]:
        self.thread.join()
        kind, value = self.first[0]
        if kind == "error":
            raise value
        if value is None:
            return
        yield value
        yield from self.rows

    def close(self) -> None:
        if self.raw is None:
            return
        raw, self.raw = self.raw, None
        self.thread.join()
        _release(raw, self.cursor, self.rows.close)  # psycopg cancels a query still sending rows


class _RowsAhead:
    """A (small) query of the year sent at its start on another connection that shares the session's snapshot,
    its rows fetched by a thread while the session does other work: the payments this year's refunds reverse
    (0.35 s alone at 1M entries, up to 0.9 s beside the grouped query: random reads through two indexes) are
    read while Python builds the organisations' facts (~0.35 s). Closed (the query cancelled if still running,
    the transaction rolled back, the connection returned to the pool) when its rows are taken or the year ends,
    stops early or fails; None when no connection is spare (the session reads them itself)."""

    def __init__(self, raw, cursor, sql: str):
        self.raw, self.cursor = raw, cursor
        self.outcome: list = []
        self.thread = threading.Thread(target=self._fetch, args=(sql,), name="subsidy-year-rows", daemon=True)
        self.thread.start()

    @classmethod
    def start(cls, snapshot: str, stmt) -> _RowsAhead | None:
        found = _snapshot_connection(snapshot, ())
        return cls(*found, _literal_sql(stmt)) if found is not None else None

    def _fetch(self, sql: str) -> None:
        try:
            self.cursor.execute(sql)
            self.outcome.append(("rows", self.cursor.fetchall()))
        except BaseException as exc:  # noqa: BLE001 (raised again in the caller's thread)
            self.outcome.append(("error", exc))

    def rows(self) -> list[tuple]:
        self.thread.join()
        self.close()
        kind, value = self.outcome[0]
        if kind == "error":
            raise value
        return value

    def close(self) -> None:
        if self.raw is None:
            return
        raw, self.raw = self.raw, None

        def stop() -> None:
            if self.thread.is_alive():  # the year stopped or failed before taking the rows
                raw.driver_connection.cancel_safe()
            self.thread.join()

        _release(raw, self.cursor, stop)


def _release(raw, cursor, stop: Callable[[], None]) -> None:
    """A snapshot connection back to the pool: ``stop`` its query, close the cursor, roll the read-only
    transaction back; a connection that fails any of that is invalidated, not pooled."""
    try:
        stop()
        cursor.close()
        raw.driver_connection.rollback()
        raw.close()  # back to the pool
    except Exception:
        raw.invalidate()
        raise


def _shareable_snapshot() -> str | None:
    """The session's snapshot exported for other connections (PostgreSQL), or None: another database, or a
    transaction that has written (``txid_current_if_assigned()`` is set: no other connection can see its rows)."""
    if db.engine.dialect.name != "postgresql":
        return None
    clean, snapshot = db.session.execute(text("SELECT txid_current_if_assigned() IS NULL, pg_export_snapshot()")).one()
    return snapshot if clean else None


def _snapshot_connection(snapshot: str, settings: Iterable[str]):
    """(a pooled raw connection, a cursor) whose transaction sees exactly ``snapshot`` (read only), with
    ``settings`` for that transaction; None when the pool has no connection to spare without waiting."""
    raw = None
    try:
        raw = _spare_connection()
        if raw is None:
            return None
        conn = raw.driver_connection
        conn.rollback()
        cursor = conn.cursor()
        # the transaction's first statements: this isolation level, then the session's snapshot
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cursor.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")  # the server's own identifier (hex, dashes)
        for setting in settings:
            cursor.execute(f"SET LOCAL {setting}")
        return raw, cursor
    except Exception:  # no connection after all: the session's own, as before
        if raw is not None:
            raw.invalidate()
        return None


def _spare_connection():
    """A raw connection from the pool if it has one to give at once, else None: when every connection is out
    and no more may be opened, the pool would wait up to its timeout (30 s) for one — the year's own connection
    is then the better choice. (The check and the checkout are not atomic: another thread may take the last
    connection in between, and this one then waits as any checkout does.)"""
    pool = db.engine.pool
    if isinstance(pool, QueuePool) and pool.checkedin() == 0 and 0 <= pool._max_overflow <= pool.overflow():
        return None
    return db.engine.raw_connection()


def _literal_sql(stmt) -> str:
    """``stmt`` rendered with its values inline (they are the engine's own: dates, kinds, constants, ids)."""
    return str(stmt.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True}))


# a UTC time the database gave as ISO text with UTC_OFFSET appended (the database appends it: parsing an
# offset is 6× faster than ``replace``, and the C function needs no Python call per member)
UTC_OFFSET = "+00:00"


def _per_beneficiary(rows: Iterable[tuple]) -> Iterator[tuple[int, list[tuple]]]:
    """(beneficiary, its rows) from rows ordered by beneficiary (their first column): one at a time."""
    current, mine = None, []
    for row in rows:
        if row[0] != current:
            if mine:
                yield current, mine  # type: ignore[misc]
            current, mine = row[0], []
        mine.append(row)
    if mine:
        yield current, mine  # type: ignore[misc]


def _stream(stmt) -> Iterator[tuple]:
    """The rows of ``stmt``, streamed (a server-side cursor on PostgreSQL; SQLite's cursor is lazy by nature)."""
    result = db.session.execute(stmt.execution_options(yield_per=STREAM_BATCH))
    for partition in result.partitions(STREAM_BATCH):
        yield from partition


def _stream_all(stmt) -> Iterator[tuple]:
    """The rows of a statement that reads a large share of a table, streamed. On PostgreSQL through libpq's
    row-by-row mode (psycopg's ``Cursor.stream``) on the session's connection, not a server-side cursor:
    PostgreSQL plans a cursor's query without parallel workers, which made the year's query 1 s slower
    at 1M entries. The statement is rendered with its values inline (they are the engine's own: dates, kinds,
    constants)."""
    if db.engine.dialect.name != "postgresql":
        return _stream(stmt)
    return _stream_rows(str(stmt.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True})))


def _stream_rows(sql: str) -> Iterator[tuple]:
    """Rows of ``sql`` through ``Cursor.stream``. The stream holds the connection until its last row: a caller
    that stops early gets the rest read here (psycopg would cancel the query instead, which aborts the
    session's transaction)."""
    cursor = db.session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    rows = cursor.stream(sql, size=STREAM_BATCH)
    try:
        for row in rows:  # noqa: UP028 (``yield from`` would pass an early close on to the stream)
            yield row
    finally:
        for _row in rows:
            pass
        cursor.close()


def _earlier_decisions(year: int, originals: dict[int, tuple[Payment, tuple, dt.date]],
                       params: Parameters) -> dict[tuple[int, int], str]:
    """{(beneficiary, payment id): the rule, or "other"} that best-of chose, in the payment's own year, for
    the payments of earlier years that this year's refunds reverse — a refund nets against the same rule
    as the payment it undoes, and against nothing when a declared other subsidy took that payment (POLICY.md
    interpretations 1 and 3; the closing clause). Only payments an other subsidy could have taken are asked
    (a declaration on the payment, or a whole-year one by a party in that year), each through that year's
    computation for the beneficiary: rare, and a handful of small queries when it happens."""
    prior = {pid: (payment, day.year) for pid, (payment, _key, day) in originals.items() if day.year < year}
    if not prior:
        return {}
    le = LedgerEntry.__table__
    declared_on = set(db.session.execute(
        select(le.c.id).where(le.c.id.in_(list(prior)), le.c.subsidies_json != "[]")).scalars())
    parties = {o for payment, _y in prior.values() for o in (payment.payer_id, payment.payee_id)}
    whole_year = {(org_id, y) for org_id, y in db.session.execute(
        select(ExternalSubsidy.organisation_id, ExternalSubsidy.year).where(
            ExternalSubsidy.organisation_id.in_(parties), ExternalSubsidy.year.in_({y for _p, y in prior.values()})))}
    asked = {(o, y) for pid, (payment, y) in prior.items() for o in (payment.payer_id, payment.payee_id)
             if pid in declared_on or (o, y) in whole_year}
    decisions: dict[tuple[int, int], str] = {}
    for beneficiary, y in sorted(asked):
        for result in results_for(beneficiary, y, params):
            for line in result.lines:
                if line.entry_id in prior:
                    decisions[(beneficiary, line.entry_id)] = result.rule
            for ex in result.exclusions:
                if ex.entry_id in prior and ex.reasons[0] == "other_subsidy_chosen":
                    decisions[(beneficiary, ex.entry_id)] = "other"
    return decisions


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
