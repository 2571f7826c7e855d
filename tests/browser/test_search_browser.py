"""From an SME's login to a found instrument, through the home page's search box."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import open_menu, ui_login
from tests.conftest import PASSWORD

pytest_plugins = ["tests.integration.conftest_search"]


@pytest.mark.browser
def test_sme_finds_an_instrument_and_saves_the_search(page, site, make_user, make_listing):
    make_listing("场发射扫描电镜", "材料表面形貌观察", tags=["扫描电镜"], track="smart_materials")
    make_listing("冷冻电镜 Titan Krios", "蛋白质结构解析")
    make_listing("公交线路与站点数据", kind="public_data")
    user = make_user(role="sme_member")
    ui_login(page, site, user.email, PASSWORD)
    page.goto(site + "/")
    page.fill("#home-search input[name=q]", "电镜")
    page.click("#home-search button[type=submit]")
    page.wait_for_selector("#search-results")
    titles = page.locator(".search-hit h2").all_inner_texts()
    assert sorted(titles) == ["冷冻电镜 Titan Krios", "场发射扫描电镜"]
    assert page.locator(".search-hit mark").first.inner_text() == "电镜"
    page.click("a[data-facet='track:smart_materials']")
    expect(page.locator(".search-hit h2")).to_have_text(["场发射扫描电镜"])
    page.fill("#save-search input[name=name]", "材料电镜")
    page.click("#save-search button[type=submit]")
    expect(page.locator("#saved-searches")).to_contain_text("材料电镜")


@pytest.mark.browser
def test_pinyin_and_homophone_typos_find_the_instrument_in_the_top_three(page, site, make_listing):
    make_listing("场发射扫描电镜", "材料表面形貌观察", tags=["扫描电镜"])
    make_listing("液相色谱-串联质谱仪", "药代动力学", tags=["质谱"])
    make_listing("电子万能材料试验机", "拉伸试验")
    make_listing("公交线路与站点数据", kind="public_data")
    for q, want in (("dianjing", "场发射扫描电镜"), ("电境", "场发射扫描电镜"), ("zhipuyi", "液相色谱-串联质谱仪"),
                    ("质普", "液相色谱-串联质谱仪"), ("dian镜", "场发射扫描电镜")):
        page.goto(site + "/search/?q=" + q)
        page.wait_for_selector("#search-results")
        assert want in page.locator(".search-hit h2").all_inner_texts()[:3], q
    page.goto(site + "/search/?q=电境")
    assert page.locator("#search-suggestion a").inner_text() == "电镜"


@pytest.mark.browser
def test_a_request_typed_as_a_sentence_gets_no_nonsense_suggestion(page, site, make_listing):
    """A sentence's glued particles (能代, 太高) were read as typos and the page proposed "你是不是要找：… 地产"."""
    from market.search import services

    services.seed_synonyms()
    make_listing("粮食烘干中心", "玉米、水稻代烘干服务，按吨计费", kind="facility", tags=["烘干"])
    make_listing("房地产市场数据", "新建商品住宅成交", kind="public_data")
    page.goto(site + "/search/?q=合作社秋收后玉米水分太高，想找附近能代烘干的地方")
    page.wait_for_selector("#search-results")
    assert page.locator(".search-hit h2").all_inner_texts()[0] == "粮食烘干中心"
    assert page.locator("#search-suggestion").count() == 0


@pytest.mark.browser
def test_admin_finds_a_shipped_group_edits_it_and_stays_on_the_found_list(page, site, make_user, make_listing):
    """The synonyms page lists the shipped lexicon by source; a word finds its groups; an edit keeps the filter."""
    from market.search import services
    from models.users import Role

    services.seed_synonyms()
    make_listing("场发射扫描电镜", "材料表面形貌观察")
    admin = make_user(role=Role.DISTRICT_ADMIN)
    ui_login(page, site, admin.email, PASSWORD)
    page.goto(site + "/search/admin/synonyms")
    assert page.locator("#synonym-sources a").count() > 10 and page.locator("#synonym-table-shipped").count() == 0
    page.fill("#synonym-filter input[name=q]", "扫描电镜")
    page.click("#synonym-filter button[type=submit]")
    # the filter's page comes back after the click: the locators below wait for it
    row = page.locator("#synonym-table-shipped tr", has=page.locator("input[value^='SEM, ']"))
    expect(row).to_have_count(1)
    box = row.locator("input[name=terms]")
    box.fill(box.input_value() + ", 扫描电子显微镜（台式）")
    row.locator("button[value=save]").click()
    expect(page.locator("#synonym-table-shipped input[value*='扫描电子显微镜（台式）']")).to_have_count(1)
    expect(page.locator("#synonym-filter input[name=q]")).to_have_value("扫描电镜")
    # deleting asks first: cancelled, the group stays; accepted, it goes
    row = page.locator("#synonym-table-shipped tr", has=page.locator("input[value*='扫描电子显微镜（台式）']"))
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    row.locator("button[value=delete]").click()
    page.wait_for_timeout(300)
    assert asked and "确定删除这组同义词" in asked[0] and row.count() == 1
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        row.locator("button[value=delete]").click()
    assert page.locator("#synonym-table-shipped input[value*='扫描电子显微镜（台式）']").count() == 0


@pytest.mark.browser
def test_an_english_reader_finds_chinese_listings_in_english(page, site, make_listing):
    make_listing("场发射扫描电镜", "材料表面形貌观察", tags=["扫描电镜"])
    make_listing("冷冻电镜 Titan Krios", "蛋白质结构解析")
    make_listing("公交线路与站点数据", kind="public_data")
    page.goto(site + "/")
    open_menu(page, "#lang-menu", "[data-lang=en]")  # the reader switches the interface to English
    page.click("[data-lang=en]")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.fill("#home-search input[name=q]", "electron microscopes")
    page.click("#home-search button[type=submit]")
    expect(page.locator(".search-hit h2")).to_have_count(2)
    assert sorted(page.locator(".search-hit h2").all_inner_texts()) == sorted(["场发射扫描电镜", "冷冻电镜 Titan Krios"])
    expect(page.locator("#search-searched-as")).to_contain_text("searched for the Chinese terms")
    expect(page.locator("#search-results mark").first).to_be_visible()
    expect(page.locator("#home-search input[name=q], input[name=q]").first).to_have_value("electron microscopes")
