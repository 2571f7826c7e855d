"""The search outbox: a row per listing change, written in the same transaction as the change.

The index is updated from it after commit; a crash between commit and indexing leaves the row for
the next sync, so the index can lag the database but never lead it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class SearchOutbox(Base):
    __tablename__ = "search_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(index=True)  # no FK: the listing may be gone
    op: Mapped[str] = mapped_column(String(10), default="upsert")  # upsert | delete
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[dt.datetime | None] = mapped_column(index=True)
