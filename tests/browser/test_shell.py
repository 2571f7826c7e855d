import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ui_login
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_home_is_chinese_and_login_shows_name(page, site, make_user):
    user = make_user()
    page.goto(site)
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    ui_login(page, site, user.email, PASSWORD)
    expect(page.locator("#user-menu")).to_have_text(user.name)
