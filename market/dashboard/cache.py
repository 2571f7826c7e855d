"""A small per-process cache for ledger aggregates, keyed by the ledger's version.

Every change of a ledger entry's facts comes with an append to one of the two hash chains (a new
entry, or an event: confirmation, dispute, resolution, evidence), and each append moves that chain's
head in ``ledger_chain``. The heads' hashes bind the whole content of both chains, so they name
one state of every ledger aggregate exactly (even across databases or a chain started again): a
cached result is reused only while both heads are where they were, whatever the number of
processes, and is never stale. Results that depend on listings' tracks (which an edit can move) are
not cached here.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from threading import Lock
from typing import Any, TypeVar

from sqlalchemy import select

from market.extensions import db
from models.ledger import LedgerChain

T = TypeVar("T")
_MAX = 256
_store: OrderedDict[Hashable, Any] = OrderedDict()
_lock = Lock()


def ledger_version() -> tuple:
    """The heads of both chains (a read of a two-row table), with the database's identity."""
    rows = db.session.execute(
        select(LedgerChain.name, LedgerChain.seq, LedgerChain.head_hash).order_by(LedgerChain.name)).all()
    return (str(db.engine.url), tuple(rows))


def cached(key: Hashable, compute: Callable[[], T]) -> T:
    full = (ledger_version(), key)
    with _lock:
        if full in _store:
            _store.move_to_end(full)
            return _store[full]
    value = compute()
    with _lock:
        _store[full] = value
        while len(_store) > _MAX:
            _store.popitem(last=False)
    return value


def clear() -> None:
    with _lock:
        _store.clear()
