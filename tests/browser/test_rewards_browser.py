"""Issue 10 in the browser: a reviewer decides an art. 9 demonstration project's tier (changing the
proposal; the amount comes from the parameters), and an SME sees the subsidy estimate on a booking
page, updated by market.js when it picks the period."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from market.deals import bookings
from market.demo import DEMO_PASSWORD, load_demo
from market.extensions import db
from models.listings import Listing
from models.rewards import RewardDecision
from tests.browser.conftest import ui_login

pytestmark = pytest.mark.browser


def test_reviewer_decides_a_tier_and_an_sme_sees_the_estimate(browser, site):
    load_demo()
    db.session.commit()
    r = browser.new_page()
    ui_login(r, site, "reviewer@ccxq.gov.cn", DEMO_PASSWORD)
    r.goto(f"{site}/subsidies/rewards/")
    row = r.locator("#pending-demo tbody tr").first
    expect(row).to_contain_text("卫星通信应急保障示范工程")
    row.locator("a.btn").click()
    expect(r.locator("#proposed-tier")).to_contain_text("B")
    expect(r.locator("select[name=tier]")).to_have_value("B")  # the proposal is preselected
    r.select_option("select[name=tier]", "A")
    r.fill("textarea[name=reason]", "覆盖范围超出申报，示范效应突出，上调为一档。")
    r.click("#demo-form [type=submit]")
    expect(r.locator("[data-field=amount]")).to_have_text("¥500,000.00")
    expect(r.locator("[data-field=tier]")).to_have_text("A")
    expect(r.locator("#decision-status")).to_have_attribute("data-status", "decided")
    db.session.expire_all()
    d = db.session.execute(select(RewardDecision).where(RewardDecision.rule == "art9_demo", RewardDecision.tier == "A")
                           ).scalar_one()
    assert d.decided_by.email == "reviewer@ccxq.gov.cn" and d.evidence["proposed_tier"] == "B"

    s = browser.new_page()
    ui_login(s, site, "ceo@beidou-st.cn", DEMO_PASSWORD)  # S3, a small in-district firm
    h02 = db.session.execute(select(Listing).where(Listing.ref == "H02")).scalar_one()
    min_hours = bookings.availability_for(h02).min_hours
    s.goto(f"{site}/deals/resources/H02/book")
    box = s.locator("#subsidy-estimate")
    expect(box).to_have_attribute("data-eligible", "true")
    expect(box).to_contain_text("本次租用预计可获补贴")
    expect(box).to_contain_text("今年剩余额度")
    first = box.get_attribute("data-amount")
    assert first == f"{h02.rate_cny_per_hour * min_hours:.2f}"
    # a three-hour period: the script asks the estimate endpoint and rewrites the sentence
    s.fill("#booking-form input[name=start_at]", "2026-12-28T09:00")
    s.fill("#booking-form input[name=end_at]", "2026-12-28T12:00")
    expect(box).to_have_attribute("data-amount", f"{h02.rate_cny_per_hour * 3:.2f}")
    expected = f"¥{h02.rate_cny_per_hour * 3 / 2:,.2f}"
    expect(box.locator("[data-estimate-text]")).to_have_text(re.compile(re.escape(f"本次租用预计可获补贴 {expected}")))


def test_the_bid_estimate_reads_the_price_as_typed_and_says_what_is_wrong(browser, site):
    """38万 is estimated like 380000; a price over the limit gets the form's own words, not a failed request."""
    load_demo()
    db.session.commit()
    p = browser.new_page()
    errors: list[str] = []
    p.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    ui_login(p, site, "ceo@weina-mat.cn", DEMO_PASSWORD)  # S2 bids on L1's scenario
    p.goto(f"{site}/deals/scenarios/S0002/bid")
    box = p.locator("#subsidy-estimate")
    text = box.locator("[data-estimate-text]")
    p.fill("input[name=price_cny]", "38万")
    expect(box).to_have_attribute("data-amount", "38万")
    expect(text).to_contain_text("本项目预计可获补贴 ¥19,000.00（按合同金额的5%）")  # 5 % of 380,000
    p.fill("input[name=price_cny]", "9" * 16)
    expect(text).to_contain_text("金额超过单笔上限 1,000,000,000.00 元")
    expect(box).not_to_have_attribute("data-amount", re.compile("."))
    assert errors == []
