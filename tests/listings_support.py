"""Shared helpers for the listings tests (plain functions; the fixtures come from tests/conftest.py)."""

from __future__ import annotations

from market.extensions import db
from market.listings import services
from models.users import Role

INSTRUMENT = {
    "title": "扫描电子显微镜（SEM）",
    "description": "场发射扫描电镜，配能谱仪。",
    "tags": "扫描电镜；SEM",
    "track": "smart_materials",
    "specs": "分辨率 0.8 nm",
    "location": "分析测试中心 105",
    "rate_cny_per_hour": "380.00",
    "rate_cny_per_day": "",
    "booking_rules": "提前两天预约",
    "operation": "self",
}
SCENARIO = {
    "title": "药物研发 AI 辅助筛选",
    "description": "需要虚拟筛选服务。",
    "tags": "人工智能；药物研发",
    "track": "digital_healthcare",
    "scenario_mode": "rd_collaboration",
    "budget_cny": "500000.00",
    "in_district_only": True,
    "requirements": "AUC ≥ 0.85",
}


def people(make_org, make_user, kind="university", verified=True):
    """A provider organisation with an org admin and a member, a reviewer, and an SME user."""
    org = make_org(kind=kind, verified=verified)
    return {
        "org": org,
        "admin": make_user(role=Role.ORG_ADMIN, org=org),
        "staff": make_user(role=Role.PROVIDER_MEMBER, org=org),
        "reviewer": make_user(role=Role.DISTRICT_REVIEWER),
        "sme": make_user(role=Role.SME_MEMBER),
    }


def published_instrument(p, raw=None):
    listing = services.create(p["staff"], "instrument", dict(raw or INSTRUMENT))
    services.submit(p["staff"], listing)
    services.review(p["reviewer"], listing, "publish")
    db.session.commit()  # a test helper is a boundary: what it builds is committed
    return listing
