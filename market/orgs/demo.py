"""Demo organisations: every kind, in and out of the district, one related-party group."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select

from market.extensions import db
from models.organisations import Organisation, RelatedPartyGroup, VerificationStatus

from .uscc import make_valid_uscc

# ref, name, kind, size, industry, employees, revenue, in_district, verified, group
DEMO_ORGS = [
    ("GOV1", "长春新区管理委员会", "government", None, None, None, None, True, True, None),
    ("GOV2", "长春新区大数据中心", "government", None, None, None, None, True, True, None),
    ("L1", "长春光华医疗科技集团有限公司", "leading_firm", "large", "industry", 2600, "1800000000", True, True, "光华集团"),
    ("L2", "吉林星网卫星通信股份有限公司", "leading_firm", "large", "information_transmission", 2300, "1200000000", True, True, None),
    ("L3", "长春智造装备集团有限公司", "leading_firm", "large", "industry", 1800, "900000000", True, True, None),
    ("U1", "吉林新区大学", "university", None, None, None, None, True, True, None),
    ("I1", "长春光学精密仪器研究院", "institute", None, None, None, None, True, True, None),
    ("S1", "长春慧医数字健康科技有限公司", "sme", None, "software_it", 45, "18000000", True, True, None),
    ("S2", "吉林微纳新材料有限公司", "sme", None, "industry", 120, "60000000", True, True, None),
    ("S3", "长春北斗时空信息技术有限公司", "sme", None, "software_it", 8, "3000000", True, True, None),
    ("S4", "光华医疗器械销售有限公司", "sme", None, "wholesale", 30, "20000000", True, True, "光华集团"),
    ("S5", "沈阳远航智能交通有限公司", "sme", None, "software_it", 60, "25000000", False, True, None),
    ("S6", "长春新创生物科技有限公司", "sme", None, "industry", 15, "2000000", True, False, None),
]


def _size_for(kind: str, industry: str | None, employees: int | None, revenue: str | None) -> str | None:
    if kind != "sme":
        return "large" if kind == "leading_firm" else None
    try:
        from market.domain.sme import classify

        return classify(industry, employees, Decimal(revenue) if revenue else None, None).size
    except ImportError:  # classification arrives with the organisations feature
        return "small"


def load(world) -> None:
    for n, (ref, name, kind, size, industry, employees, revenue, in_district, verified, group) in enumerate(
        DEMO_ORGS, start=1
    ):
        org = db.session.execute(select(Organisation).where(Organisation.ref == ref)).scalar_one_or_none()
        if org is None:
            org = Organisation(ref=ref, uscc=make_valid_uscc(900000 + n))
            db.session.add(org)
        org.name, org.kind, org.industry, org.employees = name, kind, industry, employees
        org.revenue_cny = Decimal(revenue) if revenue else None
        org.in_district = in_district
        org.size = size or _size_for(kind, industry, employees, revenue)
        org.size_source = ("declared" if size else "classified") if org.size else None
        org.verification_status = VerificationStatus.VERIFIED if verified else VerificationStatus.PENDING
        # when it was verified: the org page and the dashboard's monthly chart read it (verified on loading)
        org.verified_at = (org.verified_at or dt.datetime.now(dt.UTC)) if verified else None
        org.address = "吉林省长春市长春新区" if in_district else "辽宁省沈阳市"
        if group:
            g = db.session.execute(select(RelatedPartyGroup).where(RelatedPartyGroup.name == group)).scalar_one_or_none()
            if g is None:
                g = RelatedPartyGroup(name=group, basis="group")
                db.session.add(g)
            org.group = g
        world.orgs[ref] = org
    db.session.flush()
    world.summary.append(f"organisations: {len(DEMO_ORGS)}")
