"""Factories for the deals tests: listings created directly, parties with their users."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from market.domain.localtime import SHANGHAI
from market.extensions import db
from models.listings import Listing
from models.users import Role

_n = itertools.count(1)


def make_listing(owner, kind="scenario", status="published", **fields) -> Listing:
    n = next(_n)
    defaults: dict[str, Any] = dict(
        ref=f"T{kind[:2].upper()}{n:04d}", kind=kind, owner=owner, title=f"测试{kind}{n}", description="说明",
        status=status,
    )
    if kind == "scenario":
        defaults.update(budget_cny=Decimal("500000.00"), deadline=dt.datetime.now(dt.UTC) + dt.timedelta(days=30))
    if kind in ("instrument", "facility", "pilot_base"):
        defaults.update(rate_cny_per_hour=Decimal("800.00"))
    if kind == "public_data":
        defaults.update(open_mode="conditional")
    defaults.update(fields)
    listing = Listing(**defaults)
    db.session.add(listing)
    db.session.commit()
    return listing


def next_weekday_at(hour: int, minute: int = 0, days_ahead: int = 3, weekday: int | None = None) -> dt.datetime:
    """A local (Asia/Shanghai) time on a weekday at least ``days_ahead`` days away, as aware UTC."""
    day = dt.datetime.now(SHANGHAI).date() + dt.timedelta(days=days_ahead)
    while day.weekday() >= 5 if weekday is None else day.weekday() != weekday:
        day += dt.timedelta(days=1)
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI).astimezone(dt.UTC)


@dataclass
class World:
    owner_org: Any
    owner: Any  # org admin of a leading firm (provider / scenario owner)
    sme_org: Any
    sme: Any  # SME member
    other_sme_org: Any
    other_sme: Any


@pytest.fixture
def world(make_org, make_user) -> World:
    owner_org = make_org(kind="leading_firm", name="龙头企业甲")
    sme_org = make_org(kind="sme", name="中小企业乙")
    other_org = make_org(kind="sme", name="中小企业丙")
    return World(
        owner_org=owner_org,
        owner=make_user(role=Role.ORG_ADMIN, org=owner_org),
        sme_org=sme_org,
        sme=make_user(role=Role.SME_MEMBER, org=sme_org),
        other_sme_org=other_org,
        other_sme=make_user(role=Role.SME_MEMBER, org=other_org),
    )


MINIMAL_PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
