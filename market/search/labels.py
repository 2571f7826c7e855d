"""Facet values: Chinese words put into the index (so 中试基地 or 数字医疗 are searchable) and
display labels for pages (translatable)."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l

from market.listings import fields as listing_fields

# Indexed as text (plain Chinese, independent of the user's language).
KIND_WORDS = {
    "scenario": "开放场景 场景",
    "instrument": "科研仪器 仪器设备",
    "facility": "实验设施 实验平台",
    "pilot_base": "中试小试基地 中试基地",
    "database": "数据库",
    "public_data": "公共数据开放清单 公共数据",
}
TRACK_WORDS = {
    "digital_healthcare": "数字医疗 数字健康",
    "medical_devices": "医疗器械",
    "satellite_internet": "卫星互联网",
    "intelligent_manufacturing": "智能制造",
    "smart_materials": "新材料 智能材料",
    "digital_government": "数字政务",
    "smart_transport": "智慧交通",
    "smart_security": "智慧安防",
    "smart_environment": "智慧环保",
    "other": "",
}
DOMAIN_WORDS = {"credit": "信用", "healthcare": "医疗", "education": "教育", "transport": "交通"}
OPEN_MODE_WORDS = {"unconditional": "无条件开放", "conditional": "有条件开放"}

# The pages' words for kinds and tracks are the listings' (the policy's names: 新型智能材料, 智能交通, 公共数据开放清单),
# so a filter reads as the listing it filters; what is indexed above stays as it was.
KIND_LABELS = {str(k): v for k, v in listing_fields.KIND_LABELS.items()}
TRACK_LABELS = {str(k): v for k, v in listing_fields.TRACK_LABELS.items()}
OWNER_KIND_LABELS = {
    "leading_firm": _l("龙头企业"),
    "university": _l("高校"),
    "institute": _l("科研院所"),
    "government": _l("政府部门"),
    "sme": _l("中小微企业"),
    "other": _l("其他机构"),
}
OPEN_MODE_LABELS = {"unconditional": _l("无条件开放"), "conditional": _l("有条件开放")}

# Price bands: scenarios by budget, rentable resources by hourly rate (POLICY.md art. 7, 8).
PRICE_BANDS = [
    ("budget_lt100k", "scenario", Decimal("0"), Decimal("100000"), _l("预算 10 万元以下")),
    ("budget_100k_500k", "scenario", Decimal("100000"), Decimal("500000"), _l("预算 10–50 万元")),
    ("budget_500k_2m", "scenario", Decimal("500000"), Decimal("2000000"), _l("预算 50–200 万元")),
    ("budget_ge2m", "scenario", Decimal("2000000"), None, _l("预算 200 万元以上")),
    ("rate_lt200", "rate", Decimal("0"), Decimal("200"), _l("每小时 200 元以下")),
    ("rate_200_500", "rate", Decimal("200"), Decimal("500"), _l("每小时 200–500 元")),
    ("rate_500_1000", "rate", Decimal("500"), Decimal("1000"), _l("每小时 500–1000 元")),
    ("rate_ge1000", "rate", Decimal("1000"), None, _l("每小时 1000 元以上")),
]
PRICE_LABELS = {band: label for band, _k, _lo, _hi, label in PRICE_BANDS}
PRICE_LABELS["none"] = _l("未标价")


def price_band(kind: str, price: Decimal | None) -> str:
    if price is None:
        return "none"
    family = "scenario" if kind == "scenario" else "rate"
    for band, fam, lo, hi, _label in PRICE_BANDS:
        if fam == family and price >= lo and (hi is None or price < hi):
            return band
    return "none"


FACETS = {
    "kind": KIND_LABELS,
    "track": TRACK_LABELS,
    "owner_kind": OWNER_KIND_LABELS,
    "price": PRICE_LABELS,
    "open_mode": OPEN_MODE_LABELS,
}
FACET_TITLES = {
    "kind": _l("资源类型"),
    "track": _l("产业赛道"),
    "owner_kind": _l("提供方类型"),
    "price": _l("价格区间"),
    "open_mode": _l("开放方式"),
}
# facet name -> index field
FACET_FIELDS = {"kind": "kind", "track": "track", "owner_kind": "owner_kind", "price": "price_band", "open_mode": "open_mode"}
