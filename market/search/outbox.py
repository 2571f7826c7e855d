"""enqueue(): called by listing services inside their transaction, before commit."""

from __future__ import annotations

from market.extensions import db
from models.search import SearchOutbox


def enqueue(listing_id: int, op: str = "upsert") -> None:
    db.session.add(SearchOutbox(listing_id=listing_id, op=op))
