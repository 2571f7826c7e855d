"""Estimates where decisions are made: the booking, data application and bid pages show what the deal
would add to the member's subsidy this year, or why it would earn nothing (the engine's words)."""

from __future__ import annotations

import html
from decimal import Decimal

from sqlalchemy import select

from market.deals import bookings
from market.demo import DEMO_PASSWORD, load_demo
from market.domain.localtime import today
from market.extensions import db
from market.subsidies import services
from models.listings import Listing
from models.organisations import Organisation
from models.users import User


def user(email):
    return db.session.execute(select(User).where(User.email == email)).scalar_one()


def listing(ref):
    return db.session.execute(select(Listing).where(Listing.ref == ref)).scalar_one()


def org(ref):
    return db.session.execute(select(Organisation).where(Organisation.ref == ref)).scalar_one()


def used(org_ref, rule):
    found = [r for r in services.results_for(org(org_ref).id, today().year) if r.rule == rule]
    return found[0].amount if found else Decimal("0.00")


def page(client, url):
    resp = client.get(url, follow_redirects=True)
    assert resp.status_code == 200
    return html.unescape(resp.get_data(as_text=True))


def test_booking_page_shows_the_renter_estimate(client, login):
    load_demo()
    login(user("ceo@beidou-st.cn"), DEMO_PASSWORD)  # S3, a small in-district software firm
    h02 = listing("H02")
    avail = bookings.availability_for(h02)
    quoted = h02.rate_cny_per_hour * avail.min_hours
    remaining = Decimal("200000.00") - used("S3", "art7_renter")
    text = page(client, "/deals/resources/H02/book")
    assert 'id="subsidy-estimate"' in text and 'data-rule="art7_renter"' in text and 'data-eligible="true"' in text
    expected = min((quoted * Decimal("0.5")).quantize(Decimal("0.01")), remaining)
    assert f"本次租用预计可获补贴 ¥{expected:,.2f}，今年剩余额度 ¥{remaining:,.2f}" in text


def test_out_of_district_renter_is_told_why(client, login):
    load_demo()
    login(user("ceo@yuanhang-its.cn"), DEMO_PASSWORD)  # S5, registered in Shenyang
    text = page(client, "/deals/resources/H02/book")
    assert 'data-eligible="false"' in text and "本次交易预计不能按第七条 开放创新资源（租用单位）获得补贴：付款日期受益方不在新区注册。" in text


def test_bid_form_shows_the_supplier_estimate_and_the_related_party_reason(client, login):
    load_demo()
    login(user("ceo@weina-mat.cn"), DEMO_PASSWORD)  # S2 bids on L1's scenario
    s0002 = listing("S0002")
    text = page(client, "/deals/scenarios/S0002/bid")
    remaining = Decimal("1000000.00") - used("S2", "art8_supplier")
    assert 'data-rule="art8_supplier"' in text and "（按合同金额的5%），今年剩余额度" in text
    assert "提交揭榜方案" in text  # a new bid: estimated on the scenario's budget
    expected = min((s0002.budget_cny * Decimal("0.05")).quantize(Decimal("0.01")), remaining)
    assert f"本项目预计可获补贴 ¥{expected:,.2f}（按合同金额的5%），今年剩余额度 ¥{remaining:,.2f}" in text
    data = client.get("/subsidies/estimate/S0002?amount=100000").get_json()
    assert data["rule"] == "art8_supplier" and data["eligible"]
    assert data["amount_cny"] == f"{min(Decimal('5000.00'), remaining):.2f}" and "¥5,000.00" in data["text"]
    assert client.get("/subsidies/estimate/S0002?amount=10万").get_json()["amount_cny"] == data["amount_cny"]
    for typed, words in (("abc", "请输入金额，如 380000"), ("9" * 16, "金额超过单笔上限 1,000,000,000.00 元"),
                         ("-5", "金额不能为负数")):
        answer = client.get("/subsidies/estimate/S0002", query_string={"amount": typed})
        assert answer.status_code == 200 and answer.get_json()["amount_problem"], typed  # a preview: no error status
        assert words in answer.get_json()["text"] and "amount_cny" not in answer.get_json()
    assert client.get("/subsidies/estimate/NOPE").status_code == 404
    client.post("/auth/logout")
    login(user("ceo@ghmed-sales.cn"), DEMO_PASSWORD)  # S4, same group as L1
    text = page(client, "/deals/scenarios/S0002/bid")
    assert "本次交易预计不能按第八条 开放场景（承接项目的中小微企业）获得补贴：关联方之间的交易。" in text


def test_data_application_page_gives_rate_and_room(client, login):
    load_demo()
    login(user("ceo@beidou-st.cn"), DEMO_PASSWORD)
    remaining = Decimal("200000.00") - used("S3", "art7_renter")
    text = page(client, "/deals/data/D01/apply")
    assert f"费用确定后按费用的50%计算补贴，今年剩余额度 ¥{remaining:,.2f}" in text


def test_district_staff_and_visitors_see_no_estimate(client, login):
    load_demo()
    assert client.get("/subsidies/estimate/S0002?amount=1").status_code == 302
    login(user("reviewer@ccxq.gov.cn"), DEMO_PASSWORD)
    assert client.get("/subsidies/estimate/S0002?amount=1").status_code == 403


def test_provider_sees_its_art7_standing_on_the_deals_dashboard(client, login):
    load_demo()
    u1 = org("U1")
    result = next(r for r in services.results_for(u1.id, today().year) if r.rule == "art7_provider")
    login(user("lab@jlxq-univ.edu.cn"), DEMO_PASSWORD)
    text = page(client, "/deals/")
    box = text[text.index('id="provider-standing"'):]
    box = box[:box.index("</section>")]
    assert f'data-field="base">¥{result.base:,.2f}<' in box and f'data-field="amount">¥{result.amount:,.2f}<' in box
    assert 'data-field="cap">¥10,000,000.00' in box
    assert f'data-field="remaining">¥{Decimal("10000000.00") - result.amount:,.2f}<' in box
    assert f'data-field="excluded">{len(result.exclusions)}<' in box
    assert f"/subsidies/{u1.id}/{today().year}#rule-art7_provider" in box
    assert result.amount >= Decimal("50000.00")  # the worked example's 10% x 500,000 at least
    client.post("/auth/logout")
    login(user("ceo@huiyi-health.cn"), DEMO_PASSWORD)
    assert 'id="provider-standing"' not in page(client, "/deals/")
