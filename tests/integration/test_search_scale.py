"""Search at scale: parallel rebuilds, per-segment posting arrays on disk, warm-up (issue 12)."""

from __future__ import annotations

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


def test_jieba_tokenizer_yields_what_jiebas_whoosh_analyzer_yields():
    from jieba.analyse import ChineseAnalyzer

    from market.search.analysis import jieba_analyzer
    from market.search.text import normalize

    theirs, ours = ChineseAnalyzer(), jieba_analyzer()
    texts = [row["title"] + " | " + row["description"] for row in __import__("bench.relevance").relevance.listings_data()]
    texts += ["the testing of SEM and XRD is running, 的 和 了", "lc-ms/ms 液相色谱-串联质谱仪 (hplc) 5g+工业互联网",
              "  ", "", "a b c 1 2 3", "掃描電鏡 ＳＥＭ"]
    for text in texts:
        text = normalize(text)
        want = sorted(t.text for t in theirs(text))
        assert sorted(t.text for t in ours(text)) == want, text
        assert sorted(t.text for t in ours(text)) == want  # from the block cache this time


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


def test_posting_pool_spills_sorted_runs_and_merges_them_back(tmp_path):
    import random

    from whoosh.filedb.filestore import FileStorage

    pool = build._Pool(FileStorage(str(tmp_path)).create(), None, limitmb=1)
    pool.BATCH = 777  # several batches per run
    rng = random.Random(3)
    items = [("all_g", f"词{rng.randrange(500)}".encode(), i, float(rng.randrange(1, 4)), bytes(rng.randrange(3)) or None)
             for i in range(20_000)]
    rng.shuffle(items)
    for item in items:
        pool.add(item)
    assert len(pool.runs) >= 2  # 1 MB of postings spilled to disk more than once
    assert list(pool.items()) == sorted(items)
    assert not list(tmp_path.glob("*.run"))  # each run removed once read
