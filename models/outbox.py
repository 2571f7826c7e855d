"""The outbox: side effects outside the database (mail, search index, saved-search alerts).

A service writes a row in the caller's transaction (``market.outbox.enqueue``); after the commit one
drain (the scheduler, or after the response in development) delivers it, marks it delivered in
its own short transaction, and on failure retries it later with back-off until it is dead.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class OutboxStatus:
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"  # gave up after OUTBOX_MAX_ATTEMPTS failures; `flask outbox retry ID` revives it

    ALL = (PENDING, DELIVERED, DEAD)


class OutboxMessage(Base):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "available_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[str] = mapped_column(String(40))  # mail | search.index | search.alert
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(10), default=OutboxStatus.PENDING)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # due from this moment: now when written, later after a failure (back-off) or while a drain holds it
    available_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    delivered_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
