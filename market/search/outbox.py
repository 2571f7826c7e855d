"""enqueue(): called by listing services inside their transaction, before commit."""

from __future__ import annotations

from market import outbox


def enqueue(listing_id: int, op: str = "upsert") -> None:
    """Queue an index update for the listing (applied by ``services.index_changes`` after commit)."""
    outbox.enqueue("search.index", {"listing_id": listing_id, "op": op})
