"""SME ↔ scenario/resource fit and recommendations (issue 11): factors as codes, diversity."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from matching.scoring import (
    Deal,
    Opportunity,
    Sme,
    TfIdf,
    Weights,
    build_tfidf,
    cap_per_key,
    mmr,
    recommend_for_owner,
    recommend_for_sme,
    score,
    tokenize,
)

IMAGING = Sme(
    id="sme-imaging",
    tokens=tuple(tokenize("医学影像 标注 深度学习 CT 肺结节 检测")),
    tracks=frozenset({"digital_healthcare"}),
    tags=frozenset({"medical_imaging", "annotation", "ai"}),
    capabilities=frozenset({"data_annotation", "model_training"}),
    deals=(
        Deal("digital_healthcare", frozenset({"medical_imaging", "annotation"})),
        Deal("digital_healthcare", frozenset({"annotation"})),
        Deal("smart_transport", frozenset({"video"})),
    ),
    district="北湖科技开发区",
    budget_min=Decimal("200000"),
    budget_max=Decimal("2000000"),
)
TRAFFIC = Sme(
    id="sme-traffic",
    tokens=tuple(tokenize("智能交通 信号灯 配时 优化 车路协同")),
    tracks=frozenset({"smart_transport"}),
    tags=frozenset({"v2x", "video"}),
    capabilities=frozenset({"edge_computing"}),
    district="长东北核心区",
    budget_min=Decimal("1000000"),
)
CT_SCENARIO = Opportunity(
    id="sc-ct",
    owner_id="hospital",
    tokens=tuple(tokenize("CT 影像 肺结节 智能 检测 标注 数据集")),
    track="digital_healthcare",
    tags=frozenset({"medical_imaging", "annotation"}),
    capabilities=frozenset({"data_annotation", "regulatory_filing"}),
    district="北湖科技开发区",
    budget=Decimal("800000"),
)
SIGNAL_SCENARIO = Opportunity(
    id="sc-signal",
    owner_id="transit",
    tokens=tuple(tokenize("路口 信号灯 配时 优化 视频 检测")),
    track="smart_transport",
    tags=frozenset({"video"}),
    budget=Decimal("3000000"),
)
CORPUS = build_tfidf([IMAGING, TRAFFIC], [CT_SCENARIO, SIGNAL_SCENARIO])


def test_tokenize_cuts_latin_words_and_cjk_bigrams():
    assert tokenize("CT 肺结节, AI-2025") == ["ct", "肺结", "结节", "ai", "2025"]
    assert tokenize("云") == ["云"]


def test_score_reports_each_factor_as_a_code_with_parameters():
    m = score(IMAGING, CT_SCENARIO, CORPUS)
    reasons = dict(m.reasons)
    assert reasons["same_track"] == {"track": "digital_healthcare"}
    assert reasons["shared_tags"] == {"tags": ["annotation", "medical_imaging"], "share": 1.0}
    assert reasons["capabilities"] == {"matched": ["data_annotation"], "missing": ["regulatory_filing"]}
    assert reasons["past_deals"] == {
        "count": 2,
        "track": "digital_healthcare",
        "tags": ["annotation", "medical_imaging"],
    }
    assert reasons["same_district"] == {"district": "北湖科技开发区"}
    assert reasons["budget_fit"] == {"budget": "800000", "min": "200000", "max": "2000000"}
    assert reasons["text_similarity"]["cosine"] > 0.2
    assert set(reasons["text_similarity"]["terms"]) <= set(tokenize("CT 影像 肺结节 检测 标注"))
    # the score is the sum of the factors' points, strongest first, and lies in [0, 1]
    assert m.score == pytest.approx(sum(f.points for f in m.factors))
    assert [f.points for f in m.factors] == sorted((f.points for f in m.factors), reverse=True)
    assert 0.7 < m.score <= 1.0


def test_a_poor_fit_scores_low_and_says_nothing_it_cannot_back():
    m = score(TRAFFIC, CT_SCENARIO, CORPUS)
    codes = {code for code, _ in m.reasons}
    assert codes.isdisjoint({"same_track", "shared_tags", "past_deals", "same_district", "budget_fit"})
    assert m.score < score(IMAGING, CT_SCENARIO, CORPUS).score
    assert m.score < 0.2


def test_budget_near_and_outside():
    near = score(TRAFFIC, Opportunity("o", "x", budget=Decimal("600000")), CORPUS)
    assert dict(near.reasons)["budget_near"]["min"] == "1000000"
    far = score(TRAFFIC, Opportunity("o", "x", budget=Decimal("100000")), CORPUS)
    assert not far.reasons


def test_weights_change_the_balance():
    only_text = Weights(text=1, track=0, tags=0, capabilities=0, past_deals=0, district=0, budget=0)
    m = score(IMAGING, CT_SCENARIO, CORPUS, only_text)
    assert m.score == pytest.approx(CORPUS.cosine(IMAGING.tokens, CT_SCENARIO.tokens), abs=1e-6)


def test_tfidf_rare_terms_weigh_more_and_cosine_is_bounded():
    tfidf = TfIdf([["a", "b"], ["a", "c"], ["a", "d"]])
    assert tfidf.idf("b") > tfidf.idf("a")
    assert tfidf.cosine(["a", "b"], ["a", "b"]) == pytest.approx(1.0)
    assert tfidf.cosine(["b"], ["c"]) == 0.0
    assert tfidf.cosine([], ["a"]) == 0.0


@given(st.lists(st.sampled_from("abcdef"), max_size=8), st.lists(st.sampled_from("abcdef"), max_size=8))
def test_cosine_is_symmetric_and_within_0_1(a, b):
    tfidf = TfIdf([a, b, list("abc")])
    c = tfidf.cosine(a, b)
    assert -1e-12 <= c <= 1 + 1e-9
    assert c == pytest.approx(tfidf.cosine(b, a))


def test_sme_recommendations_cap_each_owner():
    big_owner = [
        Opportunity(f"h{i}", "hospital", tokens=CT_SCENARIO.tokens, track="digital_healthcare")
        for i in range(5)
    ]
    other = Opportunity("lab", "university", tokens=tuple(tokenize("影像 数据 平台")))
    tfidf = build_tfidf([IMAGING], [*big_owner, other])
    uncapped = recommend_for_sme(IMAGING, [*big_owner, other], tfidf, k=4, per_owner=10)
    assert [m.owner_id for m in uncapped] == ["hospital"] * 4
    capped = recommend_for_sme(IMAGING, [*big_owner, other], tfidf, k=4, per_owner=2)
    assert [m.owner_id for m in capped].count("hospital") == 2
    assert "university" in {m.owner_id for m in capped}
    assert [m.score for m in capped] == sorted((m.score for m in capped), reverse=True)


def test_owner_recommendations_rank_fitting_smes_and_spread_similar_ones():
    clone = Sme("sme-imaging-2", tokens=IMAGING.tokens, tracks=IMAGING.tracks, tags=IMAGING.tags)
    other = Sme(
        "sme-lab",
        tokens=tuple(tokenize("病理 切片 数字化 扫描")),
        tracks=frozenset({"digital_healthcare"}),
        tags=frozenset({"annotation"}),
    )
    smes = [IMAGING, clone, other, TRAFFIC]
    tfidf = build_tfidf(smes, [CT_SCENARIO])
    plain = recommend_for_owner([CT_SCENARIO], smes, tfidf, k=2, lam=1.0)
    assert [m.sme_id for m in plain] == ["sme-imaging", "sme-imaging-2"]
    diverse = recommend_for_owner([CT_SCENARIO], smes, tfidf, k=2, lam=0.5)
    assert [m.sme_id for m in diverse] == ["sme-imaging", "sme-lab"]
    assert all(m.opportunity_id == "sc-ct" for m in diverse)


def test_owner_recommendations_take_each_smes_best_opportunity():
    tfidf = CORPUS
    ranked = recommend_for_owner([CT_SCENARIO, SIGNAL_SCENARIO], [IMAGING, TRAFFIC], tfidf, k=5)
    by_sme = {m.sme_id: m.opportunity_id for m in ranked}
    assert by_sme == {"sme-imaging": "sc-ct", "sme-traffic": "sc-signal"}


def test_cap_per_key_and_mmr_helpers():
    assert cap_per_key(["a1", "a2", "a3", "b1"], lambda s: s[0], 3, 1) == ["a1", "b1"]
    items = ["x", "x2", "y"]
    rel = {"x": 1.0, "x2": 0.95, "y": 0.6}.__getitem__
    sim = lambda p, q: 1.0 if p[0] == q[0] else 0.0  # noqa: E731
    assert mmr(items, rel, sim, 2, lam=1.0) == ["x", "x2"]
    assert mmr(items, rel, sim, 2, lam=0.5) == ["x", "y"]
