"""Building a whole index fast: parallel segments, streamed rows, posting arrays for the readers.

A full rebuild (``services.reindex``) splits the published listings by id into parts; each part
becomes one Whoosh segment, written by its own process (``fork``: the worker reads its rows from
the database itself with one streaming query, builds the documents, analyses them and writes the
segment), then ``fast.export_segment`` writes the segment's posting arrays for the readers. The
parent commits the table of contents listing every part's segment. With ``procs=1`` the parts
are written one after the other in the calling process.

Measured in BENCHMARKS.md ("Indexing at 100,000 listings"): what cost the time before was the
posting pool spilling every posting to disk through pickle and reading it back, a field-length
look-up per posting while writing, and jieba cutting every block of text (now cached per block,
``analysis.JiebaTokenizer``); and a single process doing the database, the documents and the
analysis while the second core waited.
"""

from __future__ import annotations

import logging
import marshal
import multiprocessing
import os
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from whoosh import index as windex
from whoosh.util.numeric import byte_to_length
from whoosh.writing import PostingPool, SegmentWriter

from . import fast
from .analysis import PINYIN_FIELDS, TEXT_FIELDS

log = logging.getLogger(__name__)

# fields the vectorised scorer reads (their arrays are written at index time)
SCORED_FIELDS = tuple(f"{n}_{v}" for n in TEXT_FIELDS for v in ("j", "g")) + PINYIN_FIELDS
PART_DOCS = 25_000  # listings per segment at most (bounds each writer's memory)
MIN_PART_DOCS = 5_000  # a smaller collection stays one segment, whatever ``procs`` (as Whoosh would write it)


class _Lengths:
    """A segment's per-document field lengths, read once per field instead of once per posting
    (Whoosh's writer asks for the length of every posting it writes)."""

    def __init__(self, pdr):
        self._pdr = pdr
        self._n = pdr.doc_count_all()
        self._cache: dict[str, list[int]] = {}

    def doc_field_length(self, docnum: int, fieldname: str, default: int = 0) -> int:
        got = self._cache.get(fieldname)
        if got is None:
            from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield

            col = self._pdr._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
            if col is None:
                got = [default] * self._n
            else:
                got = [byte_to_length(b) if b else default for b in (col[i] for i in range(self._n))]
            self._cache[fieldname] = got
        return got[docnum]

    def __getattr__(self, name):
        return getattr(self._pdr, name)


class _Pool(PostingPool):
    """Whoosh's posting pool, spilling sorted runs with ``marshal`` in batches of 20,000 postings
    instead of one ``pickle.dump`` + ``pickle.load`` per posting (a quarter of a rebuild's time
    when the pool exceeds ``limitmb``), and a leaner ``add``."""

    BATCH = 20_000

    def add(self, item):
        self.current.append(item)
        self.currentsize += 160 + 2 * len(item[1]) + len(item[4] or b"")
        if self.currentsize > self.limit:
            self.save()

    def _write_run(self, f, items):
        batch = []

        def flush():
            blob = marshal.dumps(batch)
            f.write(len(blob).to_bytes(8, "little"))
            f.write(blob)

        for item in items:
            batch.append(item)
            if len(batch) >= self.BATCH:
                flush()
                batch = []
        if batch:
            flush()
        f.close()

    def _read_run(self, path):
        f = self._open_run(path)  # a raw file: one read per batch, not marshal.load's many small ones
        try:
            while True:
                head = f.read(8)
                if len(head) < 8:
                    return
                size = int.from_bytes(head, "little")
                blob = bytearray()
                while len(blob) < size:
                    chunk = f.read(size - len(blob))
                    if not chunk:
                        raise EOFError(f"truncated posting run {path}")
                    blob += chunk
                yield from marshal.loads(bytes(blob))
        finally:
            f.close()
            self._remove_run(path)


class PartWriter(SegmentWriter):
    """A segment writer for one part of a rebuild (no index lock: the parent holds it)."""

    def __init__(self, ix, limitmb: int):
        super().__init__(ix, _lk=False, limitmb=limitmb)
        self.pool = _Pool(self._tempstorage, self.newsegment, limitmb=limitmb)
        self.pool.fieldnames = set(self.schema.names())

    def _flush_segment(self):
        self.perdocwriter.close()
        pdr = self.per_document_reader() if self.codec.length_stats else None
        postings = self.pool.iter_postings()
        self.fieldwriter.add_postings(self.schema, _Lengths(pdr) if pdr else None, postings)
        self.fieldwriter.close()
        if pdr:
            pdr.close()


def parts(ids: list[int], procs: int) -> list[tuple[int, int]]:
    """Inclusive (first id, last id) ranges of about equal size: one per process (but none smaller
    than MIN_PART_DOCS listings), and none larger than PART_DOCS listings."""
    if not ids:
        return []
    n = max(min(procs, len(ids) // MIN_PART_DOCS), -(-len(ids) // PART_DOCS), 1)
    n = min(n, len(ids))
    size = -(-len(ids) // n)
    return [(ids[i], ids[min(i + size, len(ids)) - 1]) for i in range(0, len(ids), size)]


def write_part(session, index_dir: str, lo: int, hi: int, limitmb: int) -> tuple[Any, list, int]:
    """Index the published listings with ``lo <= id <= hi`` as one new segment of the index in
    ``index_dir`` (not yet committed), then write its posting arrays.
    Returns (segment or None, mined alias texts, count)."""
    from models.listings import Listing, ListingStatus

    from .services import _collect_aliases, document

    ix = windex.open_dir(index_dir)
    writer = PartWriter(ix, limitmb)
    mined: list[tuple[str, str]] = []
    count = 0
    stmt = (
        select(Listing).options(selectinload(Listing.owner))
        .where(Listing.status == ListingStatus.PUBLISHED, Listing.id.between(lo, hi)).order_by(Listing.id)
        .execution_options(yield_per=2000)
    )
    try:
        for listing in session.execute(stmt).scalars():
            writer.add_document(**document(listing))
            _collect_aliases(mined, listing)
            count += 1
        if not count:
            writer._close_segment()
            return None, mined, 0
        segment = writer._finalize_segment()
    except BaseException:
        writer._close_segment()
        raise
    fast.export_segment(ix.storage, ix.schema, segment, SCORED_FIELDS)
    return segment, mined, count


def _in_memory(engine) -> bool:
    """An in-memory SQLite database: a forked worker's new connection would see an empty one."""
    url = engine.url
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


_FORKED: dict[str, Any] = {}


def _child(args: tuple) -> tuple[Any, list, int]:
    """A forked worker: fresh database connections (never the parent's), then one part."""
    engine = _FORKED["engine"]
    engine.dispose(close=False)
    with Session(engine) as session:
        return write_part(session, *args)


def build(session, engine, ix, ids: list[int], procs: int, limitmb: int) -> tuple[int, list]:
    """Write every part of ``ix`` (a fresh empty index) and commit them. Returns (count, mined)."""
    from .analysis import init_jieba

    init_jieba()  # once, before forking: the workers inherit the loaded dictionary
    index_dir = ix.storage.folder
    ranges = parts(ids, procs)
    jobs = [(index_dir, lo, hi, limitmb) for lo, hi in ranges]
    if procs > 1 and len(jobs) > 1 and not _in_memory(engine):
        _FORKED["engine"] = engine
        try:
            ctx = multiprocessing.get_context("fork")
            with ctx.Pool(min(procs, len(jobs)), maxtasksperchild=1) as pool:
                results = pool.map(_child, jobs, chunksize=1)
        finally:
            _FORKED.clear()
    else:
        results = [write_part(session, *job) for job in jobs]
    writer = SegmentWriter(ix)
    try:
        segments = [seg for seg, _m, _c in results if seg is not None]
        writer._close_segment()
        writer._commit_toc(segments)
    finally:
        writer._finish()
    mined = [pair for _s, m, _c in results for pair in m]
    log.info("indexed %d listings in %d segments (pid %d)", sum(c for _s, _m, c in results), len(segments),
             os.getpid())
    return sum(c for _s, _m, c in results), mined
