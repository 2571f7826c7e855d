"""End-to-end journeys across features, driven through the real UI (issue 4 and issue 5 "done when").

Only the starting world (organisations, users, published listings in the search index) is set up
directly; every step after an SME's login is a click or a form in the browser:

1. a scenario found by a Chinese search → 我要揭榜 → bid → award → contract (signed PDF, both
   confirm) → payment with evidence → confirmed by the payee → counted on both ledgers → `ledger verify`;
2. an instrument found by "电镜" → the provider opens Saturdays → booking → approval → usage → rental
   contract → payment → confirmed;
3. the same pages in English without errors.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from market.deals import bids as bid_svc
from market.deals import bookings as booking_svc
from market.deals import contracts as contract_svc
from market.domain.localtime import SHANGHAI
from market.extensions import db
from market.ledger import services as ledger_svc
from models.deals import Booking
from models.ledger import LedgerEntry
from models.users import Role
from tests.browser.conftest import ui_login
from tests.conftest import PASSWORD
from tests.integration.deals.helpers import MINIMAL_PDF, next_weekday_at
from tests.ledger_helpers import full_evidence

pytest_plugins = ["tests.integration.conftest_search"]
pytestmark = pytest.mark.browser

SATURDAY = 5


def _pdf(name: str) -> dict:
    # distinct bytes per document: evidence is stored by SHA-256
    return {"name": name, "mimeType": "application/pdf", "buffer": MINIMAL_PDF + name.encode()}


def _session(browser, site, user, locale: str | None = None):
    context = browser.new_context(locale=locale) if locale else browser.new_context()
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 500 else None)
    page.server_errors = errors
    ui_login(page, site, user.email, PASSWORD)
    return page


def _search_and_open(page, site, query: str, title: str) -> None:
    """The search page, as an SME uses it: type, submit, click the hit."""
    page.goto(f"{site}/search")
    page.fill("#search-q", query)
    page.click("#search-form button[type=submit]")
    hit = page.locator(".search-hit h2 a", has_text=title)
    expect(hit).to_have_count(1)
    hit.click()
    expect(page.locator("#listing-title")).to_have_text(title)


def _follow_notification(page, site, title_part: str) -> None:
    page.click("#nav-notifications")
    item = page.locator("#notifications li", has_text=title_part).first
    item.get_by_role("button", name="查看").click()
    page.wait_for_load_state()


def _record_payment(page, amount: str, paid_at_local: dt.datetime, upload_contract: bool = True) -> None:
    """The ledger partial on the contract page: amount, Beijing time, the evidence (without a contract
    upload, the contract's signed PDF is the contract evidence)."""
    form = page.locator("#record-payment-form")
    form.locator("#pay-amount").fill(amount)
    form.locator("#pay-paid-at").fill(paid_at_local.strftime("%Y-%m-%dT%H:%M"))
    if upload_contract:
        form.locator("#pay-evidence_contract").set_input_files(_pdf("合同.pdf"))
    form.locator("#pay-evidence_invoice").set_input_files(_pdf("发票.pdf"))
    form.locator("#pay-evidence_payment_record").set_input_files(_pdf("银行回单.pdf"))
    form.locator("#record-payment").click()
    expect(page.locator(".alert-success")).to_contain_text("付款已登记")


def _counted_on_ledger(page, site, ref: str, amount: str) -> None:
    page.click("#nav-ledger")
    row = page.locator(f"#entries-table tr[data-ref='{ref}']")
    expect(row).to_contain_text(amount)
    expect(row).to_contain_text("付款方已确认")
    expect(row).to_contain_text("收款方已确认")
    expect(row.locator(".badge", has_text=re.compile("^记录完整$"))).to_have_count(1)
    expect(page.locator("#totals-table")).to_contain_text(amount)


@pytest.fixture
def parties(make_org, make_user):
    firm = make_org(kind="leading_firm", name="长春光华医疗科技集团")
    sme_org = make_org(kind="sme", name="长春慧医数字健康")
    return firm, make_user(role=Role.ORG_ADMIN, org=firm), sme_org, make_user(role=Role.ORG_ADMIN, org=sme_org)


def test_scenario_found_in_chinese_to_a_payment_both_sides_confirmed(browser, site, app, parties, make_listing, make_user):
    firm, owner, sme_org, _sme_admin = parties
    sme = make_user(role=Role.SME_MEMBER, org=sme_org)  # an engineer, not the org admin, runs the bid
    make_listing(
        "智慧病房护理风险预警场景", "在三家医院的住院病房部署可穿戴设备，预测跌倒与压疮风险。", kind="scenario",
        owner=firm, tags=["智慧医疗", "护理"], track="digital_healthcare", budget_cny=Decimal("500000.00"),
        deadline=dt.datetime.now(dt.UTC) + dt.timedelta(days=30), scenario_mode="crowdsourcing",
    )
    make_listing("医学影像标注数据集", "脱敏 CT 影像", kind="database", owner=firm)

    # the SME finds the scenario by describing its need in Chinese, and bids
    sme_page = _session(browser, site, sme)
    _search_and_open(sme_page, site, "医院病房护理", "智慧病房护理风险预警场景")
    sme_page.click("#bid-on-scenario")
    sme_page.fill("textarea[name=approach]", "基于可穿戴设备的护理风险预警系统")
    sme_page.fill("input[name=price_cny]", "380000")
    sme_page.fill("textarea[name=timeline]", "四个月")
    sme_page.click("#bid-form [type=submit]")
    expect(sme_page.locator("#bid-price")).to_have_text("¥380,000.00")

    # the leading firm is notified, awards the bid and signs the contract draft
    owner_page = _session(browser, site, owner)
    _follow_notification(owner_page, site, "新的揭榜方案")
    owner_page.once("dialog", lambda dialog: dialog.accept())  # 确定该方案中标？
    owner_page.click("#award-bid")
    expect(owner_page.locator("#bid [data-status]").first).to_have_text("中标")
    owner_page.click("#contract-link")
    owner_page.set_input_files("input[name=d-document]", files=[_pdf("场景合同（签章版）.pdf")])
    owner_page.click("#document-form [type=submit]")
    expect(owner_page.locator("#signed-document")).to_contain_text("场景合同（签章版）.pdf")
    owner_page.click("#confirm-contract")
    expect(owner_page.locator("#payer-confirmed")).to_be_visible()
    contract_url = owner_page.url

    # the SME is told it won, and confirms the contract
    _follow_notification(sme_page, site, "您的方案中标")
    sme_page.click("#contract-link")
    sme_page.click("#confirm-contract")
    expect(sme_page.locator("#contract-status")).to_have_text("生效")

    # the payer records the first instalment with its evidence on the contract page
    owner_page.goto(contract_url)
    _record_payment(owner_page, "190000", dt.datetime.now(SHANGHAI) - dt.timedelta(hours=2))
    row = owner_page.locator("#payments-table tr[data-ref]")
    expect(row).to_contain_text("¥190,000.00")
    expect(row).to_contain_text("收款方未确认")
    ref = row.get_attribute("data-ref")

    # the payee confirms it from the contract page
    sme_page.goto(contract_url)
    sme_page.click(f"#payments-table [data-action=confirm][data-ref='{ref}']")
    expect(sme_page.locator(".alert-success")).to_contain_text("已确认")
    expect(sme_page.locator("#payments-table tr[data-ref]")).to_contain_text("收款方已确认")

    # both ledgers count it (payer: expense, payee: income)
    _counted_on_ledger(owner_page, site, ref, "¥190,000.00")
    _counted_on_ledger(sme_page, site, ref, "¥190,000.00")
    assert owner_page.server_errors == sme_page.server_errors == []

    db.session.expire_all()
    entry = db.session.query(LedgerEntry).one()
    assert (entry.kind, entry.payer_id, entry.payee_id, entry.amount_cny) == (
        "scenario_contract", firm.id, sme_org.id, Decimal("190000.00"))
    result = app.test_cli_runner().invoke(args=["ledger", "verify"])
    assert result.exit_code == 0, result.output


def test_instrument_found_by_dianjing_to_booking_usage_and_payment(browser, site, parties, make_listing):
    firm, provider, sme_org, sme = parties
    make_listing("场发射扫描电镜 SU8010", "材料表面形貌观察，分辨率 1 nm", tags=["扫描电镜", "SEM"], owner=firm,
                 track="smart_materials", rate_cny_per_hour=Decimal("600"))
    make_listing("透射电镜 JEM-2100F", "纳米材料微观结构分析", tags=["透射电镜", "TEM"], owner=firm,
                 track="smart_materials", rate_cny_per_hour=Decimal("900"))
    make_listing("电感耦合等离子体质谱仪", "痕量元素分析", owner=firm)

    # the provider opens the SEM on Saturdays through its availability page
    provider_page = _session(browser, site, provider)
    _search_and_open(provider_page, site, "扫描电镜", "场发射扫描电镜 SU8010")
    provider_page.click("#resource-availability")
    provider_page.fill("#a-sat", "09:00-12:00, 13:00-17:00")
    provider_page.click("#availability-form [type=submit]")
    expect(provider_page.locator(".alert-success")).to_contain_text("开放时间已保存")
    expect(provider_page.locator("#a-sat")).to_have_value("09:00-12:00, 13:00-17:00")

    # "电镜" finds both electron microscopes (partial word), not the mass spectrometer
    sme_page = _session(browser, site, sme)
    sme_page.goto(f"{site}/search?q=电镜")
    titles = sme_page.locator(".search-hit h2").all_inner_texts()
    assert sorted(titles) == sorted(["场发射扫描电镜 SU8010", "透射电镜 JEM-2100F"])
    sme_page.locator(".search-hit h2 a", has_text="扫描电镜").click()
    sme_page.click("#book-resource")
    expect(sme_page.locator("#availability")).to_contain_text("13:00-17:00")
    start = next_weekday_at(9, weekday=SATURDAY).astimezone(SHANGHAI)
    sme_page.fill("input[name=start_at]", start.strftime("%Y-%m-%dT%H:%M"))
    sme_page.fill("input[name=end_at]", (start + dt.timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"))
    sme_page.fill("textarea[name=purpose]", "锂电池正极材料形貌观察")
    sme_page.fill("textarea[name=sample_description]", "粉末样品 4 份")
    sme_page.click("#booking-form [type=submit]")
    expect(sme_page.locator("#booking [data-status]")).to_have_text("待审批")
    booking_url = sme_page.url

    # the provider approves from its notification
    _follow_notification(provider_page, site, "新的预约申请")
    provider_page.click("#approve-booking")
    expect(provider_page.locator("#booking [data-status]").first).to_have_text("已批准")

    # time passes: the service records usage only once a booking has started, so the approved slot
    # is moved into the past directly in the database (as tests/browser/test_deals_flows.py does)
    booking = db.session.query(Booking).one()
    booking.start_at = dt.datetime.now(dt.UTC) - dt.timedelta(hours=5)
    booking.end_at = booking.start_at + dt.timedelta(hours=3)
    db.session.commit()

    provider_page.reload()
    provider_page.fill("#actual_hours", "2.5")
    provider_page.click("#checkin")
    expect(provider_page.locator("#booking [data-status]").first).to_have_text("已使用")

    # the rental contract: the provider uploads the signed copy, both confirm
    provider_page.click("#contract-link")
    expect(provider_page.locator("#contract-amount")).to_have_text("¥1,500.00")
    provider_page.set_input_files("input[name=d-document]", files=[_pdf("仪器租用合同.pdf")])
    provider_page.click("#document-form [type=submit]")
    provider_page.click("#confirm-contract")
    contract_url = provider_page.url
    sme_page.goto(booking_url)
    sme_page.click("#contract-link")
    sme_page.click("#confirm-contract")
    expect(sme_page.locator("#contract-status")).to_have_text("生效")

    # the SME pays; the provider confirms from its notification (the entry's page); both ledgers count it
    expect(sme_page.locator("#signed-contract-evidence")).to_contain_text("仪器租用合同.pdf")
    _record_payment(sme_page, "1500", dt.datetime.now(SHANGHAI) - dt.timedelta(minutes=30), upload_contract=False)
    ref = sme_page.locator("#payments-table tr[data-ref]").get_attribute("data-ref")
    _follow_notification(provider_page, site, "待确认的付款")
    provider_page.click(f"[data-action=confirm][data-ref='{ref}']")
    expect(provider_page.locator(".alert-success")).to_contain_text("已确认")
    provider_page.goto(contract_url)
    expect(provider_page.locator("#payments-table tr[data-ref]")).to_contain_text("收款方已确认")
    _counted_on_ledger(provider_page, site, ref, "¥1,500.00")
    _counted_on_ledger(sme_page, site, ref, "¥1,500.00")
    assert provider_page.server_errors == sme_page.server_errors == []

    db.session.expire_all()
    entry = db.session.query(LedgerEntry).one()
    assert (entry.kind, entry.payer_id, entry.payee_id, entry.amount_cny) == (
        "rental", sme_org.id, firm.id, Decimal("1500.00"))
    assert sorted(i["filename"] for i in entry.evidence) == ["仪器租用合同.pdf", "发票.pdf", "银行回单.pdf"]


def test_the_same_pages_in_english(browser, site, parties, make_listing):
    """Set up through the services (a paid scenario contract, a booking request); an SME who switches
    to English opens every page of both journeys without an error."""
    firm, owner, _sme_org, sme = parties
    scenario = make_listing("智慧病房护理风险预警场景", "可穿戴设备", kind="scenario", owner=firm, track="digital_healthcare",
                            budget_cny=Decimal("500000.00"), deadline=dt.datetime.now(dt.UTC) + dt.timedelta(days=30))
    instrument = make_listing("场发射扫描电镜 SU8010", "材料表面形貌", tags=["扫描电镜"], owner=firm)
    bid = bid_svc.submit_bid(sme, scenario.id, bid_svc.BidInput("可穿戴预警", "380000", "四个月"))
    contract = bid_svc.award_bid(owner, bid.id).contract
    contract_svc.upload_signed_document(owner, contract.id, io.BytesIO(MINIMAL_PDF), "合同.pdf")
    contract_svc.confirm(owner, contract.id)
    contract_svc.confirm(sme, contract.id)
    entry = ledger_svc.record_payment(owner, contract, amount="190000", paid_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1),
                                      uploads=full_evidence())
    start = next_weekday_at(10)
    booking = booking_svc.request_booking(sme, instrument.id, booking_svc.BookingInput(
        start, start + dt.timedelta(hours=2), "形貌观察", "粉末样品", False))
    db.session.commit()  # the set-up is one boundary: every service call above commits together

    page = _session(browser, site, sme)
    page.click("#lang-menu")
    page.click("[data-lang=en]")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    for path, selector in [
        ("/search/?q=电镜", ".search-hit"),
        (f"/listings/{scenario.ref}", "#listing-title"),
        (f"/listings/{instrument.ref}", "#book-resource"),
        (f"/deals/resources/{instrument.ref}/book", "#booking-form"),
        (f"/deals/bids/{bid.id}", "#bid-price"),
        (f"/deals/contracts/{contract.id}", f"#payments-table [data-action=confirm][data-ref='{entry.ref}']"),
        (f"/deals/bookings/{booking.id}", "#booking"),
        ("/deals/", "main"),
        ("/ledger/", f"#pending-table tr[data-ref='{entry.ref}']"),
        (f"/ledger/entries/{entry.id}", "main"),
    ]:
        response = page.goto(site + path)
        assert response.status == 200, path
        expect(page.locator("html")).to_have_attribute("lang", "en")
        expect(page.locator(selector).first).to_be_visible()
    assert page.server_errors == []
