"""A small world for the dashboard tests: four organisations, two listings of different tracks,
three contracts and ledger entries in every state completeness knows (made by the real services),
including a payment at 01:30 on 1 January Beijing time (still 31 December in UTC)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest

from market.extensions import db
from market.ledger import services as ledger
from models.deals import Contract
from models.ledger import LedgerEntry
from models.users import Role
from tests.integration.deals.helpers import make_listing
from tests.ledger_helpers import full_evidence, pdf

NOW = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)
BJ = dt.timezone(dt.timedelta(hours=8))


@dataclass
class DashWorld:
    sme_a: Any
    sme_b: Any
    uni: Any
    firm: Any
    users: dict[str, Any]
    listings: dict[str, Any]
    contracts: dict[str, Any]
    entries: dict[str, LedgerEntry] = field(default_factory=dict)


def _contract(payer, payee, kind, listing=None) -> Contract:
    c = Contract(kind=kind, payer_id=payer.id, payee_id=payee.id, title=f"{kind} 合同", listing_id=listing.id if listing else None,
                 amount_cny=Decimal("1000000.00"), status="active")
    db.session.add(c)
    db.session.commit()
    return c


@pytest.fixture
def dash_world(make_org, make_user) -> DashWorld:
    return build_world(make_org, make_user)


def build_world(make_org, make_user) -> DashWorld:
    sme_a = make_org(kind="sme", name="中小企业甲")
    sme_b = make_org(kind="sme", name="中小企业乙")
    uni = make_org(kind="university", name="高校丙", size=None)
    firm = make_org(kind="leading_firm", name="龙头企业丁", size=None)
    users = {
        "a": make_user(Role.ORG_ADMIN, org=sme_a), "b": make_user(Role.ORG_ADMIN, org=sme_b),
        "uni": make_user(Role.ORG_ADMIN, org=uni), "firm": make_user(Role.ORG_ADMIN, org=firm),
        "reviewer": make_user(Role.DISTRICT_REVIEWER), "admin": make_user(Role.DISTRICT_ADMIN),
    }
    listings = {
        "instrument": make_listing(uni, "instrument", track="digital_healthcare"),
        "scenario": make_listing(firm, "scenario", track="smart_materials"),
    }
    contracts = {
        "c1": _contract(sme_a, uni, "rental", listings["instrument"]),
        "c2": _contract(sme_b, firm, "scenario_contract", listings["scenario"]),
        "c3": _contract(sme_b, uni, "rental"),
    }
    w = DashWorld(sme_a, sme_b, uni, firm, users, listings, contracts)
    u = users

    def pay(user, contract, amount, paid_at, uploads=None):
        return ledger.record_payment(user, contract, amount=Decimal(amount), paid_at=paid_at,
                                     uploads=full_evidence(amount) if uploads is None else uploads, now=NOW)

    e = w.entries
    e["complete"] = pay(u["a"], contracts["c1"], "120000.00", dt.datetime(2026, 3, 1, 10, tzinfo=BJ))
    ledger.confirm(u["uni"], e["complete"], now=NOW)
    e["no_invoice"] = pay(u["a"], contracts["c1"], "50000.00", dt.datetime(2026, 4, 2, 10, tzinfo=BJ),
                          [pdf("contract", "n"), pdf("payment_record", "n")])
    ledger.confirm(u["uni"], e["no_invoice"], now=NOW)
    e["invoice_later"] = pay(u["a"], contracts["c1"], "30000.00", dt.datetime(2026, 5, 3, 10, tzinfo=BJ),
                             [pdf("contract", "l"), pdf("payment_record", "l")])
    ledger.add_evidence(u["uni"], e["invoice_later"], [pdf("invoice", "l")], now=NOW)
    ledger.confirm(u["uni"], e["invoice_later"], now=NOW)
    # 01:30 on 1 January 2026 in Beijing = 17:30 on 31 December 2025 in UTC: a 2026 payment
    e["new_year"] = pay(u["b"], contracts["c2"], "200000.00", dt.datetime(2026, 1, 1, 1, 30, tzinfo=BJ))
    e["disputed"] = pay(u["b"], contracts["c2"], "80000.00", dt.datetime(2026, 6, 1, 10, tzinfo=BJ))
    ledger.confirm(u["firm"], e["disputed"], now=NOW)
    ledger.dispute(u["firm"], e["disputed"], "金额不符", now=NOW)
    e["resolved"] = pay(u["b"], contracts["c3"], "10000.00", dt.datetime(2025, 6, 1, 10, tzinfo=BJ))
    ledger.confirm(u["uni"], e["resolved"], now=NOW)
    ledger.dispute(u["uni"], e["resolved"], "核对中", now=NOW)
    ledger.resolve_dispute(u["reviewer"], e["resolved"], "已核对无误", now=NOW)
    e["refund_ok"] = ledger.record_refund(u["a"], e["complete"], amount=Decimal("20000.00"),
                                          paid_at=dt.datetime(2026, 3, 5, 10, tzinfo=BJ), now=NOW)
    e["refund_bad"] = ledger.record_refund(u["a"], e["no_invoice"], amount=Decimal("5000.00"),
                                           paid_at=dt.datetime(2026, 4, 5, 10, tzinfo=BJ), now=NOW)
    db.session.commit()
    for key, entry in e.items():
        e[key] = db.session.get(LedgerEntry, entry.id)
    return w
