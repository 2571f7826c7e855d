"""Keep ``ledger_fact`` (models/dashboard.py) in step with the ledger, in the writer's transaction.

After every flush that inserts or updates a ledger entry or inserts a ledger event (a confirmation, a dispute, its
resolution, evidence added later: every change of an entry's state comes with an event, see
models/ledger.py), the facts of the touched entries — and of the refunds that reverse them, whose
completeness depends on their original — are recomputed in SQL from the ledger itself
(``ledger_sql.REASON_SQL``): DELETE then INSERT ... SELECT, so they are exactly what a rebuild gives.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import delete, event, func, insert, inspect, literal_column, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from models.dashboard import LedgerFact, LedgerYearTotal
from models.ledger import LedgerEntry, LedgerEvent
from models.listings import Listing

from . import ledger_sql
from .sqltime import local_month, local_year


def _select_facts(where=None):
    E = LedgerEntry
    bits = sum((ledger_sql._flag(cond) * (1 << i) for i, cond in enumerate(ledger_sql.REASON_SQL.values())),
               start=ledger_sql.literal(0))
    stmt = ledger_sql.with_original(select(
        E.id, E.seq, E.paid_at, local_year(E.paid_at), local_month(E.paid_at), E.kind, E.listing_id,
        ledger_sql.Lst.track, E.payer_id, E.payee_id, E.amount_cny, bits, ledger_sql._flag(ledger_sql._in_dispute(E)) == 1,
    )).outerjoin(ledger_sql.Lst, E.listing_id == ledger_sql.Lst.id)
    return stmt if where is None else stmt.where(where)


COLUMNS = ["entry_id", "seq", "paid_at", "year", "month", "kind", "listing_id", "track", "payer_id", "payee_id",
           "amount_cny", "reasons", "disputed"]


def _year_sums(connection, where):
    counts = LedgerFact.reasons == literal_column("0")  # no bound parameter: the same text in SELECT and GROUP BY
    stmt = (select(LedgerFact.year, LedgerFact.kind, counts, func.count(), func.sum(LedgerFact.amount_cny))
            .where(where).group_by(LedgerFact.year, LedgerFact.kind, counts))
    return [(y, k, bool(c), int(n), Decimal(str(a or 0))) for y, k, c, n, a in connection.execute(stmt)]


def _add_year_totals(connection, rows, sign: int) -> None:
    """Add (sign=1) or take away (sign=-1) sums from ledger_year_total: an upsert, race-free."""
    if not rows:
        return
    ins = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    for year, kind, counted, n, amount in rows:
        stmt = ins(LedgerYearTotal).values(year=year, kind=kind, counted=counted, entries=sign * n, amount_cny=sign * amount)
        connection.execute(stmt.on_conflict_do_update(
            index_elements=["year", "kind", "counted"],
            set_={"entries": LedgerYearTotal.entries + sign * n, "amount_cny": LedgerYearTotal.amount_cny + sign * amount}))


def refresh(connection, entry_ids: set[int]) -> None:
    """Recompute the facts of these entries and of the refunds reversing them (and the year totals)."""
    if not entry_ids:
        return
    ids = sorted(entry_ids)
    touched = or_(LedgerEntry.id.in_(ids), LedgerEntry.reverses_id.in_(ids))
    mine = LedgerFact.entry_id.in_(select(LedgerEntry.id).where(touched))
    _add_year_totals(connection, _year_sums(connection, mine), -1)
    connection.execute(delete(LedgerFact).where(mine))
    connection.execute(insert(LedgerFact).from_select(COLUMNS, _select_facts(touched)))
    _add_year_totals(connection, _year_sums(connection, mine), 1)


def rebuild(connection) -> int:
    """Every fact again from the ledger (``flask --app market dashboard rebuild-facts``)."""
    connection.execute(delete(LedgerFact))
    connection.execute(insert(LedgerFact).from_select(COLUMNS, _select_facts()))
    connection.execute(delete(LedgerYearTotal))
    _add_year_totals(connection, _year_sums(connection, LedgerFact.entry_id.is_not(None)), 1)
    return connection.execute(select(func.count()).select_from(LedgerFact)).scalar_one()


def _after_flush(session: Session, _flush_context) -> None:
    ids: set[int] = set()
    for obj in (*session.new, *session.dirty):  # dirty: a state column set on an entry of this transaction
        if isinstance(obj, LedgerEntry):
            ids.add(obj.id)
        elif isinstance(obj, LedgerEvent):
            ids.add(obj.entry_id)
    if ids:
        refresh(session.connection(), ids)
    for obj in session.dirty:  # a listing moved to another track: its entries' facts follow
        if isinstance(obj, Listing) and inspect(obj).attrs.track.history.has_changes():
            session.connection().execute(
                update(LedgerFact).where(LedgerFact.listing_id == obj.id).values(track=obj.track))


def install() -> None:
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
