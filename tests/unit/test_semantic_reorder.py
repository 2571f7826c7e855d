"""The re-ordering of a request by meaning (market/search/semantic.py), on made vectors: which queries are requests,
how closeness is scaled, which places move and which never do."""

from __future__ import annotations

import numpy as np
import pytest

from market.search import semantic


@pytest.mark.parametrize(("query", "request_"), [
    ("扫描电镜", False),  # a name: the words find it
    ("电感耦合等离子体质谱仪", False),  # a long name, 11 characters
    ("SEM EDS", False),  # Latin words only
    ("dianjing sepu", False),
    ("扫描电镜 断口 分析", True),  # several words
    ("冻干 疫苗", True),
    ("我们做跨境物流，想找港口和海关方面开放的数据", True),  # a sentence
    ("我们想找一台能观察材料表面的扫描电镜", True),
    ("  ", False),
])
def test_a_request_is_a_sentence_or_several_words(query, request_):
    assert semantic.is_request(query) is request_


def _space(vectors: dict[int, list[float]]) -> semantic.Space:
    sp = semantic.Space()
    rows = []
    for i, (lid, v) in enumerate(vectors.items(), start=1):
        unit = np.asarray(v, dtype=np.float32)
        unit /= np.linalg.norm(unit)
        padded = np.zeros(semantic.DIM, dtype="<f4")
        padded[: len(unit)] = unit
        rows.append((i, lid, padded.tobytes(), f"h{i}"))
    sp.add(rows)
    return sp


def test_closeness_is_one_at_the_closest_and_zero_from_the_thirtieth():
    rng = np.random.default_rng(0)
    sp = _space({i: rng.normal(size=8).tolist() for i in range(1, 61)})
    q = np.zeros(semantic.DIM, dtype=np.float32)
    q[:8] = rng.normal(size=8)
    q /= np.linalg.norm(q)
    close = sp.closeness(q)
    cos = sp.matrix[: sp.size] @ q
    order = np.argsort(-cos)
    assert close[order[0]] == pytest.approx(1.0)
    assert close[order[29]] == pytest.approx(0.0, abs=1e-6)
    assert (close[order[30:]] == 0).all()
    assert (np.diff(close[order[:30]]) <= 1e-6).all()  # in the order of the cosine


def test_a_vector_stored_again_replaces_its_row():
    sp = _space({1: [1, 0], 2: [0, 1]})
    again = np.zeros(semantic.DIM, dtype="<f4")
    again[0] = 1.0
    sp.add([(7, 2, again.tobytes(), "new")])
    assert sp.size == 2 and sp.max_id == 7 and sp.recent[7] == "new"
    assert sp.matrix[sp.row_of[2]][0] == 1.0


def _page(ids):
    return list(ids)


def _ids(items):
    return list(items)


@pytest.fixture
def close_to_the_end(monkeypatch):
    """30 listings; the request's vector is the last one's, so closeness grows down the page."""
    vectors = {i: [1.0, i / 30] for i in range(1, 31)}
    sp = _space(vectors)
    query = np.zeros(semantic.DIM, dtype=np.float32)
    query[:2] = [1.0, 1.0]
    query /= np.linalg.norm(query)
    monkeypatch.setattr(semantic, "embed_query", lambda q: query)
    return sp


def test_only_places_four_to_twenty_move(close_to_the_end):
    shown = _page(range(1, 31))
    got = _ids(semantic.reorder("扫描电镜 断口 分析", shown, 1.0, close_to_the_end))
    assert got[:3] == [1, 2, 3]  # the ranker's best three stay
    assert got[3:20] == list(range(20, 3, -1))  # by meaning alone (weight 1): the closest first
    assert got[20:] == list(range(21, 31))  # past the pool: the ranker's order
    assert sorted(got) == list(range(1, 31))  # one ranking: nothing lost, nothing twice


def test_the_weight_balances_place_and_meaning(close_to_the_end):
    shown = _page(range(1, 31))
    assert _ids(semantic.reorder("扫描电镜 断口 分析", shown, 0.0001, close_to_the_end))[:20] == list(range(1, 21))
    half = _ids(semantic.reorder("扫描电镜 断口 分析", shown, 0.5, close_to_the_end))
    assert half != list(range(1, 31)) and half[:3] == [1, 2, 3]


def test_what_the_spread_brought_in_keeps_its_place(close_to_the_end):
    shown = _page(range(1, 31))
    got = _ids(semantic.reorder("扫描电镜 断口 分析", shown, 1.0, close_to_the_end, pinned=frozenset({5, 9})))
    assert got[4] == 5 and got[8] == 9


def test_nothing_moves_for_a_name_or_a_page_without_vectors(close_to_the_end):
    shown = _page(range(1, 31))
    assert semantic.reorder("扫描电镜", shown, 0.5, close_to_the_end) is None
    assert semantic.reorder("扫描电镜 断口 分析", _page([*range(1, 20), 99]), 0.5, close_to_the_end) is None
    assert semantic.reorder("扫描电镜 断口 分析", shown, 0.5, None) is None
    assert semantic.reorder("扫描电镜 断口 分析", shown[:3], 0.5, close_to_the_end) is None


def test_the_model_ships_with_the_package_and_knows_chinese():
    """The weights are in the installed package (nothing is fetched); a request is nearer its answer than a
    listing about something else."""
    q = semantic.embed_query("我们做跨境物流，想找港口和海关方面开放的数据来预测通关时效")
    near, far = semantic.embed_passages(["港口集装箱吞吐量与海关通关数据。港口 海关。按日更新的通关时效数据",
                                         "光伏组件户外实证基地。光伏。组件发电量对比测试"])
    assert q.shape == (semantic.DIM,) and abs(float(np.linalg.norm(q)) - 1) < 1e-3
    assert float(near @ q) > float(far @ q)


def test_a_space_remembers_its_last_rows():
    sp = _space({i: [1.0, float(i)] for i in range(1, 12)})
    assert list(sp.recent) == list(range(4, 12)) and sp.recent[11] == "h11"
