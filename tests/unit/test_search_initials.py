"""Pinyin initials several lexicon groups share stand for the group the index names most
(SynonymTable.by_initials with ``freq``)."""

from market.search.query import SynonymTable, parse

TABLE = SynonymTable([["透射电镜", "TEM"], ["台式电镜", "桌面电镜"], ["无人机", "UAV"]])


def test_initials_of_one_group_need_no_index():
    assert TABLE.by_initials("wrj") == "无人机"
    assert TABLE.by_initials("tsdj") is None  # 透射电镜 and 台式电镜


def test_shared_initials_go_to_the_group_the_index_names_at_least_twice_as_often():
    counts = {"透射电镜": 6, "台式电镜": 2}
    assert TABLE.by_initials("tsdj", lambda t: counts.get(t, 0)) == "透射电镜"
    counts = {"透射电镜": 3, "台式电镜": 2}  # no clear lead: still undecided
    assert TABLE.by_initials("tsdj", lambda t: counts.get(t, 0)) is None
    assert TABLE.by_initials("tsdj", lambda t: 0) is None  # the index names neither


def test_parse_searches_the_resolved_group():
    counts = {"台式电镜": 4}
    got = parse("tsdj", TABLE, known=lambda w: False, freq=lambda t: counts.get(t, 0)).concepts[0]
    assert {"台式电镜", "桌面电镜"} <= set(got.variants) and "透射电镜" not in got.variants
    plain = parse("tsdj", TABLE, known=lambda w: False).concepts[0]
    assert "台式电镜" not in plain.variants


def test_typed_pinyin_is_the_word_sounding_so_that_the_index_names_at_least_twice_as_often():
    from market.search import pinyin as py
    from market.search.query import _sounded_word

    table = SynonymTable([["车检", "机动车检测"]])
    syls = tuple(py.word_syllables("车间"))  # che jian: 车检 and 车间 alike

    def index_word(_syls):  # the index's most frequent title word with those syllables
        return "车间"

    assert _sounded_word(syls, table, index_word, None) == "车检"  # no counts: the lexicon's term
    assert _sounded_word(syls, table, index_word, {"车间": 4, "车检": 1}.get) == "车间"
    assert _sounded_word(syls, table, index_word, {"车间": 3, "车检": 2}.get) == "车检"  # no lead
    assert _sounded_word(syls, SynonymTable([]), index_word, {"车间": 3}.get) == "车间"
