"""A run of Latin letters and digits is one word: jieba must not cut an abbreviation where its dictionary holds a
shorter one (every lexicon abbreviation is taught to it), and a short Latin word is not stemmed as English."""

from __future__ import annotations

from market.search import services
from market.search.analysis import add_words, cut, jieba_words

pytest_plugins = ["tests.integration.conftest_search"]


def refs(result):
    return [h.listing.ref for h in result.hits]


def test_latin_runs_stay_whole_in_the_index_and_in_a_query():
    add_words(["ms", "ic", "pcr"])  # as seeding the lexicon does (MS = 质谱仪, IC = 集成电路, PCR)
    assert jieba_words("面向mems光电器件") == ["面向", "mems", "光电", "器件"]
    assert "ic" not in jieba_words("用icp做") and "icp" in jieba_words("用icp做")
    assert jieba_words("qpcr") == ["qpcr"] and jieba_words("cms") == ["cms"]
    assert "ms" in jieba_words("icp-ms")  # a joiner ends a run: ICP-MS still names MS
    assert "x射线" in jieba_words("x射线衍射仪")  # a word of Latin and Chinese holds its run whole: kept
    assert cut("用icp做") == ["用", "icp", "做"] and cut("smsdata") == ["smsdata"]
    assert jieba_words("the testing materials") == ["test", "materi"]  # English words still stemmed


def test_an_abbreviation_does_not_find_a_longer_one_that_contains_it(make_listing):
    mems = make_listing("百级洁净室", "面向 MEMS、光电器件研发的微纳加工平台。", kind="facility")
    icp_ms = make_listing("电感耦合等离子体质谱仪（ICP-MS）", "痕量元素分析。")
    ruler = make_listing("三坐标测量机", "测量空间 120 cm × 100 cm。")
    chips = make_listing("IC 芯片测试", "集成电路成品测试。")
    services.seed_synonyms()
    services.invalidate_synonyms()
    services.reindex()
    assert refs(services.search("MS")) == [icp_ms.ref]
    assert mems.ref not in refs(services.search("质谱仪"))
    assert refs(services.search("MEMS")) == [mems.ref]
    assert ruler.ref not in refs(services.search("CMS"))
    assert refs(services.search("ICP")) == [icp_ms.ref]  # not the IC test: ICP is not IC
    assert refs(services.search("IC"))[:1] == [chips.ref]


def test_a_joined_abbreviation_is_not_read_as_pinyin_initials(make_listing):
    """LC-MS is a term of the lexicon: its first run is not the initials of 临床 (l c)."""
    clinic = make_listing("手术机器人临床前验证", "开放动物实验室与测试工装。", kind="scenario", budget_cny=100000)
    lcms = make_listing("液相色谱-质谱联用仪", "药物代谢与痕量分析。")
    services.seed_synonyms()
    services.invalidate_synonyms()
    services.reindex()
    assert refs(services.search("LC-MS"))[:1] == [lcms.ref]
    assert clinic.ref not in refs(services.search("LC-MS"))
    assert clinic.ref not in refs(services.search("AB-CD"))  # joined Latin runs, unknown: not initials either
    assert refs(services.search("lc")) == [clinic.ref]  # on its own, still the initials of 临床


def test_a_latin_name_typed_without_its_separators_finds_what_the_name_finds(make_listing):
    """Found as a user: BSL-2, LC-MS and PM2.5 were found, bsl2, lcms and pm25 (as one types them) found nothing."""
    services.seed_synonyms()
    lab = make_listing("二级生物安全实验室（BSL-2）", "病原微生物培养", kind="facility")
    lcms = make_listing("液相色谱-质谱联用仪（LC-MS）", "药物代谢物定量")
    air = make_listing("环境空气质量监测数据", "PM2.5、PM10 小时浓度", kind="public_data")
    for typed, want in (("bsl2", lab), ("BSL-2", lab), ("lcms", lcms), ("LCMS", lcms), ("pm25", air)):
        assert want.ref in refs(services.search(typed)), typed
    table = services.synonyms()
    assert table.respell_latin("lcms 和 gcms") == "lc-ms 和 gc-ms"
    assert table.respell_latin("lc-ms") == "lc-ms" and table.respell_latin("lc ms") == "lc ms"  # two words stay two
    assert table.respell_latin("hplc") == "hplc"  # a term as it is
