"""Search: synonym groups, saved searches and the listings already alerted for them.

Index updates go through the generic outbox (``models.outbox``, topic ``search.index``).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow

if TYPE_CHECKING:
    from .users import User


class SearchSynonym(Base):
    """A group of equivalent terms (SEM = 扫描电镜 = 扫描电子显微镜), applied at query time.

    ``origin`` says where it came from: ``shipped`` (the domain lexicon in
    market/search/data/lexicon.yaml, seeded by a migration and ``search seed-synonyms``), ``mined``
    (learned from the listings at index time, e.g. 扫描电子显微镜（SEM）) or ``admin``. Shipped and
    mined groups carry a ``seed_key``; deleting one leaves a tombstone (``deleted_at``) so a
    re-seed or a re-mine never brings it back.
    """

    __tablename__ = "search_synonym"

    id: Mapped[int] = mapped_column(primary_key=True)
    terms: Mapped[list[Any]] = mapped_column(default=list)  # as typed by the admin
    origin: Mapped[str] = mapped_column(String(10), default="admin", server_default="admin")
    source: Mapped[str] = mapped_column(String(200), default="", server_default="")
    seed_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    deleted_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SavedSearch(Base):
    """A user's saved query and filters; new published listings that match are notified."""

    __tablename__ = "saved_search"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    user: Mapped[User] = relationship()
    name: Mapped[str] = mapped_column(String(100))
    query: Mapped[str] = mapped_column(String(500), default="")
    filters: Mapped[dict[str, Any]] = mapped_column(default=dict)  # kind/track/owner_kind/price/open_mode
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_notified_at: Mapped[dt.datetime | None]


class SavedSearchMatch(Base):
    """A listing already notified for a saved search: each match is told once, however often edited."""

    __tablename__ = "saved_search_match"
    __table_args__ = (UniqueConstraint("saved_search_id", "listing_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    saved_search_id: Mapped[int] = mapped_column(ForeignKey("saved_search.id", ondelete="CASCADE"), index=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listing.id", ondelete="CASCADE"))
    notified_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ListingVector(Base):
    """A listing's sentence embedding (``market.search.semantic``): what the first page of a long request is
    re-ordered by.

    Derived data like the index, but kept in the database because it is dear to make (about 40 listings a second
    on two cores) and a rebuilt index must not make it again: ``text_hash`` names the text and model it was made
    from, so a listing whose title, tags or description changed is embedded again and an unchanged one never.
    A new row replaces an old one (delete, insert) and ids are never reused, so the newest id tells a process which
    vectors it has not read yet (``semantic.space``).
    """

    __tablename__ = "listing_vector"
    __table_args__ = {"sqlite_autoincrement": True}  # ids are never reused, on SQLite too

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listing.id", ondelete="CASCADE"), unique=True)
    text_hash: Mapped[str] = mapped_column(String(64))
    vector: Mapped[bytes] = mapped_column(LargeBinary)  # float32, little-endian, unit length
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
