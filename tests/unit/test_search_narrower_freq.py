"""A family's members decided by what the index names (SynonymTable.narrower with ``freq``), not
by how many groups the lexicon happens to hold."""

from market.search.query import MAX_NARROWER_GROUPS, SynonymTable

# a made-up family word (no shipped category): 甲子玄器 = 甲子型 …, each a group ending with 玄器
MODIFIERS = [a + b for a in "甲乙丙丁戊己庚辛壬癸" for b in "子丑寅卯"][: MAX_NARROWER_GROUPS + 5]


def table(n: int) -> SynonymTable:
    return SynonymTable([[f"{m}玄器", f"{m}型"] for m in MODIFIERS[:n]])


def test_a_head_of_many_groups_is_a_family_by_the_groups_the_index_names():
    many = table(MAX_NARROWER_GROUPS + 5)
    assert many.narrower(("玄器",)) == ()  # more groups than MAX_NARROWER_GROUPS: counted as generic
    named = {f"{m}型" for m in MODIFIERS[:3]}
    got = many.narrower(("玄器",), freq=lambda t: 2 if t in named else 0)
    assert set(got) == named  # the three groups some listing names: a family after all


def test_members_no_listing_names_take_no_place_under_the_limit():
    few = table(20)
    everything = few.narrower(("玄器",), limit=8)
    assert len(everything) == 8
    named = {f"{m}型" for m in MODIFIERS[10:14]}
    got = few.narrower(("玄器",), limit=8, freq=lambda t: 1 if t in named else 0)
    assert set(got) == named  # found although the first eight in lexicon order are others
    assert not named & set(everything)
