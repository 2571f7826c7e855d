"""Issue 12, the eighth pass: listings related to a request only through their descriptions are found
by the words the best matches' descriptions stress against the index (``services._description_terms``),
listed after every match (BENCHMARKS.md "Eighth pass (descrel)")."""

from __future__ import annotations

from market.search import services
from market.search.query import Strategy

pytest_plugins = ["tests.integration.conftest_search"]


def refs(hits):
    return [h.listing.ref for h in hits]


def corpus(make_listing):
    """Two freeze dryers (the matches of 冻干机), a spray dryer that never says 冻干 but shares what the
    dryers' descriptions are about (益生菌, 粉体, 西林瓶 …), a listing sharing one of those words only
    (粉体), and listings sharing none."""
    dryers = [
        make_listing("冻干机", "真空冷冻干燥，适合益生菌粉体与西林瓶制剂的工艺开发", tags=["冻干"]),
        make_listing("实验型冻干机", "小批量冷冻干燥，益生菌菌粉和粉体样品，西林瓶分装", tags=["冻干"]),
    ]
    spray = make_listing("喷雾干燥仪", "制备益生菌粉体与微囊，也可做西林瓶分装前的粉体样品", tags=["喷雾干燥"])
    unrelated = [
        make_listing("扫描电镜", "金属断口形貌观察，配能谱", tags=["形貌分析"]),
        make_listing("粉体流动性测试仪", "休止角与松装密度，金属粉体", tags=["流动性"]),  # one shared word: chance
        make_listing("激光粒度仪", "湿法分散，测定粒径分布", tags=["粒度"]),
        make_listing("电池充放电测试系统", "多通道循环寿命测试", tags=["电池测试"]),
        make_listing("气象观测数据", "逐小时气温降水风速", kind="public_data", tags=["气象"]),
        make_listing("冷藏箱", "冷藏样品按月计费", tags=["冷链"]),
    ]
    return dryers, spray, unrelated


def test_a_listing_related_only_by_its_description_comes_after_the_matches(make_listing, monkeypatch):
    # nine listings: every word is in a large share of so small an index; the share cap is for a real one
    monkeypatch.setattr(services, "DESCRIPTION_MAX_SHARE", 0.5)
    dryers, spray, unrelated = corpus(make_listing)
    result = services.search("冻干机")
    assert set(refs(result.hits)) == {d.ref for d in dryers}  # the direct matches keep the first places
    assert refs(result.related) == [spray.ref]  # then the one their descriptions point to, and nothing else
    assert not {u.ref for u in unrelated} & set(refs(result.related))


def test_without_the_description_words_that_listing_is_no_candidate(make_listing, monkeypatch):
    monkeypatch.setattr(services, "DESCRIPTION_MAX_SHARE", 0.5)
    dryers, spray, _unrelated = corpus(make_listing)
    off = services.search("冻干机", strategy=Strategy(description_feedback=0.0))
    assert set(refs(off.hits)) == {d.ref for d in dryers}
    assert spray.ref not in refs(off.related)


def test_the_description_words_are_those_the_matches_stress_and_the_index_holds_elsewhere(make_listing,
                                                                                            monkeypatch):
    monkeypatch.setattr(services, "DESCRIPTION_MAX_SHARE", 0.5)
    corpus(make_listing)
    searcher = services.store().searcher()
    text = "真空冷冻干燥，适合益生菌粉体与西林瓶制剂的工艺开发"
    words = dict(services._description_terms(searcher, [(text, 1.0)]))
    assert {"益生菌", "粉体", "西林瓶"} <= set(words)  # in the spray dryer too: they can find it
    assert "工艺开发" not in words and "制剂" not in words  # in no other listing: they find nothing
    assert max(words.values()) == 1.0
    # a word in more than the share cap of the listings says nothing of a topic (粉体: four of nine)
    monkeypatch.setattr(services, "DESCRIPTION_MAX_SHARE", 0.4)
    capped = dict(services._description_terms(searcher, [(text, 1.0)]))
    assert "粉体" not in capped and {"益生菌", "西林瓶"} <= set(capped)

    # matches that weigh nothing (relative score 0), or whose words no other listing holds, stress nothing:
    # no words, not a division by zero (a query of the third validation set once failed here)
    assert services._description_terms(searcher, [(text, 0.0)]) == []
    assert services._description_terms(searcher, [("工艺开发", 1.0)]) == []
