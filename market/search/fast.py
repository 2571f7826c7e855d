"""Relevance-ranked top-N without Whoosh's per-document matcher walk.

Whoosh scores a query by walking a tree of matcher objects document by document: for a common
word at 100,000 listings (15,000+ matches, 10-40 clauses with synonyms) that is 0.3-4 s of Python
(BENCHMARKS.md, "Search at 100,000 listings"). The queries built by ``query.build`` are only ever
an ``Or`` of ``Term`` and ``Phrase`` leaves with boosts, scored with BM25F and, at the top, the
``Or(scale=...)`` coordination bonus, so this module evaluates them directly:

* each leaf's posting list is read block by block (ids, term frequencies; positions only for the
  words of a phrase) and scored with the same BM25F formula, idf and average field length as
  Whoosh's ``BM25FScorer``, into one score per document;
* a phrase (a word of three or more characters as its bigrams) matches a document whose bigram
  positions are consecutive — checked on the decoded positions, so it is exact, like Whoosh's
  ``Phrase``; its score is the sum of its bigram terms' scores, as in Whoosh;
* the coordination bonus is Whoosh's ``CoordMatcher`` formula (the number of term matchers in the
  tree, the number matching the document).

The result is every matching document (the total and the facet counts need them) and the
top-N by score, ties to the lower document number as Whoosh's ``TopCollector`` does.
``tests/integration/test_search_fast.py`` checks that the ranking and the scores equal Whoosh's.
A query with any other node (e.g. the one-character ``Prefix``) is not handled here:
:func:`leaves` returns None and the caller uses Whoosh.
"""

from __future__ import annotations

import bisect
import dataclasses
import heapq
import threading
from collections import OrderedDict

from whoosh import query as Q
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher
from whoosh.matching import ListMatcher
from whoosh.matching.wrappers import FilterMatcher
from whoosh.util.numeric import byte_to_length

K1, B = 1.2, 0.75  # whoosh.scoring.BM25F defaults, the weighting every searcher here uses


@dataclasses.dataclass(frozen=True)
class Leaf:
    field: str
    words: tuple[str, ...]  # one word: a Term; several: a Phrase of consecutive positions
    mult: float  # the product of the boosts from the root down to the leaf


def leaves(q: Q.Query) -> tuple[list[Leaf], float | None] | None:
    """The leaves of a query built by ``query.build`` and the top-level coordination scale."""
    out: list[Leaf] = []

    def walk(node, mult: float) -> bool:
        if isinstance(node, Q.Or) and not isinstance(node, Q.DisjunctionMax) and not node.minmatch:
            return all(walk(sub, mult * node.boost) for sub in node.subqueries)
        if type(node) is Q.Term:
            out.append(Leaf(node.fieldname, (node.text,), mult * node.boost))
            return True
        if type(node) is Q.Phrase and node.slop == 1 and len(node.words) > 1:
            out.append(Leaf(node.fieldname, tuple(node.words), mult * node.boost))
            return True
        return False

    if not walk(q, 1.0):
        return None
    scale = q.scale if isinstance(q, Q.Or) and len(q.subqueries) > 1 else None
    return out, scale


# ---------------------------------------------------------------- per-segment field lengths
_lengths: OrderedDict[tuple[str, str], list[int]] = OrderedDict()
_lengths_lock = threading.Lock()


def _field_lengths(seg_reader, field: str) -> list[int]:
    """Per document of one segment, the field length Whoosh's scorer uses (segments are immutable)."""
    key = (seg_reader.segment().segment_id(), field)
    with _lengths_lock:
        got = _lengths.get(key)
        if got is not None:
            _lengths.move_to_end(key)
            return got
    col = seg_reader._perdoc._cached_reader(f"_{field}_len", LENGTHS_COLUMN)
    n = seg_reader.doc_count_all()
    if col is None:
        got = [1] * n
    else:
        table = [byte_to_length(b) if b else 1 for b in range(256)]
        got = [table[b] for b in (col[i] for i in range(n))]
    with _lengths_lock:
        _lengths[key] = got
        while len(_lengths) > 64:
            _lengths.popitem(last=False)
    return got


def _postings(seg_reader, field: str, word: str, values: bool):
    """(ids, weights, values or None) of one term in one segment, or None if it is absent."""
    if (field, word) not in seg_reader:
        return None
    m = seg_reader.postings(field, word)
    if isinstance(m, FilterMatcher):  # deleted documents are dropped by the caller
        m = m.child
    if isinstance(m, ListMatcher):
        ws = m._weights or [1.0] * len(m._ids)
        return list(m._ids), list(ws), (list(m._values) if values else None)
    if not isinstance(m, W3LeafMatcher):
        raise TypeError(f"unexpected postings matcher {type(m)!r}")
    ids: list[int] = []
    ws: list[float] = []
    vs: list | None = [] if values else None
    while True:
        m._read_ids()
        m._read_weights()
        ids.extend(m._ids)
        ws.extend(m._weights)
        if vs is not None:
            m._read_values()
            vs.extend(m._values)
        if m._lastblock:
            break
        m._goto(m._nextoffset)
    return ids, ws, vs


def run(searcher, parsed_leaves: list[Leaf], scale: float | None, allow: frozenset[int] | set[int] | None,
        limit: int) -> tuple[list[tuple[int, float]], set[int]]:
    """[(global docnum, score)] best first (at most ``limit``), and the set of all matches."""
    scores: dict[int, float] = {}
    counts: dict[int, int] = {}
    coord_by_doc: list[tuple[int, int, int]] = []  # (offset, end, termcount) per segment
    schema = searcher.schema
    avgfl_cache: dict[str, float] = {}
    for seg_searcher, offset in searcher.leaf_searchers():
        reader = seg_searcher.reader()
        if not reader.doc_count_all() or reader.segment() is None:  # an empty index
            continue
        deleted = frozenset(reader._perdoc.deleted_docs()) if reader.has_deletions() else frozenset()
        termcount = 0
        for leaf in parsed_leaves:
            field = leaf.field
            if field not in avgfl_cache:
                avgfl_cache[field] = searcher.avg_field_length(field) or 1
            fl = _field_lengths(reader, field)
            fmt = schema[field].format
            phrase = len(leaf.words) > 1
            lists = []
            for word in leaf.words:
                got = _postings(reader, field, word, values=phrase)
                if got is None:
                    break
                lists.append(got)
            if len(lists) < len(leaf.words):
                continue  # Whoosh: a missing word makes the whole phrase (or term) a NullMatcher
            termcount += len(leaf.words)
            a = K1 * (1 - B)
            bc = K1 * B / avgfl_cache[field]
            if not phrase:
                ids, ws, _v = lists[0]
                c = leaf.mult * searcher.idf(field, leaf.words[0]) * (K1 + 1)
                get = scores.get
                cget = counts.get
                for d, w in zip(ids, ws, strict=True):
                    if deleted and d in deleted:
                        continue
                    g = d + offset
                    scores[g] = get(g, 0.0) + c * w / (w + a + bc * fl[d])
                    counts[g] = cget(g, 0) + 1
                continue
            # Phrase: documents with every bigram, then consecutive positions (Whoosh's SpanNear2).
            maps = [dict(zip(ids, range(len(ids)), strict=True)) for ids, _w, _v in lists]
            common = set(maps[0])
            for mp in maps[1:]:
                common &= mp.keys()
            if deleted:
                common -= deleted
            cs = [leaf.mult * searcher.idf(field, w) * (K1 + 1) for w in leaf.words]
            k = len(leaf.words)
            for d in common:
                idx = [mp[d] for mp in maps]
                starts = set(fmt.decode_positions(lists[0][2][idx[0]]))
                for j in range(1, k):
                    nxt = fmt.decode_positions(lists[j][2][idx[j]])
                    starts = {p - j for p in nxt} & starts
                    if not starts:
                        break
                if not starts:
                    continue
                denom_fl = a + bc * fl[d]
                s = 0.0
                for j in range(k):
                    w = lists[j][1][idx[j]]
                    s += cs[j] * w / (w + denom_fl)
                g = d + offset
                scores[g] = scores.get(g, 0.0) + s
                counts[g] = counts.get(g, 0) + k
        coord_by_doc.append((offset, offset + reader.doc_count_all(), termcount))

    if allow is not None:
        matched = scores.keys() & allow
    else:
        matched = set(scores)
    if scale is not None:  # whoosh.matching.CoordMatcher._sqr, whose term count is per segment
        starts = [lo for lo, _hi, _n in coord_by_doc]
        factors = []
        for _lo, _hi, termcount in coord_by_doc:
            if termcount == 0:
                factors.append(None)
            elif termcount == scale:
                factors.append((0.0, 0.0))
            else:
                factors.append(((termcount - 1) / termcount, 1 / (termcount - scale) ** 2))
        single = len(factors) == 1
        for g in matched:
            f = factors[0 if single else bisect.bisect_right(starts, g) - 1]
            if f is not None:
                scores[g] = (scores[g] + (counts[g] - 1) * f[1]) * f[0]
    top = heapq.nsmallest(limit, matched, key=lambda g: (-scores[g], g))
    return [(g, scores[g]) for g in top], matched
