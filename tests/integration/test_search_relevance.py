"""Regression guard: relevance on tests/data/relevance must not fall below the reached figures.

Figures and the comparison with the substring baseline: BENCHMARKS.md ("Search relevance"),
produced by ``bench/relevance.py``.
"""

from __future__ import annotations

import pytest

from bench.relevance import evaluate, listings_data, load_into_db, ours, queries, substring_baseline
from market.search import services
from market.search.query import Strategy

pytest_plugins = ["tests.integration.conftest_search"]

# Reached (BENCHMARKS.md), minus a little slack (0.02).
FLOOR = {
    "exact": (0.94, 0.86),
    "partial": (0.95, 0.96),
    "synonym": (0.95, 0.91),
    "multi": (0.93, 0.92),
    "sentence": (0.91, 0.85),
    "all": (0.94, 0.90),
}


@pytest.fixture
def relevance_world(search_index, app):
    services.seed_synonyms()
    load_into_db()
    services.reindex()
    with app.test_request_context():
        yield


def test_relevance_set_is_big_enough():
    rows = listings_data()
    assert len(rows) >= 150
    assert {r["kind"] for r in rows} == {"scenario", "instrument", "facility", "pilot_base", "database", "public_data"}
    assert len({r["track"] for r in rows}) == 10
    qs = queries()
    assert len(qs) >= 40
    assert {q["type"] for q in qs} == {"exact", "partial", "synonym", "multi", "sentence"}


def test_relevance_does_not_regress_and_beats_substring(relevance_world):
    got = evaluate(ours(Strategy()))
    baseline = evaluate(substring_baseline(listings_data()))
    for qtype, (ndcg_floor, recall_floor) in FLOOR.items():
        assert got[qtype]["ndcg"] >= ndcg_floor, (qtype, got[qtype])
        assert got[qtype]["recall"] >= recall_floor, (qtype, got[qtype])
    assert got["all"]["ndcg"] > baseline["all"]["ndcg"] + 0.3
