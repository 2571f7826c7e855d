"""Derived reporting rows for the district views (issue 13); never the only copy of anything.

``ledger_fact`` is one narrow row per ledger entry: what the district ledger filters, sorts and sums
(year in Beijing time, kind, listing, parties, amount) plus its completeness as a bit set of
``market.domain.completeness`` reason codes (0 = the entry counts). The ledger entry itself is wide
(hashes, evidence JSON) and its completeness depends on events and on the reversed entry; reading
a million of them per request is what this table avoids. ``market.dashboard.facts`` keeps it in step
in the same transaction as every ledger write and ``flask --app market dashboard rebuild-facts``
rebuilds it from the ledger.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class LedgerFact(Base):
    __tablename__ = "ledger_fact"
    __table_args__ = (
        # totals of a year: an index-only scan on PostgreSQL (the summed columns are included)
        Index("ix_ledger_fact_year_kind", "year", "kind",
              postgresql_include=["amount_cny", "reasons", "track", "payer_id", "payee_id"]),
        Index("ix_ledger_fact_month", "month", postgresql_include=["amount_cny", "reasons"]),
        Index("ix_ledger_fact_track_year", "track", "year"),
        Index("ix_ledger_fact_paid_at", "paid_at"),
        Index("ix_ledger_fact_amount", "amount_cny"),
        Index("ix_ledger_fact_payer", "payer_id"),
        Index("ix_ledger_fact_payee", "payee_id"),
        Index("ix_ledger_fact_listing", "listing_id"),
        Index("ix_ledger_fact_reasons", "reasons"),
        Index("ix_ledger_fact_disputed", "seq", postgresql_where=text("disputed"), sqlite_where=text("disputed")),
    )

    entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entry.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(unique=True)
    paid_at: Mapped[dt.datetime]
    year: Mapped[int]  # Beijing time (POLICY.md interpretation 5)
    month: Mapped[str] = mapped_column(String(7))  # 'YYYY-MM', Beijing time
    kind: Mapped[str] = mapped_column(String(20))
    listing_id: Mapped[int | None]
    track: Mapped[str | None] = mapped_column(String(40))  # the listing's track (kept in step on edits)
    payer_id: Mapped[int]
    payee_id: Mapped[int]
    amount_cny: Mapped[Decimal]
    reasons: Mapped[int] = mapped_column(default=0)  # bit set of completeness reasons; 0 = counts
    disputed: Mapped[bool] = mapped_column(default=False)  # an open dispute


class LedgerYearTotal(Base):
    """Entries and net amount per Beijing-time year, kind and whether they count: the sums of
    ``ledger_fact``, adjusted by ``market.dashboard.facts`` whenever facts change (the yearly totals
    and the ledger-years chart read these few rows instead of summing a million)."""

    __tablename__ = "ledger_year_total"

    year: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    counted: Mapped[bool] = mapped_column(primary_key=True)
    entries: Mapped[int] = mapped_column(default=0)
    amount_cny: Mapped[Decimal] = mapped_column(default=Decimal("0"))
