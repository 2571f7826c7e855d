"""Issue 12, the seventh pass: ranking and fill methods for whole classes of queries (each a
``Strategy`` switch, measured in BENCHMARKS.md "Seventh pass"), each shown on its own small data."""

from __future__ import annotations

from market.search import services
from market.search.query import Strategy

pytest_plugins = ["tests.integration.conftest_search"]


def refs(hits):
    return [h.listing.ref for h in hits]


def test_the_matches_common_words_weigh_less_among_the_related_listings(make_listing):
    """The feedback words of the related listings come from the matches' titles and tags; a common
    word among them (the 数据库 of a title) would find every listing of a kind before the one sharing
    what the match is about (随访: a follow-up registry)."""
    match = make_listing("病历科研数据库", "脱敏诊疗记录", kind="database", tags=["电子病历", "随访"],
                         rate_cny_per_hour=None)
    follow_up = make_listing("居民慢病统计", "社区随访记录", kind="public_data")
    same_kind = make_listing("材料性能数据库", "塑料物性数据库", kind="database", tags=["数据库"],
                             rate_cny_per_hour=None)
    result = services.search("病历")
    assert refs(result.hits) == [match.ref]
    assert refs(result.related) == [follow_up.ref, same_kind.ref]
    flat = services.search("病历", strategy=Strategy(feedback_generic=1.0))
    assert refs(flat.related) == [follow_up.ref, same_kind.ref]
    # related scores are shares of the best related listing's: the common word pulls half as hard
    pull, flat_pull = (dict((h.listing.ref, h.score) for h in r.related)[same_kind.ref] for r in (result, flat))
    assert pull < 0.8 * flat_pull


def test_a_long_word_ending_with_a_common_head_is_searched_as_what_comes_before_it(make_listing):
    """实验动物中心 = 实验动物 + 中心: a listing about laboratory animals that is no 中心 comes before the
    centres of anything else (a seed-testing centre, a computing centre)."""
    services.seed_synonyms()  # 实验动物中心 = 动物房 (the lexicon)
    centres = [make_listing(f"{name}中心", f"{name}中心对外开放", kind="facility", tags=[f"{name}中心"])
               for name in ("种子检验", "高性能计算", "远程会诊")]
    for name in ("扫描电镜", "液相色谱仪", "风洞", "冷库", "转鼓试验台", "气象数据", "盐雾试验箱", "无人机"):
        make_listing(name, "按小时计费")  # a corpus where 中心 is not everywhere
    animals = make_listing("大动物实验基地", "饲养实验用小型猪和羊", kind="facility", tags=["实验动物", "外科"])
    result = services.search("实验动物中心")
    assert refs(result.hits) == [animals.ref]
    # the centres match only the common head: listed after it (as the matches of a modifier are)
    assert set(refs(result.related)) == {c.ref for c in centres}
    # without the method the common head 中心 (at the head's weight) makes the centres the matches
    off = services.search("实验动物中心", strategy=Strategy(generic_stems=False))
    assert set(refs(off.hits)) == {c.ref for c in centres} and refs(off.related) == [animals.ref]


def test_shared_pinyin_initials_stand_for_the_group_the_index_names(make_listing):
    """tsdj are the initials of 透射电镜 and of 台式电镜 (two groups of the lexicon): in an index naming
    透射电镜 and never 台式电镜, they are 透射电镜 with its synonyms (TEM)."""
    services.seed_synonyms()
    make_listing("透射电镜", "高分辨成像")
    make_listing("场发射透射电镜", "原子级成像")
    tem = make_listing("TEM 样品制备", "超薄切片与离子减薄")
    assert tem.ref in refs(services.search("tsdj").hits)
    assert tem.ref not in refs(services.search("tsdj", strategy=Strategy(index_counts=False)).hits)
    desk = make_listing("台式电镜", "快速形貌观察")
    for i in range(3):
        make_listing(f"台式电镜 {i}号", "快速形貌观察")  # 台式电镜 is now the one named most
    got = refs(services.search("tsdj").hits)
    assert desk.ref in got and tem.ref not in got


def test_pinyin_stands_for_the_word_the_index_names_most_among_those_sounding_alike(make_listing):
    """chejian sounds like the lexicon's 车检 (vehicle inspection) and like 车间 (workshop): in an index
    of workshops it is 车间, found also where only a description says it."""
    services.seed_synonyms()  # 车检 = 机动车检测 (the lexicon); 车间 is no lexicon term
    make_listing("GMP车间", "口服固体制剂")
    make_listing("中试车间", "放大生产")
    cleanroom = make_listing("洁净厂房出租", "十万级洁净车间，按月计费", kind="facility")
    make_listing("机动车年检站", "安全技术检验预约", kind="facility")
    assert cleanroom.ref in refs(services.search("chejian").hits)  # 车间: its description says so
    assert cleanroom.ref not in refs(services.search("chejian", strategy=Strategy(index_counts=False)).hits)


def test_a_typed_word_before_pinyin_joins_the_word_it_sounds_like_into_a_term(make_listing):
    """3d dayin: 3d + 打印 (what dayin sounds like in this index) is the lexicon's 3D打印 = 增材制造."""
    services.seed_synonyms()
    make_listing("3D打印服务", "尼龙粉末烧结")
    centre = make_listing("增材制造创新中心", "粉末床熔融与定向能量沉积", kind="facility")
    assert centre.ref in refs(services.search("3d dayin").hits)
    assert centre.ref not in refs(services.search("3d dayin", strategy=Strategy(joined_pinyin=False)).hits)
