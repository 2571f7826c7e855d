"""Relevance-ranked top-N without Whoosh's per-document matcher walk, vectorised with numpy.

Whoosh scores a query by walking a tree of matcher objects document by document: for a common
word at 100,000 listings (15,000+ matches, 10-40 clauses with synonyms) that is 0.3-4 s of Python
(BENCHMARKS.md, "Search at 100,000 listings"). The queries built by ``query.build`` are only ever
an ``Or`` of ``Term`` and ``Phrase`` leaves with boosts, scored with BM25F and, at the top, the
``Or(scale=...)`` coordination bonus, so this module evaluates them directly:

* each term's posting list is read once per index segment into numpy arrays (ids, weights; for
  the words of a phrase also every ``doc << 32 | position``) and kept in :data:`CACHE`, an LRU
  bounded by bytes. Segments are immutable, so this is an index cache, not a result cache: every
  query is still scored in full;
* a leaf is scored for all its documents at once with the same BM25F formula, operations in the
  same order, idf and average field length as Whoosh's ``BM25FScorer``, into a dense per-segment
  score array (the scores equal Whoosh's bit for bit on the 100,000-listing bench index);
* a phrase (a word of three or more characters as its bigrams) matches a document whose bigram
  positions are consecutive: found exactly, like Whoosh's ``Phrase``, by a sorted search of each
  bigram's position keys from the rarest one; its score is the sum of its bigram terms' scores;
* the coordination bonus is Whoosh's ``CoordMatcher`` formula (the number of term matchers in the
  tree, per segment, and the number matching the document).

The result is every matching document (the total and the facet counts need them, exactly) and the
top-N by score, ties to the lower document number as Whoosh's ``TopCollector`` does.
``tests/integration/test_search_fast.py`` checks that the ranking and the scores equal Whoosh's.
A query with any other node (e.g. the one-character ``Prefix``) is not handled here:
:func:`leaves` returns None and the caller uses Whoosh.
"""

from __future__ import annotations

import dataclasses
import pickle
import threading
from collections import OrderedDict

import numpy as np
from whoosh import query as Q
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher
from whoosh.formats import Positions
from whoosh.matching import ListMatcher
from whoosh.matching.wrappers import FilterMatcher
from whoosh.util.numeric import byte_to_length

K1, B = 1.2, 0.75  # whoosh.scoring.BM25F defaults, the weighting every searcher here uses


@dataclasses.dataclass(frozen=True)
class Leaf:
    field: str
    words: tuple[str, ...]  # one word: a Term; several: a Phrase of consecutive positions
    mult: float  # the product of the boosts from the root down to the leaf
    group: int = 0  # which top-level clause (query concept) the leaf belongs to
    weight: float = 1.0  # that clause's boost (its concept's weight: 1, or less for a modifier)
    alt: int = 0  # > 0: a leaf of another name of the concept (a synonym or a member, ``market_alt``)
    capped: bool = False  # a member (hyponym): scored under the concept's own best (``market_capped``)


def leaves(q: Q.Query) -> tuple[list[Leaf], float | None] | None:
    """The leaves of a query built by ``query.build`` and the top-level coordination scale."""
    out: list[Leaf] = []
    group = [0, 1.0]

    def walk(node, mult: float, alt: int = 0, capped: bool = False) -> bool:
        alt = getattr(node, "market_alt", alt)
        capped = getattr(node, "market_capped", capped)
        if isinstance(node, Q.Or) and not isinstance(node, Q.DisjunctionMax) and not node.minmatch:
            return all(walk(sub, mult * node.boost, alt, capped) for sub in node.subqueries)
        if type(node) is Q.Term:
            out.append(Leaf(node.fieldname, (node.text,), mult * node.boost, group[0], group[1], alt, capped))
            return True
        if type(node) is Q.Phrase and node.slop == 1 and len(node.words) > 1:
            out.append(Leaf(node.fieldname, tuple(node.words), mult * node.boost, group[0], group[1], alt, capped))
            return True
        return False

    # The top-level clauses are the query's concepts (``query.build`` marks such an Or); any other
    # query is one concept (e.g. one word with its synonyms and member terms).
    top = q.subqueries if getattr(q, "market_concepts", False) else [q]
    root_boost = q.boost if top[0] is not q else 1.0
    for i, sub in enumerate(top):
        group[0], group[1] = i, sub.boost
        if not walk(sub, root_boost):
            return None
    scale = q.scale if isinstance(q, Q.Or) and len(q.subqueries) > 1 else None
    return out, scale


ALT_TIE = 0.5  # see ``_Alternatives``: what a concept's other matching names add, as a share
ALT_CAP = 0.8  # see ``run(alternatives=True)``: a member's best score <= this x the word's best


# ---------------------------------------------------------------- per-segment array cache
class _ArrayCache:
    """LRU of numpy arrays bounded by bytes, keyed by (segment id, ...).

    An *index* cache, not a result cache: whoosh segments are immutable (a new generation has new
    segment ids), so a posting list read once per segment is valid for the life of the segment.
    Deletions are not cached here; :func:`run` reads them per query.
    """

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.size = 0
        self._items: OrderedDict[tuple, tuple[object, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple, build):
        with self._lock:
            got = self._items.get(key)
            if got is not None:
                self._items.move_to_end(key)
                return got[0]
        value = build()  # outside the lock: two threads may build the same entry, harmlessly
        arrays = value if isinstance(value, tuple) else (value,)
        for a in arrays:
            a.flags.writeable = False  # shared by every query and thread: read-only
        nbytes = sum(a.nbytes for a in arrays)
        with self._lock:
            if key not in self._items:
                self._items[key] = (value, nbytes)
                self.size += nbytes
                while self.size > self.max_bytes and len(self._items) > 1:
                    _k, (_v, n) = self._items.popitem(last=False)
                    self.size -= n
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.size = 0


# Postings of the terms queries touch: at 100,000 listings the 42 bench queries need ~40 MB.
CACHE = _ArrayCache(256 * 2**20)
_EMPTY_I = np.zeros(0, dtype=np.int64)


def _field_lengths(seg_reader, field: str) -> np.ndarray:
    """Per document of one segment, the field length Whoosh's scorer uses (float64)."""

    def build():
        col = seg_reader._perdoc._cached_reader(f"_{field}_len", LENGTHS_COLUMN)
        n = seg_reader.doc_count_all()
        if col is None:
            return np.ones(n, dtype=np.float64)
        table = np.array([byte_to_length(b) if b else 1 for b in range(256)], dtype=np.float64)
        if getattr(col, "_fixedlen", None) == 1 and getattr(col, "_typecode", None) == "B":
            # a NumericColumn("B") reader: one byte per document, read at once (docs past the end: 0)
            raw = np.zeros(n, dtype=np.uint8)
            count = min(col._count, n)
            raw[:count] = np.frombuffer(bytes(col._dbfile.get(col._basepos, count)), dtype=np.uint8)
        else:
            raw = np.fromiter((col[i] for i in range(n)), dtype=np.uint8, count=n)
        return table[raw]

    return CACHE.get((seg_reader.segment().segment_id(), "len", field), build)


def _matcher(seg_reader, field: str, word: str):
    m = seg_reader.postings(field, word)
    if isinstance(m, FilterMatcher):  # deleted documents are dropped by the caller
        m = m.child
    return m


def _blocks(m):
    """Walk a W3LeafMatcher's blocks (the caller reads each block's ids, weights, values)."""
    while True:
        yield m
        if m._lastblock:
            break
        m._goto(m._nextoffset)


def _block_ids(m) -> np.ndarray:
    """The current block's document ids; delta-decoded with numpy instead of whoosh's generator."""
    if m._data is None:
        m._read_data()
    if m._byteids:
        m._read_ids()
        return np.asarray(m._ids, dtype=np.int64)
    return np.cumsum(np.asarray(m._data[0], dtype=np.int64))


def _position_deltas(values: list, fmt) -> list:
    """Per posting, the position deltas (``Positions.decode_positions`` before its running sum).

    Each value is ``pack_uint(count) + pickle.dumps(deltas, 2)`` (maybe without the final STOP):
    the pickles are spliced into one pickled list of lists and unpickled in one C call, instead of
    one ``loads`` per posting (the cold cost of a phrase). Any other format is decoded one by one.
    """
    if type(fmt) is Positions and all(v[4:6] == b"\x80\x02" for v in values):
        body = b"".join(v[6:-1] if v.endswith(b".") else v[6:] for v in values)
        try:
            got = pickle.loads(b"\x80\x02](" + body + b"e.")
        except Exception:  # noqa: BLE001 - not the layout assumed above: the slow, sure way
            got = None
        if isinstance(got, list) and len(got) == len(values):
            return got
    out = []
    for v in values:
        poses = fmt.decode_positions(v)
        out.append([p - q for p, q in zip(poses, [0, *poses[:-1]], strict=True)])
    return out


def _postings(seg_reader, field: str, word: str) -> tuple[np.ndarray, np.ndarray] | None:
    """(ids int64, weights float64) of one term in one segment, or None if it is absent."""
    side = side_arrays(seg_reader)
    if side is not None:
        got = side.postings(field, word)
        if got is not None:
            return got
    if (field, word) not in seg_reader:
        return None
    return CACHE.get((seg_reader.segment().segment_id(), "post", field, word),
                     lambda: _read_postings(seg_reader, field, word))


def _read_postings(seg_reader, field: str, word: str) -> tuple[np.ndarray, np.ndarray]:
    """Decode one term's posting list from Whoosh's blocks."""
    m = _matcher(seg_reader, field, word)
    if isinstance(m, ListMatcher):
        ids = list(m._ids)
        ws = list(m._weights) if m._weights else [1.0] * len(ids)
    elif isinstance(m, W3LeafMatcher):
        id_chunks, w_chunks = [], []
        for _m in _blocks(m):
            id_chunks.append(_block_ids(m))
            m._read_weights()
            w_chunks.append(np.asarray(m._weights, dtype=np.float64))
        # weights are float32 in whoosh's blocks: float64 holds them exactly, as Python floats did
        return np.concatenate(id_chunks), np.concatenate(w_chunks)
    else:
        raise TypeError(f"unexpected postings matcher {type(m)!r}")
    return np.array(ids, dtype=np.int64), np.array(ws, dtype=np.float64)


def _position_keys(seg_reader, field: str, word: str, fmt) -> np.ndarray:
    """Every (document, position) of a term as ``doc << 32 | position``, ascending."""
    side = side_arrays(seg_reader)
    if side is not None:
        got = side.positions(field, word)
        if got is not None:
            return got
    return CACHE.get((seg_reader.segment().segment_id(), "pos", field, word),
                     lambda: _read_position_keys(seg_reader, field, word, fmt))


def _read_position_keys(seg_reader, field: str, word: str, fmt) -> np.ndarray:
    """Decode one term's positions from Whoosh's blocks."""
    m = _matcher(seg_reader, field, word)
    if isinstance(m, ListMatcher):
        ids, vs = np.array(m._ids, dtype=np.int64), list(m._values)
    else:
        id_chunks, vs = [], []
        for _m in _blocks(m):
            id_chunks.append(_block_ids(m))
            m._read_values()
            vs.extend(m._values)
        ids = np.concatenate(id_chunks)
    deltas = _position_deltas(vs, fmt)
    lens = np.fromiter((len(d) for d in deltas), dtype=np.int64, count=len(deltas))
    flat = np.fromiter((x for d in deltas for x in d), dtype=np.int64, count=int(lens.sum()))
    # positions are stored as deltas within each document: a running sum restarted per document
    run = np.cumsum(flat)
    starts = np.cumsum(lens) - lens
    before = np.where(starts > 0, run[np.maximum(starts - 1, 0)], 0) if len(run) else starts
    positions = run - np.repeat(before, lens)
    return (np.repeat(ids, lens) << 32) | positions


# ---------------------------------------------------------------- per-segment arrays on disk
# A term's first query used to decode Whoosh's blocks (unpickling, zlib): hundreds of milliseconds
# for a common word at 100,000 listings, in every worker process and again after every reindex.
# The writer of a segment therefore also writes its posting lists as flat numpy arrays
# (``<index dir>/fastpost/<segment id>/``): ids (int32), weights (float32: Whoosh stores them as
# float32, so they convert back to the same float64) and, for fields with positions, the
# ``doc << 32 | position`` keys (int64), plus a directory {field: {word: (i0, i1, p0, p1)}}.
# Readers map them (``np.load(mmap_mode="r")``): gunicorn workers share one copy in the page cache
# and a term's first query is a slice. Only terms in at least EXPORT_MIN_DF documents are written:
# rarer ones are one block, cheap to decode.
SIDE_DIR = "fastpost"
EXPORT_MIN_DF = 8
EXPORT_MIN_DOCS = 2000  # smaller segments (an outbox sync's) are read from Whoosh's blocks


class SideArrays:
    def __init__(self, path):
        from pathlib import Path

        path = Path(path)
        with open(path / "dir.pkl", "rb") as f:
            self.dir: dict[str, dict[str, tuple[int, int, int, int]]] = pickle.load(f)
        # plain ndarray views of the maps: slicing a np.memmap costs a Python-level finalizer each time
        self.ids = np.load(path / "ids.npy", mmap_mode="r").view(np.ndarray)
        self.weights = np.load(path / "w.npy", mmap_mode="r").view(np.ndarray)
        self.pos = np.load(path / "pos.npy", mmap_mode="r").view(np.ndarray)

    def postings(self, field: str, word: str) -> tuple[np.ndarray, np.ndarray] | None:
        got = self.dir.get(field, {}).get(word)
        if got is None:
            return None
        i0, i1 = got[0], got[1]
        return self.ids[i0:i1], self.weights[i0:i1].astype(np.float64)

    def positions(self, field: str, word: str) -> np.ndarray | None:
        got = self.dir.get(field, {}).get(word)
        if got is None or got[2] == got[3]:
            return None
        return self.pos[got[2] : got[3]]


_SIDES: dict[tuple[str, str], tuple[float, SideArrays | None]] = {}
_SIDES_LOCK = threading.Lock()


def _folder(seg_reader) -> str | None:
    st = seg_reader.storage() if hasattr(seg_reader, "storage") else None
    for candidate in (st, getattr(st, "b", None), getattr(st, "a", None)):
        folder = getattr(candidate, "folder", None)
        if folder:
            return folder
    return None


def side_arrays(seg_reader) -> SideArrays | None:
    """The segment's arrays on disk (mapped once per process), or None if it has none."""
    import os
    import time

    held = getattr(seg_reader, "_market_side", None)
    if held is not None:  # found before for this reader (segment readers are per index state)
        return held
    seg = seg_reader.segment()
    folder = _folder(seg_reader)
    if seg is None or folder is None:
        return None
    key = (folder, seg.segment_id())
    got = _SIDES.get(key)
    now = time.monotonic()
    if got is not None and (got[1] is not None or now - got[0] < 30):
        if got[1] is not None:
            seg_reader._market_side = got[1]
        return got[1]
    with _SIDES_LOCK:
        path = os.path.join(folder, SIDE_DIR, seg.segment_id())
        side = None
        if os.path.exists(os.path.join(path, "dir.pkl")):
            try:
                side = SideArrays(path)
            except Exception:  # noqa: BLE001 - unreadable arrays: Whoosh's blocks are still there
                side = None
        _SIDES[key] = (now, side)
        if side is not None:
            seg_reader._market_side = side
        return side


def save_side(final: str, directory: dict, ids: list, ws: list, keys: list) -> None:
    """Write a segment's arrays into ``final`` (a ``fastpost/<segment id>`` directory) atomically:
    ``directory`` {field: {word: (i0, i1, p0, p1)}} and the chunks of ids (int32), weights
    (float32) and position keys (int64) it indexes, concatenated."""
    import os
    import shutil

    tmp = final + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    np.save(os.path.join(tmp, "ids.npy"), np.concatenate(ids) if ids else np.zeros(0, np.int32))
    np.save(os.path.join(tmp, "w.npy"), np.concatenate(ws) if ws else np.zeros(0, np.float32))
    np.save(os.path.join(tmp, "pos.npy"), np.concatenate(keys) if keys else np.zeros(0, np.int64))
    with open(os.path.join(tmp, "dir.pkl"), "wb") as f:
        pickle.dump(directory, f, protocol=pickle.HIGHEST_PROTOCOL)
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)


def export_segment(storage, schema, segment, fields, min_df: int | None = None) -> int:
    """Write one segment's posting arrays (see above); returns the number of terms written."""
    import os

    from whoosh.reading import SegmentReader

    folder = storage.folder
    final = os.path.join(folder, SIDE_DIR, segment.segment_id())
    if os.path.exists(os.path.join(final, "dir.pkl")):
        return 0
    min_df = EXPORT_MIN_DF if min_df is None else min_df
    reader = SegmentReader(storage, schema, segment)
    directory: dict[str, dict[str, tuple[int, int, int, int]]] = {}
    ids, ws, keys = [], [], []
    n_i = n_p = terms = 0
    try:
        for field in fields:
            if field not in schema:
                continue
            fmt = schema[field].format
            with_pos = fmt.supports("positions")
            entries: dict[str, tuple[int, int, int, int]] = {}
            for raw, info in reader.iter_field(field):
                if info.doc_frequency() < min_df:
                    continue
                word = raw.decode("utf-8") if isinstance(raw, bytes) else raw
                i, w = _read_postings(reader, field, word)
                ids.append(i.astype(np.int32))
                ws.append(w.astype(np.float32))
                p0 = n_p
                if with_pos:
                    k = _read_position_keys(reader, field, word, fmt)
                    keys.append(k)
                    n_p += len(k)
                entries[word] = (n_i, n_i + len(i), p0, n_p)
                n_i += len(i)
                terms += 1
            directory[field] = entries
    finally:
        reader.close()
    save_side(final, directory, ids, ws, keys)
    return terms


def export_missing(ix, fields, min_docs: int = EXPORT_MIN_DOCS) -> int:
    """Arrays for every segment of ``ix`` with at least ``min_docs`` documents that has none yet
    (e.g. one an outbox sync merged), and none kept for segments that are gone."""
    import os
    import shutil

    segments = ix._segments()
    folder = ix.storage.folder
    done = 0
    for seg in segments:
        if seg.doc_count_all() >= min_docs:
            done += export_segment(ix.storage, ix.schema, seg, fields) > 0
    side_root = os.path.join(folder, SIDE_DIR)
    if os.path.isdir(side_root):
        live = {seg.segment_id() for seg in segments}
        for name in os.listdir(side_root):
            if name.split(".")[0] not in live:
                shutil.rmtree(os.path.join(side_root, name), ignore_errors=True)
    return done


def _at_docs(ids: np.ndarray, ws: np.ndarray, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The postings (``ids`` sorted, ``ws``) of the documents ``docs`` (sorted): a sorted search per document."""
    at = np.searchsorted(ids, docs)
    ok = at < len(ids)
    ok[ok] = ids[at[ok]] == docs[ok]
    return docs[ok], ws[at[ok]]


def _keys_at_docs(keys: np.ndarray, docs: np.ndarray) -> np.ndarray:
    """The position keys (``doc << 32 | position``, sorted) of the documents ``docs`` (sorted)."""
    lo = np.searchsorted(keys, docs << 32)
    hi = np.searchsorted(keys, (docs + 1) << 32)
    parts = [keys[a:b] for a, b in zip(lo.tolist(), hi.tolist(), strict=True) if b > a]
    return np.concatenate(parts) if parts else keys[:0]


def _phrase_docs(keys: list[np.ndarray]) -> np.ndarray:
    """Documents where the k words sit at consecutive positions (Whoosh's Phrase, slop 1), exact.

    Anchored on the word with the fewest positions: each of its positions ``p`` survives if every
    other word ``i`` has ``p - anchor + i`` in the same document (a sorted search per word).
    """
    anchor = min(range(len(keys)), key=lambda j: len(keys[j]))
    cand = keys[anchor]
    for i, other in enumerate(keys):
        if i == anchor or not len(cand):
            continue
        want = cand + (i - anchor)
        at = np.searchsorted(other, want)
        ok = at < len(other)
        ok[ok] = other[at[ok]] == want[ok]
        cand = cand[ok]
    if not len(cand):
        return _EMPTY_I
    docs = cand >> 32  # ascending: the anchor's keys are sorted and filtering keeps their order
    return docs[np.concatenate(([True], docs[1:] != docs[:-1]))]


class _Alternatives:
    """``run(alternatives=True)`` for one segment. Per concept with other names (``Leaf.alt``): the
    score of the words typed (``own``), of its best single synonym and of its best single member
    (hyponym); the concept scores the largest, so names do not add up. One allocation per segment
    (a row per array): at 100,000 listings a query has a few concepts over four segments."""

    def __init__(self, parsed_leaves: list[Leaf], n: int, scores: np.ndarray):
        self.scores = scores
        groups = sorted({lf.group for lf in parsed_leaves if lf.alt})
        self.row = {g: 4 * i for i, g in enumerate(groups)}  # own, own + synonyms, best synonym, best member
        self.rows = np.zeros((4 * len(groups) + 1, n), dtype=np.float64) if groups else None
        self.hyp: set[int] = set()
        self.touched: list[np.ndarray] = []
        self.key: tuple[int, int, bool] | None = None  # the name being summed in the last row

    def add(self, leaf: Leaf, ids: np.ndarray, values: np.ndarray) -> None:
        r = self.row.get(leaf.group)
        if r is None:
            self.scores[ids] += values
            return
        if not leaf.alt:
            self.rows[r][ids] += values
            self.rows[r + 1][ids] += values
            return
        if not leaf.capped:
            self.rows[r + 1][ids] += values
        key = (leaf.group, leaf.alt, leaf.capped)
        if self.key != key:  # a name's leaves are consecutive
            self._flush()
            self.key = key
        self.rows[-1][ids] += values
        self.touched.append(ids)

    def _flush(self) -> None:
        if self.key is None or not self.touched:
            return
        # ids may repeat across a name's leaves: every copy writes the same maximum
        idx = self.touched[0] if len(self.touched) == 1 else np.concatenate(self.touched)
        g, _alt, capped = self.key
        if capped:
            self.hyp.add(g)
        b = self.rows[self.row[g] + (3 if capped else 2)]
        cur = self.rows[-1]
        b[idx] = np.maximum(b[idx], cur[idx])
        cur[idx] = 0.0
        self.touched.clear()

    def finish(self) -> None:
        self._flush()
        for g, r in self.row.items():
            own, total, syn, hyp = self.rows[r], self.rows[r + 1], self.rows[r + 2], self.rows[r + 3]
            top = np.maximum(own, syn)
            # the other names a listing also uses count a little (a dis-max tie-breaker)
            top += ALT_TIE * (total - top)
            if g in self.hyp:
                # A member never outranks the best listing naming the concept itself (a rare
                # member term has a higher idf than the category word): scaled under it.
                top_own, top_hyp = float(top.max()), float(hyp.max())
                if top_own > 0 and top_hyp > ALT_CAP * top_own:
                    hyp *= ALT_CAP * top_own / top_hyp
                np.maximum(top, hyp, out=top)
            self.scores += top


def run(searcher, parsed_leaves: list[Leaf], scale: float | None, allow: np.ndarray | None,
        limit: int, coverage: float = 0.0, alternatives: bool = False,
        prefer: np.ndarray | None = None, concept_docs: dict | None = None,
        only: np.ndarray | None = None) -> tuple[list[tuple[int, float]], np.ndarray]:
    """[(global docnum, score)] best first (at most ``limit``), and every match (sorted global docnums).

    ``allow``: None, or a boolean mask over the searcher's global document numbers (the filters).

    ``coverage`` (0: Whoosh's scores exactly): with several concepts, each document's score is
    multiplied by ``c ** coverage``, where ``c`` is the share of the query's concepts it matches,
    each concept weighted by its rarity (idf over the segment) and its weight. A listing covering
    the rare, head concepts of a long question ranks above one repeating a common word.

    ``prefer``: None, or a score multiplier per global document (the kinds a query names).

    ``concept_docs``: a dict to fill with {concept group: global docnums matching it (sorted)} (only
    with several concepts; with or without ``coverage``).

    ``only``: None, or sorted global docnums: the query is scored on those documents alone, each posting
    list and phrase looked up at them (a few dozen candidates of a large index cost a few dozen look-ups per
    word, not a pass over its postings). Their scores are the full run's, except what is computed over all the
    matches: the coverage's rarity (a concept's df) and a member's cap (``ALT_CAP``) count those documents only.

    ``alternatives`` (False: Whoosh's sum): a concept's member terms (leaves with ``alt`` > 0, the
    hyponyms of a category word) do not add up. A document scores, for the concept, the larger of
    what its own words scored and what its best single member term scored: 显微镜 ranks an optical
    microscope and an electron microscope alike, not the one that also says SEM, 扫描电镜, 电镜 …
    """
    schema = searcher.schema
    per_concept = bool(coverage) or concept_docs is not None  # which documents each concept matches
    avgfl_cache: dict[str, float] = {}
    all_docs: list[np.ndarray] = []
    all_scores: list[np.ndarray] = []
    for seg_searcher, offset in searcher.leaf_searchers():
        reader = seg_searcher.reader()
        n = reader.doc_count_all()
        if not n or reader.segment() is None:  # an empty index
            continue
        local = None
        if only is not None:
            local = only[(only >= offset) & (only < offset + n)] - offset
            if not len(local):
                continue
        scores = np.zeros(n, dtype=np.float64)
        counts = np.zeros(n, dtype=np.int64)
        groups: dict[int, tuple[float, np.ndarray]] = {}
        termcount = 0
        alt = _Alternatives(parsed_leaves, n, scores) if alternatives else None
        for leaf in parsed_leaves:
            if per_concept and leaf.group not in groups:
                groups[leaf.group] = (leaf.weight, np.zeros(n, dtype=bool))
            field = leaf.field
            if field not in avgfl_cache:
                avgfl_cache[field] = searcher.avg_field_length(field) or 1
            lists = []
            for word in leaf.words:
                got = _postings(reader, field, word)
                if got is None:
                    break
                lists.append(got)
            if len(lists) < len(leaf.words):
                continue  # Whoosh: a missing word makes the whole phrase (or term) a NullMatcher
            termcount += len(leaf.words)
            fl = _field_lengths(reader, field)
            a = K1 * (1 - B)
            bc = K1 * B / avgfl_cache[field]
            if len(leaf.words) == 1:
                ids, ws = lists[0] if local is None else _at_docs(*lists[0], local)
                c = leaf.mult * searcher.idf(field, leaf.words[0]) * (K1 + 1)
                # the same operations in the same order as whoosh.scoring.BM25F, per posting
                values = c * ws / (ws + a + bc * fl[ids])
                if alt is None:
                    scores[ids] += values
                else:
                    alt.add(leaf, ids, values)
                counts[ids] += 1
                if per_concept:
                    groups[leaf.group][1][ids] = True
                continue
            # Phrase: consecutive positions of its bigrams, exact (a sorted search per bigram).
            fmt = schema[field].format
            keys = [_position_keys(reader, field, w, fmt) for w in leaf.words]
            docs = _phrase_docs(keys if local is None else [_keys_at_docs(k, local) for k in keys])
            if not len(docs):
                continue
            denom_fl = a + bc * fl[docs]
            s = np.zeros(len(docs), dtype=np.float64)
            for word, (ids, ws) in zip(leaf.words, lists, strict=True):
                w = ws[np.searchsorted(ids, docs)]
                s += leaf.mult * searcher.idf(field, word) * (K1 + 1) * w / (w + denom_fl)
            if alt is None:
                scores[docs] += s
            else:
                alt.add(leaf, docs, s)
            counts[docs] += len(leaf.words)
            if per_concept:
                groups[leaf.group][1][docs] = True
        if alt is not None:
            alt.finish()
        if coverage and len(groups) > 1:
            live = max(reader.doc_count(), 1)
            share = np.zeros(n, dtype=np.float64)
            total = 0.0
            for weight, matched in groups.values():
                df = int(np.count_nonzero(matched))
                w = weight * np.log(1 + live / (df + 0.5))
                share[matched] += w
                total += w
            if total > 0:
                scores *= (share / total) ** coverage
        if concept_docs is not None and len(groups) > 1:
            for gi, (_w, mask) in groups.items():
                concept_docs.setdefault(gi, []).append(np.flatnonzero(mask) + offset)
        if prefer is not None:
            scores *= prefer[offset : offset + n]
        mask = counts > 0
        if reader.has_deletions():
            deleted = np.fromiter(reader._perdoc.deleted_docs(), dtype=np.int64)
            mask[deleted[deleted < n]] = False
        if allow is not None:
            mask &= allow[offset : offset + n]
        docs = np.flatnonzero(mask)
        sc = scores[docs]
        if scale is not None and termcount:  # whoosh.matching.CoordMatcher._sqr, per segment
            if termcount == scale:
                sc = sc * 0.0
            else:
                sc = (sc + (counts[docs] - 1) * (1 / (termcount - scale) ** 2)) * ((termcount - 1) / termcount)
        all_docs.append(docs + offset)
        all_scores.append(sc)
    if not all_docs:
        return [], _EMPTY_I
    g = np.concatenate(all_docs)
    sc = np.concatenate(all_scores)
    if len(g) > limit > 0:  # keep every document scoring at least the limit-th best, ties included
        kth = np.partition(sc, len(sc) - limit)[len(sc) - limit]
        keep = sc >= kth
        cg, cs = g[keep], sc[keep]
    else:
        cg, cs = g, sc
    order = np.lexsort((cg, -cs))[: max(limit, 0)]  # best first, ties to the lower docnum (TopCollector)
    return [(int(cg[i]), float(cs[i])) for i in order], g
