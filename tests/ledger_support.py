"""Fixtures and helpers for the ledger tests (imported by name from the ledger test modules)."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from decimal import Decimal

import pytest

from market.extensions import db
from market.ledger.services import Upload
from models.deals import Contract
from models.users import Role

PDF = b"%PDF-1.4\n% ledger test evidence\n"
NOW = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)
PAID = dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def pdf(doc_type: str, tag: str = "") -> Upload:
    return Upload(doc_type, io.BytesIO(PDF + f"{doc_type}{tag}".encode()), f"{doc_type}{tag}.pdf")


def full_evidence(tag: str = "") -> list[Upload]:
    return [pdf("contract", tag), pdf("invoice", tag), pdf("payment_record", tag)]


@dataclass
class World:
    renter: object  # SME org (payer)
    provider: object  # university (payee)
    outsider: object
    renter_user: object
    provider_user: object
    outsider_user: object
    reviewer: object
    contract: Contract


@pytest.fixture
def world(make_org, make_user):
    renter = make_org(kind="sme", ref="S1")
    provider = make_org(kind="university", ref="U1", size=None)
    outsider = make_org(kind="sme", ref="S9")
    contract = Contract(kind="rental", payer_id=renter.id, payee_id=provider.id, title="电镜租用",
                        amount_cny=Decimal("120000.00"), status="active")
    db.session.add(contract)
    db.session.commit()
    return World(
        renter=renter, provider=provider, outsider=outsider,
        renter_user=make_user(Role.ORG_ADMIN, org=renter),
        provider_user=make_user(Role.ORG_ADMIN, org=provider),
        outsider_user=make_user(Role.ORG_ADMIN, org=outsider),
        reviewer=make_user(Role.DISTRICT_REVIEWER),
        contract=contract,
    )
