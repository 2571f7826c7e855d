"""Search at scale: parallel rebuilds, per-segment posting arrays on disk, warm-up (issue 12)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from bench.relevance import load_into_db, queries
from market.extensions import db
from market.search import build, fast, services
from models.base import Base

pytest_plugins = ["tests.integration.conftest_search"]


def _results(qs):
    out = {}
    for q in qs:
        r = services.search(q, per_page=10)
        out[q] = (r.total, [(h.listing.ref, h.score) for h in r.hits], r.facets)
    return out


_CJK = re.compile("[\u4e00-\u9fff]")


def test_jieba_tokenizer_yields_what_jiebas_whoosh_analyzer_yields():
    from jieba.analyse import ChineseAnalyzer

    from market.search.analysis import jieba_analyzer
    from market.search.text import normalize

    theirs, ours = ChineseAnalyzer(), jieba_analyzer()
    texts = [row["title"] + " | " + row["description"] for row in __import__("bench.relevance").relevance.listings_data()]
    texts += ["the testing of SEM and XRD is running, 的 和 了", "lc-ms/ms 液相色谱-串联质谱仪 (hplc) 5g+工业互联网",
              "  ", "", "a b c 1 2 3", "掃描電鏡 ＳＥＭ"]
    for text in texts:  # the Chinese words exactly as jieba's; the Latin runs whole (test_search_latin.py)
        text = normalize(text)
        want = sorted(t.text for t in theirs(text) if _CJK.search(t.text))
        assert sorted(t.text for t in ours(text) if _CJK.search(t.text)) == want, text
        assert sorted(t.text for t in ours(text) if _CJK.search(t.text)) == want  # from the block cache this time


@pytest.fixture
def file_app(tmp_path, monkeypatch):
    """An app on a SQLite *file* (forked index workers open their own connections to it)."""
    from market import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/scale.db",
                      "SEARCH_INDEX_DIR": str(tmp_path / "index"), "SEARCH_SYNC_ON_COMMIT": False})
    with app.app_context():
        Base.metadata.create_all(db.engine)
        services.seed_synonyms()
        load_into_db()
        services.invalidate_synonyms()
        with app.test_request_context():
            yield app
        db.session.remove()
        db.engine.dispose()


def test_parallel_rebuild_equals_serial_and_its_arrays_equal_whooshs_postings(file_app, monkeypatch):
    monkeypatch.setattr(build, "PART_DOCS", 40)  # several segments from 150-odd listings
    monkeypatch.setattr(build, "MIN_PART_DOCS", 20)
    qs = [item["q"] for item in queries()]
    services.reindex(procs=1)  # mines the collection's aliases
    services.synonyms()  # jieba learns every synonym word before both builds (workers inherit it)
    serial = services.reindex(procs=1)
    want = _results(qs)
    parallel = services.reindex(procs=2)
    assert parallel == serial > 100
    searcher = services.store().searcher()
    segments = [s.reader() for s, _o in searcher.leaf_searchers()]
    assert len(segments) == len(build.parts(list(range(serial)), 2)) >= 3
    assert _results(qs) == want  # same segmentation, same documents: the same ranking and scores

    checked = 0
    for reader in segments:
        side = fast.side_arrays(reader)
        assert side is not None
        for field in ("all_g", "title_j", "py_a", "in_t"):
            fmt = searcher.schema[field].format
            for word in list(side.dir[field])[:40]:
                ids, ws = side.postings(field, word)
                want_ids, want_ws = fast._read_postings(reader, field, word)
                assert np.array_equal(ids, want_ids) and np.array_equal(ws, want_ws)
                assert ws.dtype == np.float64
                if fmt.supports("positions"):
                    assert np.array_equal(side.positions(field, word), fast._read_position_keys(reader, field, word, fmt))
                checked += 1
        # a term below the export threshold is not there: Whoosh's blocks serve it
        rare = [raw for raw, info in reader.iter_field("all_g") if info.doc_frequency() < fast.EXPORT_MIN_DF]
        assert rare and rare[0].decode() not in side.dir["all_g"]
    assert checked > 200


def test_a_cold_query_reads_the_mapped_arrays_not_whooshs_blocks(file_app, monkeypatch):
    monkeypatch.setattr(fast, "EXPORT_MIN_DF", 1)  # every term written: nothing left to decode
    services.reindex(procs=1)
    services.warm()
    fast.CACHE.clear()
    decoded = []
    monkeypatch.setattr(fast, "_read_postings", lambda r, f, w: decoded.append((f, w)))
    monkeypatch.setattr(fast, "_read_position_keys", lambda r, f, w, fmt: decoded.append((f, w)))
    for q in ("电镜", "dianjing", "zpy", "sepu fenxi", "扫描电子显微镜 透射电镜", "哪里可以做材料的成分分析"):
        assert services.search(q).total > 0, q
    assert decoded == []


def test_warm_loads_arrays_and_facets_and_a_sync_keeps_results_right(file_app):
    services.reindex(procs=1)
    fast._SIDES.clear()
    services._facet_cache.clear()
    assert services.warm() > 0
    searcher = services.store().searcher()
    assert all(fast._SIDES.get((fast._folder(s.reader()), s.reader().segment().segment_id()), (0, None))[1]
               for s, _o in searcher.leaf_searchers())
    assert services._facet_cache  # built by the warm-up, used by the requests' searchers
    before = services.search("电镜")
    assert before.total > 1

    from market.search.outbox import enqueue
    from models.listings import Listing, ListingStatus

    gone = db.session.get(Listing, before.hits[0].listing.id)
    gone.status = ListingStatus.ARCHIVED
    enqueue(gone.id)
    db.session.commit()
    services.sync_outbox()
    after = services.search("电镜")
    assert after.total == before.total - 1  # the deletion applies to the mapped segment's postings
    assert gone.ref not in {h.listing.ref for h in after.hits}
    assert sum(after.facets["kind"].values()) == after.total


def test_export_missing_covers_merged_segments_and_forgets_gone_ones(file_app, monkeypatch):
    import os

    monkeypatch.setattr(build, "PART_DOCS", 40)
    services.reindex(procs=1)
    ix = services.store().open()
    old = {seg.segment_id() for seg in ix._segments()}
    assert len(old) >= 3
    writer = ix.writer()
    writer.commit(optimize=True)  # one merged segment, written by Whoosh without arrays
    ix = services.store().ensure()
    (merged,) = ix._segments()
    root = os.path.join(ix.storage.folder, fast.SIDE_DIR)
    assert merged.segment_id() not in os.listdir(root)
    assert fast.export_missing(ix, build.SCORED_FIELDS, min_docs=1) == 1
    assert set(os.listdir(root)) == {merged.segment_id()}
    want = _results(["电镜", "dianjing"])
    fast._SIDES.clear()
    fast.CACHE.clear()
    assert _results(["电镜", "dianjing"]) == want


def test_parts_are_balanced_and_bounded():
    assert build.parts([], 2) == []
    assert build.parts([1, 2, 3], 2) == [(1, 3)]  # a small collection stays one segment
    assert build.parts(list(range(1, 10_001)), 2) == [(1, 5_000), (5_001, 10_000)]
    assert build.parts(list(range(1, 10_001)), 1) == [(1, 10_000)]
    ids = list(range(1, 100_001))
    got = build.parts(ids, 2)
    assert len(got) == 4 and got[0] == (1, 25_000) and got[-1] == (75_001, 100_000)


def _segment_contents(ix):
    """Everything a reader can see of an index's one segment: per term its statistics and every
    posting (id, weight, value, the block's statistics), the stored fields and the field lengths."""
    from whoosh.reading import SegmentReader

    (seg,) = ix._segments()
    reader = SegmentReader(ix.storage, ix.schema, seg)
    try:
        terms = {}
        for field, text in reader.all_terms():
            info = reader.term_info(field, text)
            stats = (info.weight(), info.doc_frequency(), info.min_length(), info.max_length(), info.max_weight(),
                     info.min_id(), info.max_id())
            m = reader.postings(field, text)
            postings = []
            while m.is_active():
                postings.append((m.id(), m.weight(), m.value(), m.block_max_weight(), m.block_min_length(),
                                 m.block_max_length()))
                m.next()
            terms[(field, text)] = (stats, [type(x) for x in stats], postings)
        lengths = {f: [reader.doc_field_length(i, f) for i in range(reader.doc_count_all())] for f in ix.schema.names()}
        return list(terms), terms, list(reader.iter_docs()), lengths, seg
    finally:
        reader.close()


def test_part_writer_writes_what_whooshs_writer_writes(file_app, tmp_path, monkeypatch):
    """The in-memory writer of a rebuild's parts against Whoosh's own SegmentWriter on the dev
    listings: the same terms in the same order, statistics, postings (blocks of 128 included),
    stored fields and lengths, and the posting arrays written from memory equal the ones
    ``fast.export_segment`` decodes from Whoosh's blocks."""
    import os

    from sqlalchemy import select
    from whoosh import index as windex
    from whoosh.codec.whoosh3 import W3Codec

    from market.search.index import schema
    from models.listings import Listing, ListingStatus

    monkeypatch.setattr(W3Codec.__init__, "__defaults__", (8, 3, 1))  # blocks of 8: many full blocks
    monkeypatch.setattr(fast, "EXPORT_MIN_DF", 2)
    services.synonyms()
    listings = list(db.session.execute(
        select(Listing).where(Listing.status == ListingStatus.PUBLISHED).order_by(Listing.id)).scalars())
    docs = [services.document(x) for x in listings] * 3  # terms in more than one block
    assert len(docs) > 300

    for name in ("theirs", "ours"):
        (tmp_path / name).mkdir()
    theirs = windex.create_in(str(tmp_path / "theirs"), schema())
    writer = theirs.writer()
    for doc in docs:
        writer.add_document(**doc)
    writer.commit()
    theirs = windex.open_dir(str(tmp_path / "theirs"))

    ours = windex.create_in(str(tmp_path / "ours"), schema())
    part = build.PartWriter(ours)
    for doc in docs:
        part.add_document(**doc)
    segment = part._finalize_segment()
    assert part.export(ours.storage.folder, segment, build.SCORED_FIELDS) > 100
    part._commit_toc([segment])
    part._finish()
    ours = windex.open_dir(str(tmp_path / "ours"))

    want, got = _segment_contents(theirs), _segment_contents(ours)
    assert got[0] == want[0]  # terms, in order
    assert got[1] == want[1]
    assert max(len(p) for _s, _t, p in got[1].values()) > 8 * 5
    assert got[2] == want[2] and got[3] == want[3]

    fast.export_segment(theirs.storage, theirs.schema, want[4], build.SCORED_FIELDS)
    a = fast.SideArrays(os.path.join(theirs.storage.folder, fast.SIDE_DIR, want[4].segment_id()))
    b = fast.SideArrays(os.path.join(ours.storage.folder, fast.SIDE_DIR, got[4].segment_id()))
    assert list(a.dir.items()) == list(b.dir.items())
    for name in ("ids", "weights", "pos"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and np.array_equal(x, y), name
