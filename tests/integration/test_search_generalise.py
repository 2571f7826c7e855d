"""Search that generalises (issue 12): the lexicon as schema data, pinyin, homophone typos,
aliases mined from the listings, compound names and long questions, similar listings, bad input."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from flask_migrate import upgrade
from sqlalchemy import func, select

from market import create_app
from market.extensions import db
from market.search import services
from market.search.query import DEFAULT, parse
from market.search.seed import load_lexicon
from models.search import SearchSynonym
from models.users import Role

pytest_plugins = ["tests.integration.conftest_search"]


def refs(result):
    return [h.listing.ref for h in result.hits]


def _terms(row):
    return {t.lower() for t in row.terms}


# ---------------------------------------------------------------- the lexicon is schema data
def test_fresh_db_upgrade_has_the_shipped_lexicon_without_demo(tmp_path):
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'fresh.db'}",
                      "SEARCH_INDEX_DIR": str(tmp_path / "index")})
    with app.app_context():
        try:
            upgrade()
            shipped = load_lexicon()
            assert len(shipped) >= 300
            assert all(g["source"] for g in shipped)
            count = db.session.execute(
                select(func.count()).select_from(SearchSynonym).where(SearchSynonym.origin == "shipped")
            ).scalar_one()
            assert count == len(shipped)
            table = services.synonyms(refresh=True)
            assert "扫描电子显微镜" in table.groups["sem"]
            assert "太阳能电池" in table.groups["光伏"]
            assert services.seed_synonyms() == 0  # nothing new to merge
        finally:
            db.session.remove()
            db.engine.dispose()
            services.invalidate_synonyms()


def test_reseed_merges_new_groups_and_keeps_admin_edits_and_deletions(app_ctx, make_user, tmp_path):
    admin = make_user(role=Role.DISTRICT_ADMIN)
    lexicon = tmp_path / "lexicon.yaml"
    lexicon.write_text("- source: 测试词库 v1\n  groups:\n    - [SEM, 扫描电镜]\n    - [XRD, X射线衍射]\n", encoding="utf-8")
    assert services.seed_synonyms(lexicon) == 2
    rows = {r.terms[0]: r for r in db.session.execute(select(SearchSynonym)).scalars()}
    assert rows["SEM"].origin == "shipped" and rows["SEM"].source == "测试词库 v1"
    services.delete_synonym(admin, rows["SEM"].id)
    services.save_synonym(admin, "XRD, X射线衍射, X射线衍射仪", rows["XRD"].id)
    # v2 of the lexicon adds a group; the deleted and the edited ones must stay as the admin left them
    lexicon.write_text("- source: 测试词库 v2\n  groups:\n    - [SEM, 扫描电镜]\n    - [XRD, X射线衍射]\n"
                       "    - [AFM, 原子力显微镜]\n", encoding="utf-8")
    assert services.seed_synonyms(lexicon) == 1
    table = services.synonyms(refresh=True)
    assert "sem" not in table.groups
    assert set(table.groups["xrd"]) == {"xrd", "x射线衍射", "x射线衍射仪"}
    assert "原子力显微镜" in table.groups["afm"]
    grouped = services.synonym_groups()
    assert [r.terms[0] for r in grouped["shipped"]] == ["XRD", "AFM"]


# ---------------------------------------------------------------- pinyin and typos
@pytest.fixture
def instruments(make_listing, make_org):
    owner = make_org(kind="university", name="吉林新区大学")
    return dict(
        sem=make_listing("场发射扫描电镜", "材料表面形貌观察", tags=["电镜", "形貌分析"], owner=owner),
        ms=make_listing("液相色谱-串联质谱仪", "药代动力学样品定量", tags=["质谱", "色谱"]),
        hplc=make_listing("高效液相色谱仪", "含量测定与杂质分析", tags=["液相色谱"]),
        ut=make_listing("电子万能材料试验机", "拉伸压缩弯曲试验", tags=["力学性能"]),
    )


@pytest.mark.parametrize("q, target", [
    ("dianjing", "sem"), ("dian镜", "sem"), ("zhipuyi", "ms"), ("zpy", "ms"), ("sepu fenxi", "hplc"),
    ("电境", "sem"), ("质普", "ms"), ("色普", "hplc"), ("jilin xinqu daxue", "sem"),
])
def test_pinyin_initials_and_homophone_typos_find_what_the_characters_find(instruments, q, target):
    result = services.search(q)
    assert instruments[target].ref in refs(result)[:3], (q, refs(result))


def test_syllables_typed_apart_are_one_word(instruments):
    """sao miao dian jing is 扫描电镜 though sao miao alone is no term; ye xiang se pu is 液相色谱 though pu is PU;
    shi yan ji is 试验机, a title word."""
    services.seed_synonyms()
    services.invalidate_synonyms()
    concepts = services.search("sao miao dian jing").parsed.concepts
    assert len(concepts) == 1 and "扫描电镜" in concepts[0].variants
    assert refs(services.search("sao miao dian jing"))[:1] == [instruments["sem"].ref]
    # a syllable that is also an abbreviation of the lexicon (PU = 聚氨酯) joins its pinyin neighbours ...
    concepts = services.search("ye xiang se pu").parsed.concepts
    assert len(concepts) == 1 and "液相色谱" in concepts[0].variants, [c.variants for c in concepts]
    assert "聚氨酯" in services.search("pu").parsed.concepts[0].variants  # ... and is the abbreviation alone
    concepts = services.search("shi yan ji").parsed.concepts
    assert len(concepts) == 1 and "试验机" in concepts[0].variants, [c.variants for c in concepts]
    assert refs(services.search("shi yan ji"))[:1] == [instruments["ut"].ref]


def test_did_you_mean_proposes_a_word_of_the_index_that_sounds_alike(instruments):
    assert services.search("电境").suggestion == "电镜"  # not 电子 (电子万能材料试验机 is indexed)
    assert services.search("dianjing").suggestion == "电镜"
    assert services.search("色普").suggestion == "色谱"
    assert services.search("电镜").suggestion is None
    assert services.search("zzzzqqq").suggestion is None


def test_latin_words_of_the_index_stay_words(instruments, make_listing):
    make_listing("GPU 算力平台", "A100 集群")
    parsed = parse("gpu", services.synonyms(), known=services.known_words(services.store().searcher()))
    assert parsed.concepts[0].initials is None and parsed.concepts[0].pinyin is None


# ---------------------------------------------------------------- aliases learned from the data
def test_aliases_mined_from_one_listing_serve_every_other(make_listing, make_user):
    teacher = make_listing("场发射扫描电子显微镜（SEM）", "牛津能谱仪，材料形貌")
    learner = make_listing("扫描电子显微镜共享机时", "高校平台开放预约")
    make_listing("气相色谱仪", "又称气相色谱分析仪，用于挥发性成分")
    got = refs(services.search("SEM"))  # learned when the listing was indexed (outbox sync)
    assert learner.ref in got and teacher.ref in got
    services.reindex()  # and a full rebuild learns the same
    got = refs(services.search("SEM"))
    assert learner.ref in got and teacher.ref in got
    mined = services.synonym_groups()["mined"]
    sem = next(r for r in mined if "SEM" in r.terms)
    assert "扫描电子显微镜" in sem.terms and teacher.ref in sem.source
    assert any("气相色谱分析仪" in r.terms for r in mined)
    # an admin deletes the mined group: a rebuild does not bring it back
    admin = make_user(role=Role.DISTRICT_ADMIN)
    services.delete_synonym(admin, sem.id)
    services.reindex()
    assert all("SEM" not in r.terms for r in services.synonym_groups()["mined"])
    assert learner.ref not in refs(services.search("SEM"))


def test_a_mined_full_name_loses_only_whole_leading_modifiers(make_listing):
    """Found on the admin's synonyms page: 超高效液相色谱仪（UPLC） was mined as UPLC = 效液相色谱仪 (超高 stripped as a
    modifier across a word), 超声扫描显微镜（C-SAM） as 声扫描显微镜; the broken name then made 效液相色谱仪 the
    head of 高效液相色谱仪 and let a probe microscope in among the liquid chromatographs."""
    from market.search.aliases import pairs

    services.seed_synonyms()
    make_listing("超高效液相色谱仪（UPLC）", "快速分离", tags=["UPLC"])
    services.reindex()  # the lexicon's words in jieba's dictionary, as at index time
    assert ("UPLC", "超高效液相色谱仪") in pairs("超高效液相色谱仪（UPLC）")
    assert ("C-SAM", "超声扫描显微镜") in pairs("超声扫描显微镜（C-SAM）")
    assert ("SEM", "扫描电子显微镜") in pairs("场发射扫描电子显微镜（SEM）")  # a whole modifier still goes
    assert ("XRF", "荧光光谱仪") in pairs("便携式荧光光谱仪（XRF）")
    # what an instrument is fitted with is named after the word saying so (the demo showed EDS = 配能谱仪)
    assert pairs("场发射扫描电镜，配能谱仪（EDS），可做元素面扫") == [("EDS", "能谱仪")]
    assert pairs("钨灯丝扫描电镜配有能谱仪（EDS）") == [("EDS", "能谱仪")]
    assert pairs("透射电镜，配套能谱仪（EDS）") == [("EDS", "能谱仪")]  # the validation corpus: EDS = 配套能谱仪
    assert pairs("配电柜（PDU）") == [("PDU", "配电柜")]  # 配 inside a word is no joining word
    mined = [t for r in services.synonym_groups()["mined"] for t in r.terms]
    assert "效液相色谱仪" not in mined


# ---------------------------------------------------------------- compounds and long questions
def test_head_noun_outranks_modifier_in_a_compound_name(make_listing):
    services.seed_synonyms()
    plasma = make_listing("低温等离子体表面处理设备", "等离子体清洗与活化", tags=["等离子体"])
    gcms = make_listing("气相色谱质谱联用仪", "挥发性有机物定性定量", tags=["质谱"])
    lcms = make_listing("液相色谱-串联质谱仪", "药物代谢物分析", tags=["质谱"])
    maldi = make_listing("飞行时间质谱仪", "微生物鉴定", tags=["质谱"])
    result = services.search("电感耦合等离子体质谱仪")
    got = refs(result) + [h.listing.ref for h in result.related]  # the page as shown
    assert plasma.ref in got  # still found, below every mass spectrometer (a modifier's match: after them)
    for ms in (gcms, lcms, maldi):
        assert got.index(ms.ref) < got.index(plasma.ref), got


def test_a_short_name_no_listing_names_is_searched_by_its_stem(make_listing):
    """Found as a user: 质谱分析 and its pinyin zhipu fenxi found nothing (a lexicon term no listing names, too short
    to be split, ending with the common head 分析), beside eight mass spectrometers."""
    services.seed_synonyms()
    lcms = make_listing("液相色谱-质谱联用仪", "药物代谢物定量", tags=["质谱"])
    maldi = make_listing("飞行时间质谱仪", "微生物鉴定")
    make_listing("热重分析仪", "材料热稳定性分析", tags=["热分析"])
    for q in ("质谱分析", "zhipu fenxi"):
        result = services.search(q)
        assert set(refs(result)[:2]) == {lcms.ref, maldi.ref}, q
        assert result.total >= 2
    # a name some listing says is searched as it is, not widened
    named = make_listing("有机质谱分析服务", "未知物鉴定", kind="facility")
    services.reindex()
    assert refs(services.search("质谱分析")) == [named.ref]


def test_long_question_ranks_the_listing_covering_its_head_concepts_first(make_listing):
    services.seed_synonyms()
    customs = make_listing("口岸通关与港口作业数据", "海关报关单通关时长、港口集装箱作业量", kind="public_data",
                           tags=["海关", "港口", "通关"])
    make_listing("智能仓储物流机器人", "仓库搬运与分拣", kind="scenario", tags=["物流", "仓储"])
    make_listing("公共数据开放目录", "我们开放的政务数据清单", kind="public_data", tags=["开放数据"])
    make_listing("跨境电商选品平台", "出口商品推荐", kind="scenario", tags=["跨境电商"])
    got = refs(services.search("我们做跨境物流，想找港口和海关方面开放的数据来预测通关时效"))
    assert got[0] == customs.ref, got


# ---------------------------------------------------------------- similar listings
def test_similar_listings_under_ai_drug_screening_leave_out_oled_and_satellites(make_listing):
    services.seed_synonyms()
    drug = make_listing("药物研发 AI 辅助筛选：小分子先导化合物虚拟筛选", "人工智能虚拟筛选与分子对接", kind="scenario",
                        tags=["人工智能", "药物研发", "虚拟筛选", "分子对接"], track="digital_healthcare")
    oled = make_listing("新型显示材料：柔性 OLED 封装薄膜研发协作", "研发协作", kind="scenario",
                        tags=["新型显示", "OLED", "封装材料"], track="smart_materials")
    sat = make_listing("卫星遥感影像智能解译：耕地变化检测", "人工智能解译", kind="scenario",
                       tags=["遥感", "卫星互联网", "人工智能"], track="satellite_internet")
    docking = make_listing("分子对接计算平台", "小分子虚拟筛选算力", kind="facility", tags=["分子对接", "药物设计"],
                           track="digital_healthcare")
    ct = make_listing("医学影像 AI 辅助诊断：肺结节 CT 智能识别", "人工智能辅助诊断", kind="scenario",
                      tags=["医学影像", "人工智能"], track="digital_healthcare")
    got = [x.ref for x in services.similar(drug)]
    assert got[0] == docking.ref
    assert ct.ref in got
    assert oled.ref not in got and sat.ref not in got


# ---------------------------------------------------------------- bad input
BAD_QUERIES = [
    "", "   ", "\u3000\t", "测" * 1000, "电镜" * 500, "😀🔬🧪", "'; DROP TABLE listing; --", "1 OR 1=1",
    "<script>alert(1)</script>", "<b>电镜</b>", "dian", "a", "掃描電鏡", "ＳＥＭ　ｄｉａｎｊｉｎｇ", "*?[]{}()~^:\"\\",
]


@pytest.mark.parametrize("q", BAD_QUERIES)
def test_bad_input_gives_results_or_an_empty_state_never_an_error(client, make_listing, q):
    make_listing("场发射扫描电镜 <script>x()</script>", "<img src=x onerror=alert(1)> 扫描电镜形貌观察", tags=["电镜"])
    resp = client.get("/api/v1/search", query_string={"q": q})
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    body = resp.get_json()
    assert set(body) == {"total", "items", "facets", "suggestion"}
    for item in body["items"]:
        assert not re.search(r"<(?!/?mark>)", item["highlight"]), item["highlight"]
    page = client.get("/search/", query_string={"q": q})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "<script>x()</script>" not in html
    assert "<img src=x" not in html
    if body["total"] == 0:
        assert 'id="search-empty"' in html or "没有找到" in html


def test_traditional_fullwidth_and_lone_syllable_find_results(client, make_listing):
    target = make_listing("场发射扫描电镜", "形貌观察", tags=["电镜"])
    for q in ("掃描電鏡", "ＳＥＭ", "dian", "ｄｉａｎｊｉｎｇ"):
        body = client.get("/api/v1/search", query_string={"q": q}).get_json()
        if q != "ＳＥＭ":  # SEM needs the lexicon; the others find it by characters or sound
            assert target.ref in [i["ref"] for i in body["items"]], q


def test_synonyms_page_shows_admin_mined_and_shipped_groups_apart(client, login, make_user, make_listing):
    services.seed_synonyms()
    teacher = make_listing("原子力显微镜（AFMX）", "表面粗糙度")
    login(make_user(role=Role.DISTRICT_ADMIN))
    client.post("/search/admin/synonyms", data={"terms": "黑土地, 黑土"})
    html = client.get("/search/admin/synonyms").get_data(as_text=True)
    admin_part = html.split('id="synonym-table"')[1].split("</table>")[0]
    mined_part = html.split('id="synonym-table-mined"')[1].split("</table>")[0]
    sources_part = html.split('id="synonym-sources"')[1].split("</table>")[0]
    assert "黑土地" in admin_part and "AFMX" not in admin_part
    assert "AFMX" in mined_part and teacher.ref in mined_part
    assert "大型科研仪器分类" in sources_part  # the shipped groups, by source (the next test opens them)


def test_synonyms_page_lists_the_shipped_lexicon_by_source_and_finds_a_group(client, login, make_user):
    """2,240 shipped groups on one page were 100,000 pixels of squeezed boxes: the lexicon is listed by source, a
    source's groups open on demand, and a word finds its groups in every origin; an edit returns to the same list."""
    services.seed_synonyms()
    login(make_user(role=Role.DISTRICT_ADMIN))
    client.post("/search/admin/synonyms", data={"terms": "黑土地, 黑土"})
    html = client.get("/search/admin/synonyms").get_data(as_text=True)
    assert 'id="synonym-table-shipped"' not in html
    sources = html.split('id="synonym-sources"')[1].split("</table>")[0]
    shipped = db.session.execute(select(SearchSynonym).where(SearchSynonym.origin == "shipped")
                                 .order_by(SearchSynonym.id)).scalars().all()
    first, shipped_count = shipped[0], len(shipped)
    assert first.source in sources and str(shipped_count) in html  # the badge counts every shipped group

    opened = client.get("/search/admin/synonyms", query_string={"source": first.source}).get_data(as_text=True)
    table = opened.split('id="synonym-table-shipped"')[1].split("</table>")[0]
    same_source = sum(1 for r in shipped if r.source == first.source)
    assert table.count("<form") == same_source and ", ".join(first.terms) in table
    assert "黑土地" not in opened  # a source's list is that source's groups only

    found = client.get("/search/admin/synonyms", query_string={"q": "ｓｅｍ"}).get_data(as_text=True)  # width and case folded
    table = found.split('id="synonym-table-shipped"')[1].split("</table>")[0]
    assert "扫描电子显微镜" in table and "黑土地" not in found.split('id="synonym-table"')[1].split("</table>")[0]
    assert "冷链" not in table and "PCBA" not in table  # a source citing SEMI is no match for SEM
    nothing = client.get("/search/admin/synonyms", query_string={"q": "不存在的词组"}).get_data(as_text=True)
    assert "没有符合筛选的词组。" in nothing

    row = db.session.execute(select(SearchSynonym).where(SearchSynonym.origin == "admin")).scalar_one()
    resp = client.post(f"/search/admin/synonyms/{row.id}", data={"terms": "黑土地, 黑土, 黑钙土", "q": "黑土"})
    assert resp.status_code == 302 and "q=" in resp.headers["Location"]
    assert "黑钙土" in client.get(resp.headers["Location"]).get_data(as_text=True)


def test_pinyin_query_highlights_the_word_it_stands_for(make_listing):
    make_listing("场发射扫描电镜", "电镜形貌观察")
    hit = services.search("dianjing").hits[0]
    assert "<mark>电镜</mark>" in hit.title_html


def test_an_index_built_before_the_pinyin_fields_is_rebuilt_by_the_next_sync(make_listing, app):
    from whoosh import fields
    from whoosh import index as windex

    st = services.store()
    old = st._new_dir()
    windex.create_in(str(old), fields.Schema(id=fields.ID(stored=True, unique=True)))
    st._swap(old)
    assert st.outdated()
    listing = make_listing("场发射扫描电镜", "形貌观察")  # its sync finds the old index and rebuilds
    assert not st.outdated()
    assert refs(services.search("dianjing")) == [listing.ref]


def test_an_index_analysed_by_an_older_version_is_rebuilt_by_the_next_sync(make_listing, app):
    """The fields are all there, but the text was analysed by an earlier version (normalisation turned
    晶片 into 芯片): the stamp tells, and the next sync rebuilds the index from the database."""
    from market.search import index as search_index

    listing = make_listing("六英寸晶片减薄机", "晶片背面减薄")
    st = services.store()
    current = st.current_dir()
    assert st.analysis_version(current) == search_index.ANALYSIS_VERSION and not st.outdated()
    (current / search_index.STAMP).unlink()  # as every index built before the stamp existed
    assert st.analysis_version(current) == 1 and st.outdated()
    other = make_listing("晶圆划片机", "划片")  # its sync finds the old index and rebuilds
    assert not st.outdated() and st.current_dir() != current
    assert listing.ref in refs(services.search("晶片"))
    assert other.ref in refs(services.search("划片"))


def test_a_word_of_how_a_resource_is_offered_is_a_common_word_of_a_request(make_listing):
    """无尘车间出租 asks for clean rooms: 出租 (like 租赁, 预约, 计费) says how every listing here is offered, so the
    listings matching only it come after the clean rooms and their related listings, as 检测 or 数据 do."""
    services.seed_synonyms()
    rooms = {make_listing(t, "千级洁净，可按月出租", kind="facility", tags=["洁净车间"]).ref
             for t in ("千级无尘车间", "十万级洁净车间")}
    for i, what in enumerate(("写字楼", "仓库", "叉车", "展厅", "会议室", "冷库", "货车", "厂房", "停车位", "宿舍")):
        make_listing(f"{what}出租（{i}号）", f"{what}对外出租，按月计费", kind="facility")
    result = services.search("无尘车间出租")
    assert set(refs(result)) == rooms, refs(result)
    assert result.total >= 12  # the rentals are still found, after
    shown = [h.listing.title for h in result.related]
    assert any("出租" in t for t in shown)


def test_beside_a_kind_of_listing_a_word_of_how_it_is_offered_weighs_little(make_listing):
    """Found as a user: 中试基地租赁 listed a cold store "…冷库租赁" first. Both words are common (a kind word and a
    word of the offer), and 租赁 is the rarer; it now weighs as a function word beside a word of what is sought."""
    services.seed_synonyms()
    bases = {make_listing(f"{what}中试基地", f"{what}工艺放大", kind="pilot_base").ref
             for what in ("精密铸造", "电解水制氢", "生物发酵", "固废资源化", "锂电池电芯", "光学薄膜")}
    store = make_listing("冷链物流中心冷库租赁", "冷库整租与分租", kind="facility", tags=["冷库", "租赁"])
    result = services.search("中试基地租赁")
    assert set(refs(result)[:6]) == bases, refs(result)
    assert store.ref in refs(result) or store.ref in [h.listing.ref for h in result.related]  # still found, after
    off = services.search("中试基地租赁", strategy=replace(DEFAULT, offer_light=False))
    assert store.ref in refs(off)[:6]  # what users saw: the cold store among the bases


def test_a_query_naming_only_a_kind_of_listing_browses_that_kind(make_listing):
    """Found as a user: 揭榜挂帅 (the policy's name for a leading firm's open task) found nothing, as no scenario's
    text says it; a query naming only a kind (and how it is offered) now lists that kind after whatever matched."""
    services.seed_synonyms()
    tasks = {make_listing(t, "龙头企业开放需求，征集解决方案", kind="scenario").ref
             for t in ("手术机器人关键部件联合研发", "铸件表面缺陷视觉检测", "储能电池梯次利用评估")}
    make_listing("台式扫描电镜", "表面形貌", kind="instrument")
    make_listing("精密铸造中试基地", "熔模铸造工艺放大", kind="pilot_base")
    result = services.search("揭榜挂帅")
    assert result.total == 0 and {h.listing.ref for h in result.related} == tasks
    assert result.browsed_kinds == {"scenario"}
    filtered = services.search("揭榜挂帅", filters={"kind": "instrument"})  # the filters hold
    assert not filtered.related and not filtered.browsed_kinds
    off = services.search("揭榜挂帅", strategy=replace(DEFAULT, kind_browse=False))
    assert len(off.related) < len(tasks)


def test_a_latin_and_chinese_name_no_listing_says_finds_related_listings_by_its_chinese(make_listing):
    """Found as a user: X光机 (= X射线机 in the lexicon) showed an empty page beside X-ray instruments. A name of
    Latin and Chinese with no Chinese synonym is loosened by the Chinese of its names (射线机: 射线, 线机)."""
    services.seed_synonyms()
    dr = make_listing("数字射线成像检测系统（DR）", "铸件与焊缝射线检测", tags=["射线检测", "无损"])
    xrd = make_listing("X射线衍射仪", "物相分析", tags=["XRD"])
    make_listing("台式扫描电镜", "表面形貌", tags=["电镜"])
    result = services.search("X光机")
    assert result.total == 0 and {dr.ref, xrd.ref} <= {h.listing.ref for h in result.related}
    assert not services.search("X光机", strategy=replace(DEFAULT, loosen_mixed=False)).related


def test_once_a_sound_names_a_word_of_the_index_its_other_readings_weigh_less(make_listing):
    """Found as a user: gongjiao shuju put a confocal Raman microscope (共焦, gong jiao too) second, above every
    data set but the bus data. The sound names 公交, which the index holds; 共焦 is another reading of it."""
    services.seed_synonyms()
    bus = make_listing("公交线路与站点实时数据", "线路、站点与到站预测", kind="public_data", tags=["公交"])
    raman = make_listing("显微共焦拉曼光谱仪", "分子结构表征", tags=["拉曼"])
    data = {make_listing(f"{t}数据", "开放数据", kind="public_data").ref
            for t in ("气象站逐小时观测", "空气质量监测", "热线工单", "地表水水质", "企业登记", "停车泊位", "学校名录")}
    got = refs(services.search("gongjiao shuju"))
    assert got[0] == bus.ref and set(got[1:8]) == data, got
    off = refs(services.search("gongjiao shuju", strategy=replace(DEFAULT, other_readings=1.0)))
    assert off.index(raman.ref) == 1  # what users saw
    assert refs(services.search("gongjiao"))[:2] == [bus.ref, raman.ref]  # still found, after


def test_a_category_word_jieba_splits_is_one_concept_with_its_members(make_listing):
    """Found as a user: 热分析 was read as 分析 (jieba cuts 热 + 分析 and a lone character drops), so every analyser
    matched; a class word of data/categories.yaml is now one concept with its members (TGA, DSC …)."""
    services.seed_synonyms()
    tga = make_listing("热重分析仪（TGA）", "材料热稳定性", kind="instrument")
    dsc = make_listing("差示扫描量热仪", "玻璃化转变与熔点", tags=["DSC"], kind="instrument")
    others = [make_listing(t, "仪器分析", kind="instrument").ref for t in ("元素分析仪", "激光粒度分析仪", "矢量网络分析仪")]
    got = refs(services.search("热分析"))
    assert set(got) == {tga.ref, dsc.ref} and not set(others) & set(got), got


def test_a_lone_character_joins_its_neighbour_when_the_index_holds_them_together(make_listing):
    """Found as a user: 热真空试验 searched 真空 + 试验 (jieba cuts 热 alone and a lone character drops): a freeze dryer
    and a coating machine stood beside the thermal-vacuum chamber. And 电阻 was offered as 电子 (a near sound): a word
    of the language is offered only an exact homophone."""
    services.seed_synonyms()
    chamber = make_listing("空间环境模拟热真空罐", "卫星部件热真空试验", kind="facility")
    dryer = make_listing("真空冷冻干燥机", "冻干工艺试验", kind="instrument")
    coater = make_listing("真空镀膜机", "薄膜沉积试验", kind="instrument")
    for q in ("热真空试验", "我们下个月要做热真空试验", "热真空"):
        got = refs(services.search(q))
        assert got[0] == chamber.ref, (q, got)
    assert refs(services.search("热真空")) == [chamber.ref]  # not every vacuum
    assert {dryer.ref, coater.ref} <= set(refs(services.search("真空")))
    make_listing("电子负载", "直流电子负载", kind="instrument")
    assert services.search("电阻").suggestion is None
