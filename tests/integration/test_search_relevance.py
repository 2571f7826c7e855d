"""Regression guard: relevance on tests/data/relevance (the development set, tuned on) must not fall below the
reached figures; on the independent test set (relevance_test, never tuned on) neither may what the method reaches
today, nor issue 12's bar: when it fails, fix the method, not the data. The validation sets are guarded in
test_search_relevance_validation.py.

Figures and the comparison with the substring baseline: BENCHMARKS.md ("Search relevance"),
produced by ``bench/relevance.py`` (``--data tests/data/relevance_test`` for the test set).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import relevance as bench
from bench.relevance import (
    TYPES,
    evaluate,
    evaluate_similar,
    listings_data,
    ours,
    ours_similar,
    queries,
    substring_baseline,
)
from market.search.query import Strategy

pytest_plugins = ["tests.integration.conftest_search"]
# the ranking over a judged corpus: the database only holds it (tests/conftest.py runs these once, on SQLite)
pytestmark = pytest.mark.backend_neutral

# Reached on the development set (BENCHMARKS.md), minus a little slack (0.02); never lowered.
FLOOR = {
    "exact": (0.96, 0.96),  # recall 0.983 after the seventh pass
    "partial": (0.97, 0.98),
    "synonym": (0.97, 0.95),
    "abbreviation": (0.98, 0.98),
    "multi": (0.95, 0.95),
    "sentence": (0.94, 0.95),
    "typo_pinyin": (0.96, 0.98),
    "all": (0.96, 0.96),
}
TEST_SET = Path(__file__).resolve().parents[1] / "data" / "relevance_test"
# The independent test set (never tuned on) guards what the method reaches today; the issue's bar is
# 0.90 / 0.90 overall and 0.80 per type (BENCHMARKS.md reports both). When this fails, fix the method.
TEST_SET_FLOOR = {  # nDCG@10, recall@10 measured after the fifth and seventh passes of 6 Dec (BENCHMARKS.md),
    # less 0.03, each the higher of the two; never lowered
    "exact": (0.94, 0.88), "partial": (0.96, 0.93), "synonym": (0.86, 0.79), "abbreviation": (0.92, 0.84),
    "multi": (0.87, 0.87), "sentence": (0.81, 0.81), "typo_pinyin": (0.92, 0.86), "all": (0.91, 0.875),
}  # multi, sentence and all: after the thirty-third pass (requests re-ordered by meaning), less 0.03
# Issue 12's bar, reached on 7 Dec 2026 (thirty-third pass): overall nDCG@10 and recall@10 at least 0.90, no type
# below 0.80.
ISSUE_BAR_ALL, ISSUE_BAR_TYPE = 0.90, 0.80
# English queries over the same corpus (queries_en.yaml, written blind, never tuned on; market/search/english.py):
# measured on 7 Dec 2026 (BENCHMARKS.md, "English queries"), less 0.03; never lowered. As typed, without the
# glossary, they reached 0.078 / 0.079.
TEST_SET_ENGLISH_FLOOR = {
    "name": (0.84, 0.78), "general": (0.90, 0.80), "multi": (0.89, 0.89), "sentence": (0.85, 0.77), "all": (0.87, 0.81),
}

# The similar-listings box (``bench.relevance.similar_cases``: the box under each listing graded 3 for a query,
# judged by the other listings graded for it): nDCG@5, precision, recall@5 measured on 6 Dec (BENCHMARKS.md, "The
# similar-listings box, judged"), less 0.03; never lowered.
SIMILAR_FLOOR = (0.71, 0.57, 0.79)
TEST_SET_SIMILAR_FLOOR = (0.60, 0.49, 0.55)


def _similar_at_least(floor):
    got = evaluate_similar(ours_similar())
    assert got["ndcg"] >= floor[0] and got["precision"] >= floor[1] and got["recall"] >= floor[2], got


@pytest.fixture
def relevance_world(search_index, app):
    with bench.indexed(bench.DATA), app.test_request_context():
        yield


def test_relevance_set_is_big_enough():
    rows = listings_data()
    assert len(rows) >= 150
    assert {r["kind"] for r in rows} == {"scenario", "instrument", "facility", "pilot_base", "database", "public_data"}
    assert len({r["track"] for r in rows}) == 10
    qs = queries()
    assert len(qs) >= 40
    assert {q["type"] for q in qs} == set(TYPES)
    for qtype in ("abbreviation", "typo_pinyin"):
        assert sum(q["type"] == qtype for q in qs) >= 10


def test_relevance_does_not_regress_and_beats_substring(relevance_world):
    got = evaluate(ours(Strategy()))
    baseline = evaluate(substring_baseline(listings_data()))
    for qtype, (ndcg_floor, recall_floor) in FLOOR.items():
        assert got[qtype]["ndcg"] >= ndcg_floor, (qtype, got[qtype])
        assert got[qtype]["recall"] >= recall_floor, (qtype, got[qtype])
    assert got["all"]["ndcg"] > baseline["all"]["ndcg"] + 0.3
    _similar_at_least(SIMILAR_FLOOR)


@pytest.mark.skipif(not (TEST_SET / "queries.yaml").exists(), reason="the independent test set is not here yet")
def test_relevance_on_the_independent_test_set(search_index, app):
    with bench.indexed(TEST_SET), app.test_request_context():
        got = evaluate(ours(Strategy()))
        _similar_at_least(TEST_SET_SIMILAR_FLOOR)
        english = evaluate(ours(Strategy()), queries("queries_en.yaml"))
    for qtype, (ndcg_floor, recall_floor) in TEST_SET_ENGLISH_FLOOR.items():
        assert english[qtype]["ndcg"] >= ndcg_floor and english[qtype]["recall"] >= recall_floor, (qtype, english[qtype])
    for qtype, (ndcg_floor, recall_floor) in TEST_SET_FLOOR.items():
        assert got[qtype]["ndcg"] >= ndcg_floor and got[qtype]["recall"] >= recall_floor, (qtype, got[qtype])
    assert got["all"]["ndcg"] >= ISSUE_BAR_ALL and got["all"]["recall"] >= ISSUE_BAR_ALL, got["all"]
    for qtype in TYPES:
        assert got[qtype]["ndcg"] >= ISSUE_BAR_TYPE and got[qtype]["recall"] >= ISSUE_BAR_TYPE, (qtype, got[qtype])
