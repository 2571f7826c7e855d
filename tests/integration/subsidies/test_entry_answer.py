"""The ledger entry page shows both answers: whether the entry is complete (the ledger's) and, per side,
the engine's — the rule it counts under and its contribution, or why it is excluded. The demo world's
related-party payment (D08, L1 → S4, both 光华集团) is complete and excluded with the reason."""

from __future__ import annotations

import re

from sqlalchemy import select

from market.demo import DEMO_PASSWORD, load_demo
from market.extensions import db
from models.ledger import LedgerEntry
from models.users import User


def user(email):
    return db.session.execute(select(User).where(User.email == email)).scalar_one()


def entry(ref):
    return db.session.execute(select(LedgerEntry).where(LedgerEntry.ref == ref)).scalar_one()


def row(page, side):
    return re.search(rf'<tr data-side="{side}"[^>]*>.*?</tr>', page, re.S).group(0)


def test_related_party_payment_is_complete_and_excluded_with_its_reason(client, login):
    load_demo()
    login(user("reviewer@ccxq.gov.cn"), DEMO_PASSWORD)
    page = client.get(f"/ledger/entries/{entry('D08').id}").get_data(as_text=True)
    assert 'id="entry-complete" data-complete="true"' in page and 'id="count-problems"' not in page
    payee = row(page, "payee")
    assert 'data-counts="false"' in payee and 'data-reasons="related_party"' in payee
    assert "关联方之间的交易" in payee and "art8_supplier" in payee
    assert "不适用任何补贴条款" in row(page, "payer")  # a leading firm paying: no rule pays the payer


def test_a_counted_rental_shows_each_sides_rule_and_contribution(client, login):
    load_demo()
    login(user("ceo@huiyi-health.cn"), DEMO_PASSWORD)  # S1, the renter of D01
    page = client.get(f"/ledger/entries/{entry('D01').id}").get_data(as_text=True)
    payer, payee = row(page, "payer"), row(page, "payee")
    assert 'data-rule="art7_renter"' in payer and 'data-counts="true"' in payer
    # S1 rents 120,000 + 380,000 this year: capped at 200,000; without D01 it is 190,000
    assert "¥10,000.00" in payer
    assert 'data-rule="art7_provider"' in payee and "¥12,000.00" in payee  # 10% of 120,000


def test_an_incomplete_entry_says_so_on_both_answers(client, login):
    load_demo()
    login(user("reviewer@ccxq.gov.cn"), DEMO_PASSWORD)
    page = client.get(f"/ledger/entries/{entry('D09').id}").get_data(as_text=True)  # missing its invoice
    assert 'data-complete="false"' in page
    assert 'data-reasons="missing_evidence"' in row(page, "payer") and "缺少凭证" in row(page, "payer")
