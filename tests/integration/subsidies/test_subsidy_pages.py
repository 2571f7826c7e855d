"""The calculation sheet: members read their own organisation's, district staff read everyone's."""

from __future__ import annotations

from sqlalchemy import select

from market.demo import DEMO_PASSWORD, load_demo
from market.extensions import db
from models.organisations import Organisation
from models.users import User


def org(ref):
    return db.session.execute(select(Organisation).where(Organisation.ref == ref)).scalar_one()


def user(email):
    return db.session.execute(select(User).where(User.email == email)).scalar_one()


def test_a_member_reads_their_own_sheet_and_not_another(client, login):
    load_demo()
    s1 = org("S1")
    login(user("ceo@huiyi-health.cn"), DEMO_PASSWORD)
    index = client.get("/subsidies/?year=2026")
    assert index.status_code == 302 and index.headers["Location"].endswith(f"/subsidies/{s1.id}/2026")
    page = client.get(f"/subsidies/{s1.id}/2026").get_data(as_text=True)
    assert 'id="rule-art7_renter"' in page
    assert "¥500,000.00" in page and "¥200,000.00" in page and "是，按上限计" in page
    assert 'data-ref="D01"' in page and 'data-ref="D02"' in page
    assert 'data-reason="missing_evidence"' in page and "缺少凭证：发票" in page  # D09 lacks its invoice
    assert 'data-winner="art7_renter"' in page  # D02's declared 省级创新券 loses to our marginal amount
    assert "按出租年收入的10%" not in page and "按年租用支出的50%给予最高20万元补贴" in page
    assert client.get(f"/subsidies/{org('S2').id}/2026").status_code == 403


def test_district_staff_see_every_organisation(client, login):
    load_demo()
    login(user("reviewer@ccxq.gov.cn"), DEMO_PASSWORD)
    index = client.get("/subsidies/?year=2026").get_data(as_text=True)
    assert 'data-beneficiary="S4" data-rule="art8_supplier"' in index
    # each line names its rule in words, not only by its parameter key
    assert "第八条 开放场景（承接项目的中小微企业）" in index
    page = client.get(f"/subsidies/{org('S4').id}/2026").get_data(as_text=True)
    assert 'data-ref="D08" data-reason="related_party"' in page and "关联方之间的交易" in page
    assert client.get("/subsidies/999999/2026").status_code == 404


def test_the_sheet_in_english(client, login):
    load_demo()
    login(user("reviewer@ccxq.gov.cn"), DEMO_PASSWORD)
    page = client.get(f"/subsidies/{org('S4').id}/2026?lang=en").get_data(as_text=True)
    assert "Transaction between related parties" in page
