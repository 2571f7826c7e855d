"""Issue 12, the fourth edition of the shipped lexicon (migration c4f1a9d2e7b8) and the fourth
edition of the categories: standard names with their colloquial variants (三次元 = 三坐标, 抄数 =
三维扫描, 漆膜 = 涂层, 光导纤维 = 光纤 …) and additive-manufacturing processes as members of 增材制造."""

from __future__ import annotations

from market.search import services
from market.search.query import SynonymTable
from market.search.seed import load_lexicon
from tests.integration.lexicon_upgrade import check_edition_upgrade, edition_sections

pytest_plugins = ["tests.integration.conftest_search"]

def _fourth_edition():
    return edition_sections("c4f1a9d2e7b8_search_lexicon_fourth_edition.py", down_revision="b3e8d1f4a6c2")


def test_fourth_edition_is_frozen_and_matches_the_lexicon_file():
    sections = _fourth_edition()
    shipped = {g["key"]: (g["terms"], g["source"]) for g in load_lexicon()}
    keys = [key for _source, groups in sections for key, _terms in groups]
    assert len(keys) >= 40 and len(set(keys)) == len(keys)
    for source, groups in sections:
        for key, terms in groups:
            assert shipped[key] == (terms, source)


def test_fourth_edition_words_are_synonyms_and_categories():
    table = SynonymTable([g["terms"] for g in load_lexicon()])
    assert "三坐标" in table.groups["三次元"] and "三维扫描" in table.groups["抄数"]
    assert "涂层" in table.groups["漆膜"] and "光纤" in table.groups["光导纤维"]
    # the processes of ISO/ASTM 52900 are kinds of 3D printing (增材制造 is its synonym)
    printing = set(table.narrower(table.groups["3d打印"]))
    assert {"光固化成形", "熔融沉积成形", "fdm", "sla"} <= printing


def test_a_colloquial_name_finds_the_listing_using_the_standard_one(make_listing):
    services.seed_synonyms()
    coating = make_listing("涂层性能检测实验室", "附着力、硬度与耐候", kind="facility", tags=["涂层", "附着力"])
    make_listing("工业CT检测", "内部缺陷", tags=["工业CT"])
    result = services.search("漆膜检测")
    assert [h.listing.ref for h in result.hits][0] == coating.ref


def test_an_installed_database_gets_the_fourth_edition_and_keeps_deletions(tmp_path):
    keys = [key for _source, groups in _fourth_edition() for key, _terms in groups]
    check_edition_upgrade(tmp_path, keys, before="b3e8d1f4a6c2")
