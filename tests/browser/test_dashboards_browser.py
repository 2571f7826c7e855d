"""Each role from the login form to its dashboard; the district admin through every district view,
filters, sorting, a chart drawn as an image and its data downloaded; no CSP violation on the way."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ui_login
from tests.conftest import PASSWORD
from tests.integration.dashboard.conftest import build_world

pytestmark = pytest.mark.browser


@pytest.fixture
def dash_world(make_org, make_user):
    return build_world(make_org, make_user)


def _page(browser, site, user, problems):
    page = browser.new_page()
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    ui_login(page, site, user.email, PASSWORD)
    return page


def test_district_admin_from_login_through_the_district_views(browser, site, dash_world):
    problems: list[str] = []
    page = _page(browser, site, dash_world.users["admin"], problems)
    expect(page).to_have_url(re.compile(r"/dashboard/$"))
    expect(page.locator("h1")).to_contain_text("工作台")
    expect(page.locator('[data-queue="disputes"] .queue-count')).to_have_text("1")
    chart = page.locator('[data-chart="ledger_years"] img')
    expect(chart).to_be_visible()
    assert chart.evaluate("img => img.complete && img.naturalWidth > 0")
    with page.expect_download() as dl:
        page.locator('[data-chart="ledger_years"] .chart-csv').click()
    assert dl.value.suggested_filename.endswith(".csv")

    page.click("#go-ledger")
    expect(page.locator("h1")).to_have_text("全区交易台账")
    expect(page.locator("#entries-table tbody tr[data-ref]")).to_have_count(8)
    page.select_option("#f-status", "incomplete")
    page.click("#apply-filters")
    expect(page.locator("#entries-table tbody tr[data-ref]")).to_have_count(4)
    expect(page.locator("#entries-table")).to_contain_text("缺少凭证")
    page.select_option("#f-status", "")
    page.select_option("#f-year", "2025")
    page.click("#apply-filters")
    expect(page.locator("#entries-table tbody tr[data-ref]")).to_have_count(1)
    expect(page.locator("#totals-year tbody tr")).to_have_count(1)
    page.goto(f"{site}/dashboard/district/ledger?sort=amount&dir=asc")
    first = page.locator("#entries-table tbody tr[data-ref] td.text-end").first
    expect(first).to_have_text("退款 ¥20,000.00")
    with page.expect_download() as dl:
        page.click("#export-csv")
    assert dl.value.suggested_filename.endswith(".csv")

    for section, rows in (("bids", 0), ("bookings", 0), ("applications", 0), ("contracts", 3)):
        page.goto(f"{site}/dashboard/")
        page.click(f"#go-{section}")
        expect(page.locator("#list-table tbody tr[data-id]")).to_have_count(rows)
    page.locator("#status-filter [data-status=active]").click()
    expect(page.locator("#list-table tbody tr[data-id]")).to_have_count(3)
    page.goto(f"{site}/dashboard/")
    page.click("#go-utilisation")
    expect(page.locator("h1")).to_contain_text("全区仪器设施利用率")
    expect(page.locator("#util-table tbody tr[data-key]")).to_have_count(1)
    # the old addresses lead here instead of answering 403
    page.goto(f"{site}/ledger/")
    expect(page).to_have_url(re.compile(r"/dashboard/district/ledger$"))
    page.goto(f"{site}/deals/")
    expect(page).to_have_url(re.compile(r"/dashboard/district/bids$"))
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems


def test_provider_and_sme_land_on_their_dashboards(browser, site, dash_world):
    problems: list[str] = []
    firm = _page(browser, site, dash_world.users["firm"], problems)
    expect(firm).to_have_url(re.compile(r"/dashboard/$"))
    expect(firm.locator('[data-count="confirmations"]')).to_have_text("1")
    expect(firm.locator("#listing-stats")).to_contain_text(dash_world.listings["scenario"].title)
    uni = _page(browser, site, dash_world.users["uni"], problems)
    expect(uni.locator("#revenue")).to_have_text("¥130,000.00")
    sme = _page(browser, site, dash_world.users["b"], problems)
    expect(sme).to_have_url(re.compile(r"/dashboard/$"))
    expect(sme.locator("h1")).to_contain_text(dash_world.sme_b.name)
    expect(sme.locator("#payments li a")).to_have_count(0)  # what B recorded waits for the other side
    # the language menu: the same dashboard in English
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems
