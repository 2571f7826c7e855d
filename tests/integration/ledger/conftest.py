"""Fixtures for the ledger tests: a renter, a provider, an outsider, their users and an active contract."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest

from market.extensions import db
from models.deals import Contract
from models.users import Role


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
    # room for several payments of the usual 120,000: no payment may take a contract's paid total
    # beyond its amount (tests of that limit make their own contract)
    contract = Contract(kind="rental", payer_id=renter.id, payee_id=provider.id, title="电镜租用",
                        amount_cny=Decimal("1000000.00"), status="active")
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
