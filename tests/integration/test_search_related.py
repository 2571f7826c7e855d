"""Issue 12, recall: a query matching fewer than ten listings gets related ones after its matches
(the matches' titles, tags and lexicon terms as a feedback query; a long word's bigrams), and the
third edition of the lexicon as a data migration."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from market.extensions import db
from market.search import services
from market.search.query import Strategy
from market.search.seed import load_lexicon
from tests.integration.lexicon_upgrade import check_edition_upgrade

pytest_plugins = ["tests.integration.conftest_search"]

MIGRATION = Path(__file__).resolve().parents[2] / "migrations" / "versions" / "a8c2e5f7b913_search_lexicon_third_edition.py"


def refs(hits):
    return [h.listing.ref for h in hits]


def test_few_matches_get_related_listings_after_them_never_counted(make_listing):
    cryo = make_listing("冷冻电镜", "生物大分子高分辨结构解析", tags=["结构生物学", "蛋白质结构"])
    structures = make_listing("蛋白结构库", "三维结构与原始数据", kind="database", tags=["蛋白质结构"],
                              rate_cny_per_hour=None)
    unrelated = make_listing("汽车碰撞试验场", "整车被动安全", kind="facility", tags=["碰撞测试"])
    result = services.search("冷冻电镜")
    assert refs(result.hits) == [cryo.ref]
    assert result.total == 1 and sum(result.facets["kind"].values()) == 1  # related ones are not matches
    assert refs(result.related) == [structures.ref]  # shares the match's tag, never says 冷冻电镜
    assert unrelated.ref not in refs(result.related)
    assert services.search("冷冻电镜", strategy=Strategy(fill=False)).related == []
    # the filters hold for related listings too; another sort lists matches only
    assert services.search("冷冻电镜", {"kind": "instrument"}).related == []
    assert services.search("冷冻电镜", sort="newest").related == []


def test_a_long_word_matching_nothing_is_loosened_into_its_bigrams(make_listing):
    gun = make_listing("红外测温枪", "非接触测温")
    make_listing("扫描电镜", "材料表面形貌")
    result = services.search("测温仪")  # no listing says it: its bigram 测温 still finds the gun
    assert result.total == 0 and refs(result.related) == [gun.ref]


def test_ten_matches_get_no_related_listings(make_listing):
    for i in range(10):
        make_listing(f"光谱仪 {i}号", "光谱分析", tags=["光谱"])
    make_listing("光谱数据库", "光谱曲线", kind="database", tags=["光谱"], rate_cny_per_hour=None)
    result = services.search("光谱仪", per_page=10)
    assert result.total >= 10 and result.related == []


def test_related_listings_fill_only_the_page_holding_the_last_match(make_listing):
    a = make_listing("冷冻电镜", "结构解析", tags=["结构生物学"])
    b = make_listing("冷冻电镜制样", "玻璃化制样", tags=["结构生物学"])
    other = make_listing("结构生物学平台", "蛋白晶体", kind="facility", tags=["结构生物学"])
    first = services.search("冷冻电镜", per_page=1, page=1)
    assert len(first.hits) == 1 and first.related == []
    last = services.search("冷冻电镜", per_page=2, page=1)
    assert set(refs(last.hits)) == {a.ref, b.ref} and last.related == []  # the page is full
    room = services.search("冷冻电镜", per_page=5, page=1)
    assert refs(room.related) == [other.ref]


def test_third_edition_words_are_synonyms(make_listing):
    services.seed_synonyms()
    lfp = make_listing("LFP 正极中试线", "磷酸铁锂材料放大", kind="pilot_base")
    vpp = make_listing("VPP 调度平台", "聚合分布式资源", kind="facility")
    assert lfp.ref in refs(services.search("磷酸铁锂").hits)
    assert vpp.ref in refs(services.search("虚拟电厂").hits)


# ---------------------------------------------------------------- the third edition as a migration
def _third_edition():
    spec = importlib.util.spec_from_file_location("lexicon_third_edition", MIGRATION)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.down_revision == "f3a7c1d9e2b4"
    return [key for _source, groups in module.SECTIONS for key, _terms in groups]


def test_third_edition_is_frozen_and_matches_the_lexicon_file():
    keys = _third_edition()
    assert len(keys) >= 300 and len(set(keys)) == len(keys)
    shipped = {g["key"]: g["terms"] for g in load_lexicon()}
    assert set(keys) <= set(shipped)


def test_an_installed_database_gets_the_third_edition_and_keeps_deletions(tmp_path):
    keys = _third_edition()
    check_edition_upgrade(tmp_path, keys, before="f3a7c1d9e2b4")


def test_the_search_page_lists_related_listings_under_their_own_heading(client, make_listing):
    cryo = make_listing("冷冻电镜", "结构解析", tags=["结构生物学"])
    other = make_listing("结构生物学平台", "蛋白晶体", kind="facility", tags=["结构生物学"])
    html = client.get("/search/", query_string={"q": "冷冻电镜"}).get_data(as_text=True)
    matches, related = html.split('id="search-related"', 1)
    assert f'data-ref="{cryo.ref}"' in matches and f'data-ref="{other.ref}"' not in matches
    assert f'data-ref="{other.ref}"' in related and "search-related-hit" in related
    assert "与您的搜索部分相关" in matches  # the heading says what they are


def test_matches_of_only_a_common_word_come_after_the_related_listings(make_listing):
    assay = make_listing("血药浓度测定", "小分子定量", tags=["药代动力学"])
    monitoring = make_listing("临床药物监测平台", "样本前处理", kind="facility", tags=["药代动力学"])
    weak = [make_listing(f"工业CT检测系统 {i}号", "铸件内部缺陷检测") for i in range(10)]
    result = services.search("血药浓度 检测", per_page=20)
    assert result.total == 11  # every match counts, the weak ones too
    assert refs(result.hits) == [assay.ref]  # the one matching the specific word
    got = refs(result.related)
    assert got[0] == monitoring.ref  # related through the match's tag, before …
    assert set(got[1:]) == {x.ref for x in weak}  # … the listings matching only 检测
    no_split = services.search("血药浓度 检测", per_page=20, strategy=Strategy(generic_split=False))
    assert refs(no_split.hits)[0] == assay.ref and len(no_split.hits) == 11 and no_split.related == []


def test_a_one_word_query_gets_the_category_it_is_a_member_of_among_the_related(make_listing):
    services.seed_synonyms()  # 射线探伤 = X射线探伤 = RT检测; data/categories.yaml: a kind of 无损检测
    # the centre never says 射线探伤 (nor 射线, 探伤)
    xray = make_listing("数字射线探伤系统", "焊缝内部缺陷成像", tags=["焊缝"])
    centre = make_listing("无损检测服务中心", "压力容器与管道的第三方检验", kind="facility", tags=["无损检测"])
    make_listing("冷冻电镜", "生物大分子结构解析")
    result = services.search("射线探伤")
    assert refs(result.hits) == [xray.ref]
    assert refs(result.related) == [centre.ref]
    # (its synonym 射线检测 loosened would find the centre through 检测: that switch off too)
    assert services.search("射线探伤", strategy=Strategy(related_parents=False, loosen_synonyms=False)).related == []
    # a query of several needs does not widen each of them to its class
    assert centre.ref not in refs(services.search("射线探伤 焊缝", strategy=Strategy(loosen_synonyms=False)).related)


def test_the_api_lists_related_listings_after_the_matches_with_no_score(make_listing, client):
    """/api/v1/search gives the page as the search page shows it (CONTRACT.md keys unchanged): the matches,
    then the related listings with ``score`` null, which ``total`` does not count."""
    cryo = make_listing("冷冻电镜", "生物大分子高分辨结构解析", tags=["结构生物学", "蛋白质结构"])
    structures = make_listing("蛋白结构库", "三维结构与原始数据", kind="database", tags=["蛋白质结构"],
                              rate_cny_per_hour=None)
    db.session.commit()
    body = client.get("/api/v1/search", query_string={"q": "冷冻电镜"}).get_json()
    assert body["total"] == 1
    assert [i["ref"] for i in body["items"]] == [cryo.ref, structures.ref]
    assert body["items"][0]["score"] is not None and body["items"][1]["score"] is None
    assert all(set(i) == {"ref", "kind", "title", "owner", "score", "highlight"} for i in body["items"])


def test_a_word_is_loosened_through_its_synonym_too(make_listing):
    services.seed_synonyms()  # TEM = 透射电镜 = 透射电子显微镜
    tem = make_listing("TEM 透射电镜", "高分辨成像")
    polar = make_listing("偏光显微分析系统", "岩矿薄片观察", tags=["偏光"])  # shares 显微 with the synonym only
    make_listing("汽车碰撞试验场", "整车被动安全")
    result = services.search("TEM")
    assert refs(result.hits) == [tem.ref] and polar.ref in refs(result.related)
    assert polar.ref not in refs(services.search("TEM", strategy=Strategy(loosen_synonyms=False)).related)


def test_each_known_concept_of_a_query_gets_its_best_listings_into_the_first_ten(make_listing):
    services.seed_synonyms()  # 扫描电镜 and 核磁共振 are lexicon terms: known concepts
    sem = [make_listing(f"扫描电镜 {i}号", "形貌观察", tags=["扫描电镜"]) for i in range(12)]
    nmr = [make_listing(f"结构表征平台 {i}号", "平台配有多台常规仪器，包括红外、紫外、热分析等，也可做核磁共振测试。"
                        "样品需提前预约，出具报告。" * 2) for i in range(12)]
    first = refs(services.search("扫描电镜 核磁共振", per_page=10).hits)
    assert len(first) == 10
    assert sum(r in {x.ref for x in nmr} for r in first) == 3  # the best three of the other concept
    unspread = refs(services.search("扫描电镜 核磁共振", per_page=10, strategy=Strategy(spread=0, semantic=0)).hits)
    assert set(unspread) <= {x.ref for x in sem}  # without it: ten listings of one concept
    # the best ones stay where they were (in the ranker's own order: the re-ordering by meaning moves places 4-20,
    # but never what the spread brought in, as the first assertion shows with it on)
    lexical = refs(services.search("扫描电镜 核磁共振", per_page=10, strategy=Strategy(semantic=0)).hits)
    assert lexical[:7] == unspread[:7]
    second = refs(services.search("扫描电镜 核磁共振", per_page=10, page=2).hits)
    assert not set(first) & set(second)  # the moved ones are not listed again on the next page
    assert services.search("扫描电镜 核磁共振", per_page=10).total == 24  # nothing added or lost


def test_matches_of_only_a_modifier_come_after_the_related_listings(make_listing):
    services.seed_synonyms()
    hplc = make_listing("高效液相色谱仪", "药物含量测定", tags=["HPLC"])
    ion = make_listing("离子色谱仪", "水中阴离子分析", tags=["离子色谱"])
    solar = make_listing("高效晶硅光伏电池中试平台", "电池工艺中试", kind="facility", tags=["光伏电池"])
    result = services.search("高效液相色谱仪")
    assert refs(result.hits) == [hplc.ref, ion.ref]  # the sibling through the head 色谱仪
    assert solar.ref in refs(result.related)  # 高效 alone is a weak match: shown after, under related
    off = services.search("高效液相色谱仪", strategy=Strategy(modifier_split=False))
    assert solar.ref in refs(off.hits)
