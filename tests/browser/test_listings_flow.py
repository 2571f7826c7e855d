"""A provider lists an instrument, a reviewer publishes it, an SME opens its public page."""

import pytest
from playwright.sync_api import expect

from models.users import Role
from tests.browser.conftest import ui_login, ui_logout
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_instrument_from_draft_to_public_page(page, site, make_org, make_user):
    university = make_org(kind="university", name="吉林新区大学")
    provider = make_user(role=Role.PROVIDER_MEMBER, org=university)
    reviewer = make_user(role=Role.DISTRICT_REVIEWER)
    sme = make_user(role=Role.SME_MEMBER)

    # the provider creates the listing and submits it
    ui_login(page, site, provider.email, PASSWORD)
    page.click("#nav-menu-mine")
    page.click("#nav-my-listings")
    page.click("#new-listing")
    page.click("[data-kind=instrument]")
    page.fill("input[name=title]", "扫描电子显微镜（SEM）")
    page.fill("textarea[name=description]", "场发射扫描电镜，**分辨率 0.8 nm**，配能谱仪。")
    page.fill("input[name=tags]", "扫描电镜；SEM；电镜")
    page.select_option("select[name=track]", "smart_materials")
    page.fill("input[name=rate_cny_per_hour]", "380")
    page.select_option("select[name=operation]", "self")
    page.click("#listing-form [type=submit]")
    expect(page.locator("#listing-title")).to_have_text("扫描电子显微镜（SEM）")
    expect(page.locator("#not-public-notice")).to_be_visible()
    page.click("#submit-listing")
    expect(page.locator(".alert-success")).to_contain_text("已提交审核")
    detail_url = page.url
    ui_logout(page)

    # the reviewer publishes it from the queue
    ui_login(page, site, reviewer.email, PASSWORD)
    page.click("#nav-menu-review")
    page.click("#nav-listing-review")
    page.click("#review-queue tbody tr >> text=审核")
    page.fill("textarea[name=comment]", "信息完整，同意发布。")
    page.click("#review-form [name=publish]")
    expect(page.locator("#queue-empty")).to_be_visible()
    ui_logout(page)

    # an SME opens the public detail page
    ui_login(page, site, sme.email, PASSWORD)
    page.goto(detail_url)
    expect(page.locator("#listing-title")).to_have_text("扫描电子显微镜（SEM）")
    expect(page.locator("#listing-description strong")).to_have_text("分辨率 0.8 nm")
    expect(page.locator("[data-field=rate_cny_per_hour]")).to_contain_text("¥380.00")
    expect(page.locator("#not-public-notice")).to_have_count(0)
    expect(page.locator("#edit-listing")).to_have_count(0)
    expect(page.locator("#view-count")).to_have_text("1")
