"""Issue 13 in the browser: the audit log fits the window at 1,366 px and 390 px; the home page as an
anonymous visitor; booking by picking a slot; an awarded scenario without 我要揭榜; the navigation in menus."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from market.deals import bids
from market.deals.bids import BidInput
from market.demo import DEMO_PASSWORD, load_demo
from market.domain.localtime import SHANGHAI
from market.extensions import db
from models.deals import Booking
from models.users import Role
from tests.browser.conftest import ui_login
from tests.catalogues import ensure_compiled
from tests.conftest import PASSWORD
from tests.integration.deals.helpers import make_listing, next_weekday_at

pytestmark = pytest.mark.browser


@pytest.fixture
def demo_site(site):
    ensure_compiled()
    load_demo()
    return site


def _fits(page) -> tuple[int, int]:
    return page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")


@pytest.mark.parametrize("width,height", [(1366, 768), (390, 844)])
def test_audit_log_fits_the_window_as_district_admin(browser, demo_site, width, height):
    page = browser.new_page(viewport={"width": width, "height": height})
    ui_login(page, demo_site, "admin@ccxq.gov.cn", DEMO_PASSWORD)
    page.goto(f"{demo_site}/admin/audit")
    expect(page.locator("#audit-entries")).to_contain_text("登录")
    scroll, inner = _fits(page)
    assert scroll <= inner, (width, scroll, inner)
    page.goto(f"{demo_site}/admin/audit?action=载入演示")  # the demo's listings: long titles, many fields
    expect(page.locator("#audit-entries")).to_contain_text("载入演示条目")
    scroll, inner = _fits(page)
    assert scroll <= inner, (width, scroll, inner)
    expect(page.locator("#audit-entries")).not_to_contain_text("listing.demo_load")
    if width == 1366:
        # the district admin's navigation stays on one line: the bar is one row high
        bar = page.locator("#nav-features").bounding_box()
        item = page.locator("#nav-search").bounding_box()
        assert bar["height"] < item["height"] * 1.6, (bar, item)
        page.click("#nav-menu-manage")
        expect(page.locator("#nav-audit")).to_be_visible()
        page.keyboard.press("Escape")
        # keyboard: focus the menu button and open it with Enter
        page.focus("#nav-menu-review")
        page.keyboard.press("Enter")
        expect(page.locator("#nav-org-review")).to_be_visible()
    page.close()


def test_a_providers_tables_fit_a_phone(browser, demo_site):
    """At 390 px the lab's ledger and listings scrolled the whole page sideways and the ledger's 付款方 column was one
    character a line: a wide table now scrolls inside itself and each column keeps room for a short name."""
    page = browser.new_page(viewport={"width": 390, "height": 844})
    ui_login(page, demo_site, "lab@jlxq-univ.edu.cn", DEMO_PASSWORD)
    for path, table in (("/ledger/", "#entries-table"), ("/listings/mine", "#my-listings")):
        page.goto(demo_site + path)
        scroll, inner = _fits(page)
        assert scroll <= inner, (path, scroll, inner)
        payer = page.locator(f"{table} td").nth(2).bounding_box()
        assert payer["width"] >= 50, (path, payer)  # 4.5em at 16 px: not one character
    page.close()


def test_home_page_as_anonymous_visitor(page, demo_site):
    page.goto(demo_site)
    expect(page.locator("#counts-by-kind [data-kind=scenario] [data-count]")).not_to_have_text("0")
    expect(page.locator("#kind-instrument .newest li").first).to_be_visible()
    expect(page.locator("#policy-brief [data-rule=art7_renter]")).to_contain_text("50%")
    expect(page.locator("#home-register")).to_be_visible()
    page.click("#policy-rules-link")
    expect(page.locator("h1")).to_have_text("补贴计算规则")
    assert page.evaluate("document.querySelector('link[rel=icon]').href").endswith("/static/favicon.svg")


def test_booking_by_picking_a_slot(page, site, make_org, make_user):
    uni = make_org(kind="university", name="吉林新区大学")
    instrument = make_listing(uni, kind="instrument", title="场发射扫描电镜", rate_cny_per_hour=Decimal("500"))
    sme = make_user(role=Role.ORG_ADMIN, org=make_org(kind="sme"))
    start = next_weekday_at(10, days_ahead=4)
    local = start.astimezone(SHANGHAI)
    week = (local.date() - dt.timedelta(days=local.weekday())).isoformat()
    ui_login(page, site, sme.email, PASSWORD)
    page.goto(f"{site}/deals/resources/{instrument.ref}/book?week={week}")
    first = page.locator(f".slot[data-start='{local:%Y-%m-%dT%H:%M}']")
    later = page.locator(f".slot[data-start='{local + dt.timedelta(hours=1):%Y-%m-%dT%H:%M}']")
    # keyboard: focus the free slot and press Enter, then click a later one to extend
    first.focus()
    page.keyboard.press("Enter")
    expect(page.locator("input[name=start_at]")).to_have_value(f"{local:%Y-%m-%dT%H:%M}")
    later.click()
    expect(page.locator("input[name=end_at]")).to_have_value(f"{local + dt.timedelta(hours=2):%Y-%m-%dT%H:%M}")
    expect(first).to_have_attribute("aria-pressed", "true")
    # the estimate follows the picked period (2 h x ¥500, half of it): picking did not tell it, typing did
    expect(page.locator("#subsidy-estimate [data-estimate-text]")).to_contain_text("¥500.00")
    page.fill("textarea[name=purpose]", "形貌表征")
    page.fill("textarea[name=sample_description]", "薄膜样品")
    page.click("#booking-form [type=submit]")
    expect(page.locator("#booking [data-status]")).to_have_text("待审批")
    booking = db.session.query(Booking).one()
    assert booking.start_at == start and booking.end_at == start + dt.timedelta(hours=2)
    # the booked slots are greyed and disabled for the next renter
    page.goto(f"{site}/deals/resources/{instrument.ref}/book?week={week}")
    expect(first).to_be_disabled()
    expect(first).to_have_class("btn btn-sm slot slot-busy")
    # and they look it: a disabled slot is painted grey, not in the free slots' green nor as a plain outlined
    # button (Bootstrap's .btn:disabled outranked the state classes once, so past slots looked free)
    colours = "e => getComputedStyle(e).backgroundColor"
    free = page.locator(".slot.slot-free").first
    assert first.evaluate(colours) == "rgb(222, 226, 230)"
    assert free.evaluate(colours) == "rgb(231, 245, 236)"
    page.goto(f"{site}/deals/resources/{instrument.ref}/book?week=2026-01-05")  # a past week: nothing bookable
    past = page.locator(".slot").first
    expect(past).to_have_class("btn btn-sm slot slot-unavailable")
    assert past.evaluate(colours) == "rgb(248, 249, 250)"


def test_awarded_scenario_has_no_bid_button(page, site, make_org, make_user):
    firm = make_org(kind="leading_firm")
    owner = make_user(role=Role.ORG_ADMIN, org=firm)
    sme = make_user(role=Role.ORG_ADMIN, org=make_org(kind="sme"))
    scenario = make_listing(firm, title="智慧病房场景")
    bid = bids.submit_bid(sme, scenario.id, BidInput(approach="方案", price_cny="1000", timeline="一个月"))
    bids.award_bid(owner, bid.id)
    db.session.commit()
    ui_login(page, site, sme.email, PASSWORD)
    page.goto(f"{site}/listings/{scenario.ref}")
    expect(page.locator("#scenario-awarded")).to_be_visible()
    expect(page.locator("#bid-on-scenario")).to_have_count(0)
