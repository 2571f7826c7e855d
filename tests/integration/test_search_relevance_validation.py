"""Regression guard on the three validation sets: relevance_val and relevance_val2 (written blind, then tuned on)
must not fall below the reached figures; relevance_val3 (never tuned on) guards what the method reaches: when it
fails, fix the method, not the data. Apart from test_search_relevance.py so that the two files run on two workers
(each set is indexed and embedded afresh: tens of seconds each).

Figures: BENCHMARKS.md ("Search relevance"), produced by ``bench/relevance.py --data tests/data/relevance_val…``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import relevance as bench
from bench.relevance import evaluate, ours, queries
from market.search.query import Strategy

pytest_plugins = ["tests.integration.conftest_search"]
# the ranking over a judged corpus: the database only holds it (tests/conftest.py runs these once, on SQLite)
pytestmark = pytest.mark.backend_neutral

VAL_SET = Path(__file__).resolve().parents[1] / "data" / "relevance_val"
# The validation set (written blind, then tuned on: BENCHMARKS.md has its unseen figure too), reached
# after the fifth pass (6 Dec), minus 0.02 (sentence and overall recall: after the seventh pass; partial,
# synonym and sentence recall: after the eighth pass (descrel), minus 0.03); never lowered.
VAL_SET_FLOOR = {
    "exact": (0.93, 0.90), "partial": (0.95, 0.92), "synonym": (0.92, 0.92), "abbreviation": (0.95, 0.95),
    "multi": (0.89, 0.87), "sentence": (0.87, 0.86), "typo_pinyin": (0.92, 0.92), "all": (0.92, 0.90),
}
VAL2_SET = Path(__file__).resolve().parents[1] / "data" / "relevance_val2"
# The second validation set (written blind; measured unseen once, then tuned on: BENCHMARKS.md, the
# fifth pass), reached after that pass, minus 0.02 (synonym, sentence and overall: after the seventh pass
# (sentences); exact, synonym, typo/pinyin and all: after the seventh pass (recallgen); synonym and overall
# recall: after the eighth pass (descrel), minus 0.03; multi recall: after the eleventh pass (passing), 0.903
# less 0.03).
VAL2_SET_FLOOR = {
    "exact": (0.94, 0.90), "partial": (0.93, 0.87), "synonym": (0.92, 0.84), "abbreviation": (0.88, 0.91),
    "multi": (0.90, 0.87), "sentence": (0.90, 0.84), "typo_pinyin": (0.93, 0.89), "all": (0.91, 0.86),
}
VAL3_SET = Path(__file__).resolve().parents[1] / "data" / "relevance_val3"
# The third validation set (written blind, **never tuned on**: like the test set, only the lead measures it)
# guards what the method reaches: after the eighth pass (6 Dec, BENCHMARKS.md), less 0.03; never lowered.
VAL3_SET_FLOOR = {
    "exact": (0.91, 0.74), "partial": (0.90, 0.79), "synonym": (0.75, 0.69), "abbreviation": (0.89, 0.80),
    "multi": (0.85, 0.72), "sentence": (0.86, 0.78), "typo_pinyin": (0.91, 0.85), "all": (0.85, 0.77),
}  # sentence and all: after the thirty-third pass (requests re-ordered by meaning), less 0.03



# English queries over the validation corpus (queries_en.yaml, written blind, then tuned on: the glossary's common
# words were added after its first measurement; market/search/english.py): 7 Dec 2026 (BENCHMARKS.md, "English
# queries"), less 0.03; never lowered.
VAL_SET_ENGLISH_FLOOR = {
    "name": (0.85, 0.72), "general": (0.92, 0.83), "multi": (0.90, 0.79), "sentence": (0.67, 0.62), "all": (0.84, 0.75),
}


def _evaluate_on(data: Path, app, *judged: str):
    """The default strategy's figures on the collection at ``data``: its queries.yaml, then each of ``judged``."""
    with bench.indexed(data), app.test_request_context():
        run = ours(Strategy())
        return [evaluate(run), *(evaluate(run, queries(name)) for name in judged)]


@pytest.mark.skipif(not (VAL_SET / "queries.yaml").exists(), reason="the validation set is not here")
def test_relevance_on_the_validation_set(search_index, app):
    got, english = _evaluate_on(VAL_SET, app, "queries_en.yaml")
    for qtype, (ndcg_floor, recall_floor) in VAL_SET_FLOOR.items():
        assert got[qtype]["ndcg"] >= ndcg_floor and got[qtype]["recall"] >= recall_floor, (qtype, got[qtype])
    for qtype, (ndcg_floor, recall_floor) in VAL_SET_ENGLISH_FLOOR.items():
        assert english[qtype]["ndcg"] >= ndcg_floor and english[qtype]["recall"] >= recall_floor, (qtype, english[qtype])


@pytest.mark.skipif(not (VAL2_SET / "queries.yaml").exists(), reason="the second validation set is not here")
def test_relevance_on_the_second_validation_set(search_index, app):
    (got,) = _evaluate_on(VAL2_SET, app)
    for qtype, (ndcg_floor, recall_floor) in VAL2_SET_FLOOR.items():
        assert got[qtype]["ndcg"] >= ndcg_floor and got[qtype]["recall"] >= recall_floor, (qtype, got[qtype])


@pytest.mark.skipif(not (VAL3_SET / "queries.yaml").exists(), reason="the third validation set is not here")
def test_relevance_val3_never_tuned_on(search_index, app):
    """When this fails, fix the method, not the data (RULES.md of the set)."""
    (got,) = _evaluate_on(VAL3_SET, app)
    for qtype, (ndcg_floor, recall_floor) in VAL3_SET_FLOOR.items():
        assert got[qtype]["ndcg"] >= ndcg_floor and got[qtype]["recall"] >= recall_floor, (qtype, got[qtype])
