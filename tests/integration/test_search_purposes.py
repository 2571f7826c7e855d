"""Issue 12, long natural-sentence queries: what a task needs (data/purposes.yaml). A request naming a
task (尺寸全检, 老化试验, 航拍) also finds the families of instruments, facilities and data that do it,
as members of the word naming the task: under the listings naming the task itself, never counted
twice, and not for a word that is only part of a longer known name."""

from __future__ import annotations

from dataclasses import replace

import pytest
import yaml

from market.search import query as query_mod
from market.search import services
from market.search.analysis import DATA_DIR
from market.search.query import DEFAULT, LITERAL, Strategy, SynonymTable, parse, purposes
from market.search.seed import load_lexicon

pytest_plugins = ["tests.integration.conftest_search"]

PURPOSES = replace(LITERAL, purposes=True)  # task purposes read, nothing else of a request


def refs(result):
    return [h.listing.ref for h in result.hits]


@pytest.fixture(scope="module")
def table():
    return SynonymTable([g["terms"] for g in load_lexicon()])


def _concept(parsed, text):
    return next(c for c in parsed.concepts if c.text == text)


# ---------------------------------------------------------------- the data
def test_every_purpose_section_names_its_source_and_every_task_has_families():
    sections = yaml.safe_load((DATA_DIR / "purposes.yaml").read_text(encoding="utf-8"))
    assert sections and all(str(s.get("source", "")).strip() and s.get("purposes") for s in sections)
    table = purposes()
    assert len(table) >= 100
    assert all(families for families in table.values())
    assert all(key == key.lower() and fam == fam.lower() for key, fams in table.items() for fam in fams)


# ---------------------------------------------------------------- parsing
def test_a_task_phrase_brings_the_families_that_do_it(table):
    parsed = parse("想找地方把冲压件的尺寸全检一遍", table, PURPOSES)
    check = _concept(parsed, "全检")
    assert "三坐标测量机" in check.purpose and "影像测量仪" in check.purpose
    assert "cmm" in check.purpose  # with the family's synonyms
    assert not any("全检" in f for f in check.purpose)  # the word itself finds those
    off = parse("想找地方把冲压件的尺寸全检一遍", table, LITERAL)
    assert all(not c.purpose for c in off.concepts)


def test_a_phrase_of_several_words_goes_to_its_most_specific_word(table):
    parsed = parse("需要给芯片做寿命试验", table, PURPOSES)
    # 可靠性试验 and its synonyms: the common head 试验 finds the name only as it finds every 试验
    assert {"可靠性试验", "可靠性测试"} <= set(_concept(parsed, "寿命").purpose)
    assert not _concept(parsed, "试验").purpose  # a generic head names no task of its own


def test_a_task_word_inside_a_longer_known_name_is_no_task(table):
    parsed = parse("流式细胞仪", table, PURPOSES)  # 细胞 is part of the instrument's name
    assert [c.text for c in parsed.concepts if not c.role] == ["流式细胞仪"]
    assert all(not c.purpose for c in parsed.concepts)


def test_a_family_the_query_names_itself_is_not_a_purpose_of_another_word(table):
    parsed = parse("扫描电镜 断口", table, PURPOSES)
    fracture = _concept(parsed, "断口")
    assert "失效分析" in fracture.purpose
    assert not {"扫描电镜", "sem", "扫描电子显微镜"} & set(fracture.purpose)
    # nor one another word finds by substring: 失效 finds 失效分析 already, it would count twice
    assert "失效分析" not in _concept(parse("扫描电镜 断口 失效", table, PURPOSES), "断口").purpose


def test_a_common_word_of_the_query_does_not_take_a_task_s_families(table):
    """试验 "finds" 疲劳试验机 only as it finds every 试验: 耐久's families stay (底盘 耐久 试验 wants fatigue testers)."""
    durable = _concept(parse("底盘 耐久 试验", table, PURPOSES), "耐久")
    assert "疲劳试验机" in durable.purpose
    assert "失效分析" in _concept(parse("扫描电镜 断口 分析", table, PURPOSES), "断口").purpose
    off = replace(PURPOSES, purposes_past_generic=False)
    assert "疲劳试验机" not in _concept(parse("底盘 耐久 试验", table, off), "耐久").purpose


def test_a_task_phrase_that_is_no_word_of_the_query_becomes_a_concept(table, monkeypatch):
    monkeypatch.setattr(query_mod, "_purposes", {"代烘": ("干燥设备",)})
    monkeypatch.setattr(query_mod, "_purpose_scan", None)
    parsed = parse("哪里可以代烘", table, PURPOSES)
    task = _concept(parsed, "代烘")
    assert task.purpose == ("干燥设备",)


# ---------------------------------------------------------------- ranking
def test_a_request_finds_the_instrument_doing_its_task_under_the_listings_naming_it(make_listing):
    services.seed_synonyms()
    cmm = make_listing("三坐标测量机开放共享", "海克斯康桥式测量机，精度 1.5 微米", tags=["精密测量"])
    vision = make_listing("影像测量仪", "二维尺寸快速测量")
    literal = make_listing("冲压件全检服务", "按客户要求对冲压件逐件全检", kind="facility")
    oven = make_listing("工业烘箱", "物料烘干与固化")
    request = "我们是做汽车模具的小厂，想找地方把冲压件的尺寸按图纸全检一遍"
    got = refs(services.search(request))
    assert got[0] == literal.ref  # the listing naming the task itself comes first
    assert {cmm.ref, vision.ref} <= set(got)
    assert oven.ref not in got  # a family of another task is no match
    without = refs(services.search(request, strategy=Strategy(purposes=False)))
    assert cmm.ref not in without
    assert DEFAULT.purposes


def test_ageing_tests_find_the_chambers_and_unrelated_listings_stay_out(make_listing):
    services.seed_synonyms()
    chamber = make_listing("高低温试验箱", "-70 至 150 摄氏度温度循环", tags=["环境试验"])
    humid = make_listing("恒温恒湿箱", "温湿度可编程")
    lathe = make_listing("数控车床加工", "轴类零件车削", kind="facility")
    got = refs(services.search("需要给激光芯片做老化寿命试验"))
    assert {chamber.ref, humid.ref} <= set(got)
    assert lathe.ref not in got
    assert humid.ref not in refs(services.search("需要给激光芯片做老化寿命试验", strategy=Strategy(purposes=False)))


# ---------------------------------------------------------------- words of no content, by part of speech
def test_time_words_numerals_and_measure_words_of_a_sentence_weigh_little(table):
    from market.search.query import FUNCTION_WEIGHT, function_word

    assert function_word("下个月") and function_word("一批") and not function_word("钛合金")
    assert not function_word("实时")  # an adverb can be the need itself (实时数据)
    request = "下个月想把一批样品的断口看一下"
    parsed = parse(request, table, replace(LITERAL, function_words=True))
    assert _concept(parsed, "下个月").weight == FUNCTION_WEIGHT and _concept(parsed, "一批").weight == FUNCTION_WEIGHT
    assert _concept(parsed, "断口").weight == 1.0
    plain = parse(request, table, LITERAL)
    assert _concept(plain, "下个月").weight == 1.0  # rare in the dictionary: frequency alone keeps it
    short = parse("一批 断口", table, replace(LITERAL, function_words=True))  # not a sentence: every word counts
    assert all(c.weight == 1.0 for c in short.concepts)


def test_a_sentence_ranks_by_its_need_not_by_its_time_words(make_listing):
    services.seed_synonyms()
    need = make_listing("断口分析服务", "金属零件断口形貌观察与失效原因判定", kind="facility")
    month = make_listing("下个月起一批新课程", "下个月开课，一批名额", kind="scenario")
    for n in range(3):  # the index holds the need's word more often than the time words: its idf is lower
        make_listing(f"断口检测 {n}", "零件失效分析", kind="facility")
    request = "下个月想把一批样品的断口看一下"
    assert refs(services.search(request))[0] == need.ref
    # without it the rare words of time and quantity weigh like the need and take the first place
    assert refs(services.search(request, strategy=Strategy(function_words=False)))[0] == month.ref
    assert DEFAULT.function_words


# ---------------------------------------------------------------- the verb of a purpose clause
def test_the_verb_after_a_purpose_marker_weighs_as_a_function_word_not_its_object(table):
    from market.search.query import FUNCTION_WEIGHT, purpose_verbs

    assert purpose_verbs("想找港口和海关的数据来预测通关时效") == {"预测"}
    assert purpose_verbs("用于监测土壤墒情的传感器") == {"监测"}
    assert purpose_verbs("以数据为准") == set()  # 以 before a noun is no purpose clause
    request = "我们做跨境物流，想找港口和海关方面开放的数据来预测通关时效"
    parsed = parse(request, table, replace(LITERAL, function_words=True, purpose_verbs=True))
    assert _concept(parsed, "预测").weight == FUNCTION_WEIGHT
    assert _concept(parsed, "通关时效").weight == 1.0  # its object
    assert _concept(parsed, "港口").weight == 1.0  # the head need
    assert _concept(parse(request, table, replace(LITERAL, function_words=True)), "预测").weight == 1.0
    short = parse("预测 通关", table, replace(LITERAL, purpose_verbs=True))  # not a sentence: no clause to read
    assert all(c.weight == 1.0 for c in short.concepts)


def test_a_sentence_ranks_its_head_need_before_a_listing_sharing_only_its_purpose_verb(make_listing):
    services.seed_synonyms()
    customs = make_listing("口岸通关时效数据开放清单", "港口 海关 进出口 通关时效", kind="public_data")
    traffic = make_listing("道路交通流量数据开放清单", "主要道路的分车型流量与平均车速，已脱敏。", kind="public_data")
    verb_only = make_listing("药物研发 AI 辅助筛选", "征集基于深度学习的活性预测模型，数据不出园区。", kind="scenario")
    request = "我们做跨境物流，想找港口和海关方面开放的数据来预测通关时效"
    ranked = refs(services.search(request))
    assert ranked[0] == customs.ref and ranked.index(traffic.ref) < ranked.index(verb_only.ref)
    # at full weight the rare verb alone outranks the open data sharing the request's common head words
    plain = refs(services.search(request, strategy=Strategy(purpose_verbs=False)))
    assert plain[0] == customs.ref and plain.index(verb_only.ref) < plain.index(traffic.ref)
    assert DEFAULT.purpose_verbs
