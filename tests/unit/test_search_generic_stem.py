"""The specific part of a long word ending with a common head (query._generic_stem)."""

from dataclasses import replace

from market.search.query import LITERAL, SynonymTable, _generic_stem, parse

TABLE = SynonymTable([["实验动物中心", "动物房"], ["三次元测量仪", "三坐标"]])


def test_the_stem_is_what_comes_before_a_common_head():
    assert _generic_stem("实验动物中心", "中心") == "实验动物"
    assert _generic_stem("食品安全检测", "检测") == "食品安全"
    assert _generic_stem("激光粒度分析仪", "分析仪") == "激光粒度"


def test_no_stem_for_a_specific_head_or_a_short_or_common_rest():
    assert _generic_stem("场发射扫描电镜", "扫描电镜") is None  # 扫描电镜 is no common head
    assert _generic_stem("云中心", "中心") is None  # one character before it
    assert _generic_stem("数据分析平台", "平台") == "数据分析"
    assert _generic_stem("检测中心", "中心") is None  # the rest is itself a common head


def test_the_stem_is_the_head_and_a_place_word_only_a_modifier():
    roles = {c.text: c.role for c in parse("实验动物中心", TABLE).concepts}
    assert roles["实验动物"] == "head" and roles["中心"] == "modifier"
    # an instrument's class names its siblings: it stays a head beside the stem
    roles = {c.text: c.role for c in parse("三次元测量仪", TABLE).concepts}
    assert roles["三次元"] == "head" and roles["测量仪"] == "head"
    off = {c.text: c.role for c in parse("实验动物中心", TABLE, replace(LITERAL, generic_stems=False)).concepts}
    assert off["中心"] == "head" and "实验动物" not in off
