"""Issue 12, the fifth edition of the shipped lexicon (migration d7e2a5c8f1b4) and of the categories:
a broad vocabulary written blind from standards and professional usage (instrument short forms,
test and certification services, manufacturing processes, materials, energy, pharma, agriculture,
automotive, public-data items, terms of use, everyday phrasings of common needs)."""

from __future__ import annotations

import unicodedata

from market.search import services
from market.search.query import SynonymTable, categories
from market.search.seed import load_lexicon
from market.search.text import normalize
from tests.integration.lexicon_upgrade import check_edition_upgrade, edition_sections

pytest_plugins = ["tests.integration.conftest_search"]

def _fifth_edition():
    return edition_sections("d7e2a5c8f1b4_search_lexicon_fifth_edition.py", down_revision="c4f1a9d2e7b8")


def test_fifth_edition_is_frozen_and_matches_the_lexicon_file():
    sections = _fifth_edition()
    shipped = {g["key"]: (g["terms"], g["source"]) for g in load_lexicon()}
    keys = [key for _source, groups in sections for key, _terms in groups]
    assert len(keys) >= 300 and len(set(keys)) == len(keys)
    for source, groups in sections:
        assert source  # every section names where its terms come from
        for key, terms in groups:
            assert shipped[key] == (terms, source)


def test_fifth_edition_adds_new_names_not_duplicates():
    """Every group of the edition is keyed by a name no earlier group holds, and no group of it only
    repeats terms the lexicon had; no term is in two groups of the edition; a term that normalises to
    another word (zhconv: 晶片 -> 芯片) is not shipped by it."""
    edition = {key for _source, groups in _fifth_edition() for key, _terms in groups}
    earlier = [g for g in load_lexicon() if g["key"] not in edition]
    earlier_terms = {normalize(t) for g in earlier for t in g["terms"]}
    seen: set[str] = set()
    for _source, groups in _fifth_edition():
        for _key, terms in groups:
            norm = [normalize(t) for t in terms]
            assert len(set(norm)) == len(norm) >= 2, terms
            assert norm[0] not in earlier_terms, terms
            assert not set(norm) <= earlier_terms, terms
            assert not seen.intersection(norm), terms
            seen.update(norm)
            assert all(len(t) >= 2 for t in norm), terms
            assert all(normalize(t) == unicodedata.normalize("NFKC", t).lower() for t in terms), terms


def test_fifth_edition_words_are_synonyms_and_categories():
    table = SynonymTable([g["terms"] for g in load_lexicon()])
    assert "保质期" in table.groups["货架期"]
    assert "硬质合金" in table.groups["钨钢"] and "玉米" in table.groups["苞米"]
    assert "户用储能" in table.groups["户储"] and "异质结电池" in table.groups["hjt"]
    assert "委托测试" in table.groups["代测"] and "送样" in table.groups["代测"]  # joins the existing group
    assert "交通拥堵" in table.groups["堵车"]
    assert "冲焊涂总" in table.groups["四大工艺"]
    # look-alikes stay apart: 慢病毒 (a vector) is not 慢病 (chronic disease); 针刺试验 is not 针刺
    assert "慢病" not in table.groups["慢病毒"] and "针灸" not in table.groups["针刺试验"]
    assert "阳极氧化" in categories()["表面处理"] and "iso 9001" in categories()["体系认证"]
    treatments = set(table.narrower(table.groups["表面处理"]))
    assert {"阳极氧化", "电镀", "喷砂", "磷化"} <= treatments


def test_an_everyday_name_finds_the_listing_using_the_standard_one(make_listing):
    services.seed_synonyms()
    shelf = make_listing("食品货架期试验", "加速货架期与微生物、感官指标", kind="facility", tags=["货架期"])
    make_listing("食品营养成分检测", "营养标签", tags=["营养成分"])
    result = services.search("保质期测试")
    assert [h.listing.ref for h in result.hits][0] == shelf.ref


def test_an_installed_database_gets_the_fifth_edition_and_keeps_deletions(tmp_path):
    keys = [key for _source, groups in _fifth_edition() for key, _terms in groups]
    check_edition_upgrade(tmp_path, keys, before="c4f1a9d2e7b8")
