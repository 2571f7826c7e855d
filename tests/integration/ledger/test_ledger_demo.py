"""The demo ledger carries POLICY.md's worked example and loads idempotently."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from market.demo import load_demo
from market.extensions import db
from market.ledger import chain, services
from models.ledger import LedgerEntry
from models.organisations import Organisation


def org(ref):
    return db.session.execute(select(Organisation).where(Organisation.ref == ref)).scalar_one()


def test_demo_worked_example_and_idempotent(app_ctx):
    load_demo()
    s1, u1, s2 = org("S1"), org("U1"), org("S2")
    rent = services.counted_entries(org_id=s1.id, year=2026, kind="rental", role="payer")
    assert sorted(e.ref for e in rent) == ["D01", "D02"]  # D09 lacks its invoice
    assert sum(e.amount_cny for e in rent) == Decimal("500000.00")
    supplier = services.counted_entries(org_id=s2.id, year=2026, kind="scenario_contract", role="payee")
    assert sum(e.amount_cny for e in supplier) == Decimal("2400000.00")
    provider = services.counted_entries(org_id=u1.id, year=2026, kind="rental", role="payee")
    assert sum(e.amount_cny for e in provider) == Decimal("560000.00")  # 500k from S1 + 80k - 20k refund from S2
    queue = services.review_queue()
    assert [e.ref for e in queue["disputed"]] == ["D05"]
    assert "D04" in [e.ref for e in services.pending_for_org(org("I1").id)]
    n = db.session.execute(select(func.count()).select_from(LedgerEntry)).scalar_one()
    load_demo()
    assert db.session.execute(select(func.count()).select_from(LedgerEntry)).scalar_one() == n == 9
    assert chain.verify().ok
