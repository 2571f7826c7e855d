"""From an SME's login to a found instrument, through the home page's search box."""

from __future__ import annotations

import pytest

from tests.browser.conftest import ui_login
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
    assert page.locator(".search-hit h2").all_inner_texts() == ["场发射扫描电镜"]
    page.fill("#save-search input[name=name]", "材料电镜")
    page.click("#save-search button[type=submit]")
    assert "材料电镜" in page.locator("#saved-searches").inner_text()
