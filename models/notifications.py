"""In-app notifications (the notification centre); email goes out through the mail backend."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class Notification(Base):
    __tablename__ = "notification"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(60))
    title: Mapped[str] = mapped_column(String(200))  # as mailed (recipient's locale); old rows: creator's
    body: Mapped[str | None] = mapped_column(Text)
    # the untranslated msgids and their parameters ({"title": {...}, "body": {...}}), rendered in
    # the reader's language (market.textkeys); NULL for old rows and free text
    title_key: Mapped[str | None] = mapped_column(String(200))
    body_key: Mapped[str | None] = mapped_column(Text)
    params: Mapped[dict[str, Any] | None]
    link: Mapped[str | None] = mapped_column(String(500))
    read_at: Mapped[dt.datetime | None]

    @property
    def display_title(self) -> str:
        from market.textkeys import render

        return render(self.title_key, (self.params or {}).get("title"), self.title)

    @property
    def display_body(self) -> str:
        from market.textkeys import render

        return render(self.body_key, (self.params or {}).get("body"), self.body)
