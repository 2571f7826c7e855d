"""An SME from a scenario to a bid, an award and a contract both sides confirm; and from an
instrument to a booking, its approval and the usage check-in."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from market.domain.localtime import SHANGHAI
from market.extensions import db
from models.deals import Booking, Contract
from models.users import Role
from tests.browser.conftest import ui_login
from tests.conftest import PASSWORD
from tests.integration.deals.helpers import MINIMAL_PDF, make_listing, next_weekday_at

pytestmark = pytest.mark.browser


@pytest.fixture
def parties(make_org, make_user):
    owner_org = make_org(kind="leading_firm", name="长春光华医疗科技集团")
    sme_org = make_org(kind="sme", name="长春慧医数字健康")
    return owner_org, make_user(role=Role.ORG_ADMIN, org=owner_org), sme_org, make_user(role=Role.ORG_ADMIN, org=sme_org)


def _session(browser, site, user):
    page = browser.new_page()
    ui_login(page, site, user.email, PASSWORD)
    return page


def test_bid_award_contract_confirmed_by_both(browser, site, parties):
    owner_org, owner, sme_org, sme = parties
    scenario = make_listing(owner_org, title="智慧病房护理场景", in_district_only=True)

    sme_page = _session(browser, site, sme)
    sme_page.goto(f"{site}/deals/scenarios/{scenario.ref}/bid")
    expect(sme_page.locator("h1")).to_have_text("智慧病房护理场景")
    sme_page.fill("textarea[name=approach]", "基于可穿戴设备的护理风险预警系统")
    sme_page.fill("input[name=price_cny]", "380000.005")
    sme_page.fill("textarea[name=timeline]", "四个月")
    sme_page.click("#bid-form [type=submit]")
    expect(sme_page.locator("#bid-form")).to_contain_text("金额最多两位小数")
    sme_page.fill("input[name=price_cny]", "380000")
    sme_page.click("#bid-form [type=submit]")
    expect(sme_page.locator("#bid-price")).to_have_text("¥380,000.00")
    expect(sme_page.locator("#bid [data-status]").first).to_have_text("已提交")

    owner_page = _session(browser, site, owner)
    owner_page.goto(f"{site}/deals/")
    owner_page.get_by_role("link", name=re.compile("评审揭榜方案")).click()
    owner_page.fill("#message-form textarea[name=body]", "能否在三个月内完成？")
    owner_page.click("#message-form [type=submit]")
    expect(owner_page.locator("#messages")).to_contain_text("能否在三个月内完成？")
    owner_page.wait_for_load_state()  # under load a click during the reload after the message was lost
    asked = []
    owner_page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    with owner_page.expect_navigation():
        owner_page.click("#award-bid")
    assert "中标不能撤销" in asked[0] and "¥380,000.00" in asked[0]  # an award cannot be undone: it is asked
    expect(owner_page.locator("#bid [data-status]").first).to_have_text("中标")
    owner_page.click("#contract-link")
    expect(owner_page.locator("#contract-amount")).to_have_text("¥380,000.00")
    owner_page.set_input_files("input[name=d-document]", files=[{"name": "合同.pdf", "mimeType": "application/pdf", "buffer": MINIMAL_PDF}])
    owner_page.click("#document-form [type=submit]")
    expect(owner_page.locator("#signed-document")).to_contain_text("合同.pdf")
    owner_page.click("#confirm-contract")
    expect(owner_page.locator("#payer-confirmed")).to_be_visible()
    expect(owner_page.locator("#contract-status")).to_have_text("草稿")

    sme_page.goto(f"{site}/deals/")
    sme_page.get_by_role("link", name=re.compile("确认合同")).click()
    sme_page.click("#confirm-contract")
    expect(sme_page.locator("#contract-status")).to_have_text("生效")
    db.session.expire_all()
    contract = db.session.query(Contract).one()
    assert (contract.status, contract.payer_id, contract.payee_id) == ("active", owner_org.id, sme_org.id)


def test_instrument_booking_approval_and_usage(browser, site, parties):
    owner_org, owner, _sme_org, sme = parties
    instrument = make_listing(owner_org, kind="instrument", title="冷冻电镜", rate_cny_per_hour=Decimal("1200"))
    start = next_weekday_at(9)
    local = start.astimezone(SHANGHAI)

    sme_page = _session(browser, site, sme)
    sme_page.goto(f"{site}/deals/resources/{instrument.ref}/book")
    expect(sme_page.locator("#availability")).to_contain_text("09:00-18:00")
    sme_page.fill("input[name=start_at]", local.strftime("%Y-%m-%dT%H:%M"))
    sme_page.fill("input[name=end_at]", (local + dt.timedelta(hours=10)).strftime("%Y-%m-%dT%H:%M"))
    sme_page.fill("textarea[name=purpose]", "蛋白结构解析")
    sme_page.fill("textarea[name=sample_description]", "冷冻样品 3 份")
    sme_page.check("input[name=operator_needed]")
    sme_page.click("#booking-form [type=submit]")
    expect(sme_page.locator("#booking-form")).to_contain_text("不能超过 8 小时")
    sme_page.fill("input[name=end_at]", (local + dt.timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"))
    sme_page.click("#booking-form [type=submit]")
    expect(sme_page.locator("#booking [data-status]")).to_have_text("待审批")

    owner_page = _session(browser, site, owner)
    owner_page.goto(f"{site}/deals/")
    owner_page.get_by_role("link", name=re.compile("审批预约")).click()
    owner_page.click("#approve-booking")
    expect(owner_page.locator("#booking [data-status]").first).to_have_text("已批准")
    expect(owner_page.locator("#contract-link")).to_be_visible()

    # time passes: the booked slot is now in the past
    booking = db.session.query(Booking).one()
    booking.start_at = dt.datetime.now(dt.UTC) - dt.timedelta(hours=4)
    booking.end_at = booking.start_at + dt.timedelta(hours=3)
    db.session.commit()

    owner_page.reload()
    owner_page.fill("#actual_hours", "2.5")
    owner_page.click("#checkin")
    expect(owner_page.locator("#booking [data-status]").first).to_have_text("已使用")
    expect(owner_page.locator("#actual-hours")).to_contain_text("2.5 小时")
    owner_page.goto(f"{site}/deals/utilisation")
    expect(owner_page.locator("#utilisation")).to_contain_text("83.3%")
    db.session.expire_all()
    assert db.session.query(Contract).one().amount_cny == Decimal("3000.00")
