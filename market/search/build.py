"""Building a whole index fast: parallel segments, streamed rows, posting arrays for the readers.

A full rebuild (``services.reindex``) splits the published listings by id into parts; each part
becomes one Whoosh segment, written by its own process (``fork``: the worker reads its rows from
the database itself with one streaming query, builds the documents, analyses them and writes the
segment), then writes the segment's posting arrays for the readers from memory. The
parent commits the table of contents listing every part's segment. With ``procs=1`` the parts
are written one after the other in the calling process.

Measured in BENCHMARKS.md ("Search at 100,000 listings: unseen queries behind gunicorn, and the
full reindex"): what cost the time first was the posting pool spilling every posting to disk
through pickle, a field-length look-up per posting, jieba cutting every block of text (now cached
per block, ``analysis.JiebaTokenizer``) and one process doing everything; then Whoosh's own
per-posting Python (a Token per word, a tuple per posting, the pool's sort and merge, one
``add_posting`` call each) and decoding the segment back for its posting arrays, all replaced by
:class:`PartWriter`, which keeps a part's postings in flat arrays in memory (about 850 MB per
worker process for a part of 25,000 listings).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from array import array
from collections import Counter
from itertools import repeat
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from whoosh import index as windex
from whoosh.system import pack_uint
from whoosh.util.numeric import byte_to_length, length_to_byte
from whoosh.writing import SegmentWriter

from . import fast
from .analysis import PINYIN_FIELDS, TEXT_FIELDS, bigram_tokens, jieba_words

log = logging.getLogger(__name__)

# fields the vectorised scorer reads (their arrays are written at index time)
SCORED_FIELDS = tuple(f"{n}_{v}" for n in TEXT_FIELDS for v in ("j", "g")) + PINYIN_FIELDS
PART_DOCS = 25_000  # listings per segment at most (bounds each writer's memory)
MIN_PART_DOCS = 5_000  # a smaller collection stays one segment, whatever ``procs`` (as Whoosh would write it)


class PartWriter(SegmentWriter):
    """A segment writer for one part of a rebuild (no index lock: the parent holds it) that keeps
    each term's postings in memory instead of Whoosh's posting pool.

    Whoosh's ``add_document`` makes a Token per word, a ``(field, term, doc, weight, value)`` tuple
    per posting for its pool, sorts them all (spilling runs to disk beyond ``limitmb``), merges the
    runs back and hands the postings one by one to the codec, asking for each posting's field
    length. Here the documents arrive in document order: each field's postings are appended to
    flat arrays (term id, document, weight; positions), the text fields analysed without Token
    objects (``analysis.jieba_words``, ``bigram_tokens``, the pinyin split on spaces: the same
    terms, frequencies and positions); at the end one stable sort by term id groups them, terms go
    out in Whoosh's order and each block of 128 postings goes to the codec at once, with the
    statistics ``add_posting`` would have kept. A reader sees exactly what Whoosh's own writer
    makes (terms, statistics, blocks, postings, stored fields, lengths: tested); only the block
    pickles are smaller, as equal position encodings are one shared object. The segment's posting
    arrays for the readers come from memory too (:meth:`export`), not decoded back from the blocks.
    """

    def __init__(self, ix, limitmb: int = 128):
        super().__init__(ix, _lk=False, limitmb=limitmb)  # Whoosh's pool is created but never used
        from whoosh.formats import Frequency, Positions

        from .analysis import BigramTokenizer, JiebaTokenizer, PinyinTokenizer

        self._plan: dict[str, str] = {}
        for name, field in self.schema.items():
            if field.vector or field.separate_spelling():
                raise ValueError(f"field {name!r}: term vectors and spelling are not supported here")
            fmt, ana = field.format, getattr(field, "analyzer", None)
            kind = "generic"
            if fmt is not None and fmt.field_boost == 1.0:
                if type(fmt) is Frequency and isinstance(ana, JiebaTokenizer):
                    kind = "jieba"
                elif type(fmt) is Positions and isinstance(ana, BigramTokenizer):
                    kind = "bigram"
                elif type(fmt) is Positions and isinstance(ana, PinyinTokenizer):
                    kind = "pinyin"
            self._plan[name] = kind
        self._fields = {name: _Postings(self._plan[name]) for name in self.schema.names()}
        self._lengths: dict[str, array] = {}  # per field and document: the length Whoosh stores
        self._encoded: dict[tuple, tuple] = {}  # positions -> (the same tuple, Positions.encode)
        self._views: dict[str, tuple] = {}

    def add_document(self, **fields):
        self._check_state()
        schema = self.schema
        names = sorted(fields)
        if any(name.startswith("_") for name in names):
            raise ValueError("boosts and custom stored values are not supported by PartWriter")
        self._check_fields(schema, names)
        docnum = self.docnum
        perdoc = self.perdocwriter
        perdoc.start_doc(docnum)
        try:
            for name in names:
                value = fields[name]
                if value is None:
                    continue
                field = schema[name]
                length = self._index(name, field, value, docnum) if field.indexed else 0
                perdoc.add_field(name, field, value if field.stored else None, length)
                column = field.column_type
                if column:
                    perdoc.add_column_value(name, column, field.to_column_value(value))
        except Exception:
            perdoc.cancel_doc()
            raise
        perdoc.finish_doc()
        self._added = True
        self.docnum += 1

    def _encode(self, key: tuple, encode) -> tuple:
        enc = (key, encode(list(key)))
        if len(self._encoded) < 500_000:
            self._encoded[key] = enc
        return enc

    def _index(self, name: str, field, value, docnum: int) -> int:
        """Add one field of one document to the postings; returns its length (Whoosh's)."""
        post = self._fields[name]
        vocab = post.vocab
        add_term = vocab.setdefault
        kind = post.kind
        if kind == "jieba":
            words = jieba_words(value)
            counts = Counter(words)
            post.tids.extend([add_term(w, len(vocab)) for w in counts])
            post.weights.extend(counts.values())
            post.docs.extend(repeat(docnum, len(counts)))
            length = len(words)
        elif kind in ("bigram", "pinyin"):
            where: dict[str, list[int]] = {}
            if kind == "bigram":
                toks = bigram_tokens(value)
                length = len(toks)
                for pos, word in enumerate(toks):
                    got = where.get(word)
                    if got is None:
                        where[word] = [pos]
                    else:
                        got.append(pos)
            else:
                length = 0
                for pos, word in enumerate(value.split()):
                    if word == "|":  # PinyinTokenizer: a position gap between two runs
                        continue
                    length += 1
                    got = where.get(word)
                    if got is None:
                        where[word] = [pos]
                    else:
                        got.append(pos)
            known, encode = self._encoded.get, field.format.encode
            post.poses.extend([known(k) or self._encode(k, encode) for k in map(tuple, where.values())])
            post.tids.extend([add_term(w, len(vocab)) for w in where])
            post.weights.extend(map(len, where.values()))
            post.docs.extend(repeat(docnum, len(where)))
        else:
            length = 0
            scorable = field.scorable
            for btext, freq, weight, vbytes in field.index(value):
                post.tids.append(add_term(btext, len(vocab)))
                post.docs.append(docnum)
                post.weights.append(weight * 1.0)
                post.values.append(vbytes)
                if scorable:
                    length += freq
        if length:
            lengths = self._lengths.get(name)
            if lengths is None:
                lengths = self._lengths[name] = array("I")
            if len(lengths) < docnum:
                lengths.extend(repeat(0, docnum - len(lengths)))
            lengths.append(byte_to_length(length_to_byte(length)))
        return length

    def _view(self, name: str):
        """One field's postings grouped by term, terms in the order Whoosh writes them (by their
        UTF-8 bytes), each term's postings in document order (a stable sort of the term ids)."""
        got = self._views.get(name)
        if got is not None:
            return got
        post = self._fields[name]
        if not post.vocab:
            return None
        tids = np.frombuffer(post.tids, dtype=np.uint32)
        order = np.argsort(tids, kind="stable")
        starts = np.concatenate(([0], np.cumsum(np.bincount(tids, minlength=len(post.vocab))))).tolist()
        docs_np = np.frombuffer(post.docs, dtype=np.uint32)[order]
        w_np = np.frombuffer(post.weights, dtype=np.float32)[order]
        docs, weights = array("I"), array("f")
        docs.frombytes(docs_np.tobytes())
        weights.frombytes(w_np.tobytes())
        lengths = np.frombuffer(self._lengths[name], dtype=np.uint32) if name in self._lengths else None
        if lengths is not None and len(lengths) < self.docnum:
            lengths = np.concatenate((lengths, np.zeros(self.docnum - len(lengths), dtype=np.uint32)))
        lens = lengths[docs_np] if lengths is not None else np.zeros(len(docs_np), dtype=np.uint32)
        if post.kind == "jieba":
            freq_bytes = np.empty(int(w_np.max()) + 1, dtype=object)
            freq_bytes[:] = [pack_uint(i) for i in range(len(freq_bytes))]
            values = freq_bytes[w_np.astype(np.int64)]
            poses = None
        elif post.poses is not None:
            poses = np.fromiter(post.poses, dtype=object, count=len(post.poses))[order]
            values = np.fromiter((p[1] for p in poses), dtype=object, count=len(poses))
        else:
            values = np.fromiter(post.values, dtype=object, count=len(post.values))[order]
            poses = None
        terms = sorted(((w.encode("utf-8") if isinstance(w, str) else w), tid) for w, tid in post.vocab.items())
        # every block's statistics at once: blocks of ``block`` postings from each term's first
        block = self.codec._blocklimit
        firsts = np.asarray(starts[:-1], dtype=np.int64)
        nblocks = -(-(np.asarray(starts[1:], dtype=np.int64) - firsts) // block)
        bstarts = np.repeat(firsts, nblocks) + block * (
            np.arange(int(nblocks.sum())) - np.repeat(np.cumsum(nblocks) - nblocks, nblocks))
        top = np.maximum.reduceat(w_np, bstarts).tolist() if len(bstarts) else []
        nz = np.where(lens > 0, lens, np.iinfo(np.uint32).max)
        low = np.minimum.reduceat(nz, bstarts).tolist() if len(bstarts) else []
        high = np.maximum.reduceat(lens, bstarts).tolist() if len(bstarts) else []
        stats = dict(zip(bstarts.tolist(), zip(top, low, high, strict=True), strict=True))
        got = (terms, starts, docs, weights, values.tolist(), stats, docs_np, w_np, poses)
        self._views[name] = got
        return got

    def _flush_segment(self):
        self.perdocwriter.close()
        fw = self.fieldwriter
        block = self.codec._blocklimit
        none = np.iinfo(np.uint32).max
        for name in sorted(self._fields):
            view = self._view(name)
            if view is None:
                continue
            terms, starts, docs, weights, values, stats, _d, _w, _p = view
            fw.start_field(name, self.schema[name])
            for btext, tid in terms:
                fw.start_term(btext)
                pw = fw._postwriter
                first, end = starts[tid], starts[tid + 1]
                for s in range(first, end, block):
                    e = min(s + block, end)
                    # what W3PostingsWriter.add_posting would have gathered for this block
                    pw._ids = docs[s:e]
                    pw._weights = weights[s:e]
                    pw._values = [v for v in values[s:e] if v]
                    top, low, high = stats[s]
                    pw._maxweight = top if top > 0 else 0
                    pw._minlength = None if low == none else low
                    pw._maxlength = high
                    if e < end:  # a full block with more to come (the last one is written by finish_term)
                        pw._write_block()
                fw.finish_term()
            fw.finish_field()
        fw.close()

    def export(self, folder: str, segment, fields, min_df: int | None = None) -> int:
        """Write the segment's posting arrays (``fast.export_segment``'s files) from memory."""
        import os
        from itertools import chain

        min_df = fast.EXPORT_MIN_DF if min_df is None else min_df
        directory: dict[str, dict[str, tuple[int, int, int, int]]] = {}
        ids_out, ws_out, keys_out = [], [], []
        n_i = n_p = count = 0
        for field in fields:
            if field not in self.schema:
                continue
            with_pos = self.schema[field].format.supports("positions")
            entries: dict[str, tuple[int, int, int, int]] = {}
            view = self._view(field)
            for btext, tid in view[0] if view else ():
                _t, starts, _d, _w, _v, _l, docs_np, w_np, poses = view
                s, e = starts[tid], starts[tid + 1]
                if e - s < min_df:
                    continue
                i = docs_np[s:e].astype(np.int32)
                ids_out.append(i)
                ws_out.append(w_np[s:e])
                p0 = n_p
                if with_pos:
                    counts = w_np[s:e].astype(np.int64)  # a posting's weight is its number of positions
                    flat = np.fromiter(chain.from_iterable(p[0] for p in poses[s:e]), dtype=np.int64,
                                       count=int(counts.sum()))
                    keys_out.append((np.repeat(i.astype(np.int64), counts) << 32) | flat)
                    n_p += len(flat)
                entries[btext.decode("utf-8")] = (n_i, n_i + len(i), p0, n_p)
                n_i += len(i)
                count += 1
            directory[field] = entries
        fast.save_side(os.path.join(folder, fast.SIDE_DIR, segment.segment_id()), directory, ids_out, ws_out, keys_out)
        return count


class _Postings:
    """One field's postings as they come, in document order: per posting its term id, document,
    weight and value (or, for positional text fields, its positions and their encoding)."""

    __slots__ = ("kind", "vocab", "tids", "docs", "weights", "values", "poses")

    def __init__(self, kind: str):
        self.kind = kind
        self.vocab: dict[Any, int] = {}  # term (str for analysed text, bytes otherwise) -> term id
        self.tids, self.docs, self.weights = array("I"), array("I"), array("f")
        self.values: list[bytes] = []  # generic fields
        self.poses: list[tuple] | None = [] if kind in ("bigram", "pinyin") else None  # (positions, encoded)


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
        writer.export(ix.storage.folder, segment, SCORED_FIELDS)
    except BaseException:
        writer._close_segment()
        raise
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
