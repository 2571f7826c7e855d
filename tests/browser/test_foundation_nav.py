"""A demo user logs in on the Chinese site, switches to English and sees their role's navigation."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from market.demo import DEMO_PASSWORD, load_demo
from tests.browser.conftest import open_menu, ui_login
from tests.catalogues import ensure_compiled

pytestmark = pytest.mark.browser


@pytest.fixture
def demo_site(site):
    ensure_compiled()
    load_demo()
    return site


def _switch_to_english(page):
    page.click("#lang-menu")
    page.click("[data-lang=en]")
    page.wait_for_load_state()


def test_reviewer_sees_review_navigation_in_chinese_then_english(page, demo_site):
    page.goto(demo_site)
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    ui_login(page, demo_site, "reviewer@ccxq.gov.cn", DEMO_PASSWORD)
    expect(page.locator("#user-menu")).to_have_text("李审核")
    expect(page.locator("#nav-audit")).to_have_text("审计日志")
    _switch_to_english(page)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#nav-audit")).to_have_text("Audit log")
    page.click("#nav-menu-manage")
    page.click("#nav-audit")
    expect(page.locator("h1")).to_have_text("Audit log")
    expect(page.locator("#audit-entries")).to_contain_text("Log in")
    expect(page.locator("#audit-entries")).not_to_contain_text("auth.login")


def test_sme_member_has_no_review_navigation(page, demo_site):
    ui_login(page, demo_site, "dev@huiyi-health.cn", DEMO_PASSWORD)
    expect(page.locator("#user-menu")).to_have_text("林工")
    _switch_to_english(page)
    expect(page.locator("#nav-notifications")).to_contain_text("Notifications")
    expect(page.locator("#nav-audit")).to_have_count(0)
    open_menu(page, "#user-menu", "#nav-account")
    expect(page.locator("#nav-account")).to_have_text("My account")
    expect(page.locator("#nav-tokens")).to_have_count(0)  # only org admins and district staff
    expect(page.locator("#nav-members")).to_have_count(0)
    page.goto(f"{demo_site}/admin/audit")
    expect(page.locator("#error-message")).to_have_text("You are not allowed to see this page.")


def test_org_admin_creates_a_token_in_the_browser(page, demo_site):
    ui_login(page, demo_site, "ceo@huiyi-health.cn", DEMO_PASSWORD)
    open_menu(page, "#user-menu", "#nav-tokens")
    page.click("#nav-tokens")
    page.fill("input[name=name]", "ERP 对接")
    page.click("#token-form [type=submit]")
    secret = page.locator("#token-secret").inner_text()
    assert secret.startswith("ccxq_")
    response = page.request.get(f"{demo_site}/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert response.status == 200 and response.json()["email"] == "ceo@huiyi-health.cn"
