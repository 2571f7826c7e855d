"""A typed word right before pinyin joins the word the pinyin sounds like when together they are a
lexicon term (query._typed_before_pinyin)."""

from dataclasses import replace

from market.search.query import LITERAL, SynonymTable, parse

TABLE = SynonymTable([["3d打印", "增材制造"], ["gmp车间", "gmp厂房"]])


def sounds(syls):  # the index's title word with these syllables
    return {"da yin": "打印", "ce jian": "车间", "che jian": "车间"}.get(" ".join(syls))


def variants(q, **kw):
    known = {"gmp", "3d", "4d"}.__contains__  # words of the index (not initials)
    return {c.text: c.variants for c in parse(q, TABLE, replace(LITERAL, **kw), known=known, sounds=sounds).concepts}


def test_the_typed_word_and_the_sounded_word_name_a_term():
    got = variants("3d dayin")
    assert {"打印", "3d打印", "增材制造"} <= set(got["dayin"]) and got["3d"] == ("3d",)
    assert {"车间", "gmp车间", "gmp厂房"} <= set(variants("gmp chejian")["chejian"])


def test_no_term_no_join_and_the_switch_turns_it_off():
    assert "3d打印" not in variants("4d dayin")["dayin"]  # 4d打印 is no term
    assert "3d打印" not in variants("3d dayin", joined_pinyin=False)["dayin"]
    assert "3d打印" not in variants("dayin 3d")["dayin"]  # the typed word comes after: no such name
