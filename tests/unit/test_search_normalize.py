"""Normalisation keeps a simplified text's words (market.search.text.normalize): only what is written
in traditional characters gets the mainland's words for it."""

from market.search.query import SynonymTable
from market.search.text import normalize


def test_traditional_text_becomes_simplified_with_the_mainland_words():
    assert normalize("掃描電鏡") == "扫描电镜"
    assert normalize("資料庫 軟體") == "数据库 软件"
    assert normalize("ＳＥＭ  核磁共振波譜儀") == "sem 核磁共振波谱仪"


def test_a_simplified_word_is_not_replaced_by_another_word():
    assert normalize("晶片") == "晶片"  # a wafer or a die: not 芯片
    assert normalize("LED晶片检测") == "led晶片检测"
    assert normalize("記憶體 晶片") == "内存 晶片"  # a traditional run next to it changes on its own


def test_a_lexicon_group_means_what_it_says():
    table = SynonymTable([["晶圆", "晶片"], ["芯片", "集成电路"]])
    assert set(table.groups["晶圆"]) == {"晶圆", "晶片"}
    assert "芯片" not in table.groups["晶片"] and "晶圆" not in table.groups["集成电路"]
