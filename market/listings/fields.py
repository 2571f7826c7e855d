"""What a listing is made of, and the one checking path shared by forms, imports and revisions.

A listing's *editable data* is a plain dict: the common fields (title, description, tags, track)
plus the fields of its kind. ``clean(kind, raw)`` turns raw input (form strings, import cells,
revision JSON) into typed values or raises :class:`ListingInvalid` with every field error.
``read(listing)`` / ``apply(listing, data)`` move that dict in and out of the model, and
``to_json`` / ``from_json`` keep it in a revision row.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import event

from market import dates, imports
from market.errors import ValidationError
from market.listings import markup
from models.listings import (
    DATA_KINDS,
    RENTABLE_KINDS,
    DataDomain,
    Listing,
    ListingKind,
    ListingStatus,
    OpenMode,
    Operation,
    ScenarioMode,
    Track,
)
from models.organisations import OrgKind

K = ListingKind

# Who may own each kind (CONTRACT.md, from POLICY.md art. 7, 8 and 13).
OWNER_KINDS: dict[str, frozenset[str]] = {
    K.SCENARIO: frozenset(OrgKind) - {OrgKind.SME},  # art. 8 (and art. 9 for government)
    K.INSTRUMENT: frozenset({OrgKind.UNIVERSITY, OrgKind.INSTITUTE, OrgKind.LEADING_FIRM, OrgKind.OTHER}),  # art. 7
    K.FACILITY: frozenset({OrgKind.UNIVERSITY, OrgKind.INSTITUTE, OrgKind.LEADING_FIRM, OrgKind.OTHER}),  # art. 7
    K.PILOT_BASE: frozenset({OrgKind.UNIVERSITY, OrgKind.INSTITUTE, OrgKind.LEADING_FIRM, OrgKind.OTHER}),  # art. 7
    K.DATABASE: frozenset(OrgKind) - {OrgKind.SME},  # art. 7
    K.PUBLIC_DATA: frozenset({OrgKind.GOVERNMENT}),  # art. 13
}

KIND_LABELS = {
    K.SCENARIO: _l("开放场景"),
    K.INSTRUMENT: _l("科研仪器"),
    K.FACILITY: _l("实验设施"),
    K.PILOT_BASE: _l("中试小试基地"),
    K.DATABASE: _l("数据库"),
    K.PUBLIC_DATA: _l("公共数据开放清单"),
}
TRACK_LABELS = {
    Track.DIGITAL_HEALTHCARE: _l("数字医疗"),
    Track.MEDICAL_DEVICES: _l("创新医疗器械"),
    Track.SATELLITE_INTERNET: _l("卫星互联网"),
    Track.INTELLIGENT_MANUFACTURING: _l("智能制造"),
    Track.SMART_MATERIALS: _l("新型智能材料"),
    Track.DIGITAL_GOVERNMENT: _l("数字政务"),
    Track.SMART_TRANSPORT: _l("智能交通"),
    Track.SMART_SECURITY: _l("智能安防"),
    Track.SMART_ENVIRONMENT: _l("智慧环保"),
    Track.OTHER: _l("其他"),
}
STATUS_LABELS = {
    ListingStatus.DRAFT: _l("草稿"),
    ListingStatus.SUBMITTED: _l("待审核"),
    ListingStatus.PUBLISHED: _l("已发布"),
    ListingStatus.RETURNED: _l("已退回"),
    ListingStatus.CLOSED: _l("已关闭"),
    ListingStatus.ARCHIVED: _l("已归档"),
}
MODE_LABELS = {
    ScenarioMode.CROWDSOURCING: _l("任务众包"),
    ScenarioMode.RD_COLLABORATION: _l("研发协作"),
    ScenarioMode.SPACE_CARRIER: _l("开放空间载体"),
}
OPERATION_LABELS = {Operation.STAFF: _l("专人操作"), Operation.SELF: _l("培训后自主操作")}
DOMAIN_LABELS = {
    DataDomain.CREDIT: _l("信用"),
    DataDomain.HEALTHCARE: _l("医疗"),
    DataDomain.EDUCATION: _l("教育"),
    DataDomain.TRANSPORT: _l("交通"),
    DataDomain.OTHER: _l("其他"),
}
OPEN_MODE_LABELS = {OpenMode.UNCONDITIONAL: _l("无条件开放"), OpenMode.CONDITIONAL: _l("有条件开放")}

COMMON = ("title", "description", "tags", "track")
KIND_FIELDS: dict[str, tuple[str, ...]] = {
    K.SCENARIO: ("scenario_mode", "budget_cny", "deadline", "in_district_only", "requirements", "deliverables"),
    **{
        k: ("specs", "location", "rate_cny_per_hour", "rate_cny_per_day", "booking_rules", "operation")
        for k in RENTABLE_KINDS
    },
    **{
        k: ("data_domain", "open_mode", "fields", "update_frequency", "licence", "franchise_terms", "authorised_terms")
        for k in DATA_KINDS
    },
}
COLUMNS = frozenset({
    "title", "description", "tags", "track", "scenario_mode", "budget_cny", "deadline",
    "in_district_only", "rate_cny_per_hour", "rate_cny_per_day", "data_domain", "open_mode",
})  # everything else lives in Listing.details
MONEY_FIELDS = frozenset({"budget_cny", "rate_cny_per_hour", "rate_cny_per_day"})
LONG_TEXT = frozenset({"requirements", "deliverables", "specs", "booking_rules", "licence", "franchise_terms", "authorised_terms"})
MAX_DESCRIPTION = 20000
MAX_LONG_TEXT = 5000
MAX_TAGS = 20
MAX_TAG_LEN = 40


@event.listens_for(Listing.description, "set")
def _render_on_set(target: Listing, value: str | None, _old: object, _initiator: object) -> None:
    """Every path that sets a description (forms, importer, revisions, demo) stores its HTML too:
    rendered once here, shown from ``description_html`` ever after (issue 8)."""
    target.description_html = markup.render(value)


def field_names(kind: str) -> tuple[str, ...]:
    return COMMON + KIND_FIELDS[kind]


class ListingInvalid(ValidationError):
    """Every field error of one submission; the first one is the message."""

    def __init__(self, errors: list[imports.FieldError]):
        first = errors[0]
        super().__init__(first.message, first.field)
        self.errors = errors


def clean(kind: str, raw: dict[str, Any]) -> dict[str, Any]:
    """Check ``raw`` for a listing of ``kind`` and return its typed editable data."""
    if kind not in KIND_FIELDS:
        raise ListingInvalid([imports.FieldError("kind", _("不是有效的条目类型。"))])
    errors: list[imports.FieldError] = []
    out: dict[str, Any] = {}

    def take(name: str, parse) -> None:
        try:
            out[name] = parse()
        except imports.FieldError as err:
            errors.append(err)

    take("title", lambda: imports.text(raw, "title", required=True, max_len=200))
    take("description", lambda: _description(raw))
    take("tags", lambda: _tags(raw))
    take("track", lambda: imports.choice(raw, "track", frozenset(Track), default=Track.OTHER))
    for name in KIND_FIELDS[kind]:
        if name in MONEY_FIELDS:
            take(name, lambda n=name: imports.money(raw, n))
        elif name == "deadline":
            take(name, lambda: _deadline(raw))
        elif name == "in_district_only":
            take(name, lambda: imports.boolean(raw, "in_district_only"))
        elif name == "scenario_mode":
            take(name, lambda: imports.choice(raw, "scenario_mode", frozenset(ScenarioMode)))
        elif name == "operation":
            take(name, lambda: imports.choice(raw, "operation", frozenset(Operation)))
        elif name == "data_domain":
            take(name, lambda: imports.choice(raw, "data_domain", frozenset(DataDomain)))
        elif name == "open_mode":
            take(name, lambda: imports.choice(raw, "open_mode", frozenset(OpenMode), default=OpenMode.CONDITIONAL))
        elif name == "fields":
            take(name, lambda: imports.string_list(raw, "fields"))
        else:
            limit = MAX_LONG_TEXT if name in LONG_TEXT else 200
            take(name, lambda n=name, m=limit: imports.text(raw, n, max_len=m))
    if errors:
        raise ListingInvalid(errors)
    return out


def _description(raw: dict[str, Any]) -> str | None:
    value = imports.text(raw, "description", required=True, max_len=MAX_DESCRIPTION)
    try:
        markup.check(value)  # bounded nesting: refused here, so every save path refuses it
    except markup.MarkupTooComplex as err:
        raise imports.FieldError("description", err.message) from None
    return value


def _tags(raw: dict[str, Any]) -> list[str]:
    tags: list[str] = []
    for tag in imports.string_list(raw, "tags"):
        if len(tag) > MAX_TAG_LEN:
            raise imports.FieldError("tags", _("每个标签不能超过 %(n)d 个字符。", n=MAX_TAG_LEN))
        if tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise imports.FieldError("tags", _("标签不能超过 %(n)d 个。", n=MAX_TAGS))
    return tags


def _deadline(raw: dict[str, Any]) -> dt.datetime | None:
    value = raw.get("deadline")
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise imports.FieldError("deadline", _("时间必须带时区。"))
        if not dates.in_window(value):  # year 0001/9999 overflow in the conversion (issue 8)
            raise imports.FieldError("deadline", dates.window_message())
        return value.astimezone(dt.UTC)
    return imports.aware_time(raw, "deadline")


# ---------------------------------------------------------------- model <-> data
def read(listing: Listing) -> dict[str, Any]:
    """The listing's current editable data, typed."""
    details = listing.details or {}
    out: dict[str, Any] = {}
    for name in field_names(listing.kind):
        value = getattr(listing, name) if name in COLUMNS else details.get(name)
        if name in ("tags", "fields"):
            value = list(value or [])
        elif name == "in_district_only":
            value = bool(value)
        out[name] = value
    return out


def apply(listing: Listing, data: dict[str, Any]) -> None:
    details = dict(listing.details or {})
    for name in field_names(listing.kind):
        if name not in data:
            continue
        if name in COLUMNS:
            setattr(listing, name, data[name])  # a description is rendered as it is set (markup.py)
        elif data[name] in (None, "", []):
            details.pop(name, None)
        else:
            details[name] = data[name]
    listing.details = details


def to_json(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in data.items():
        if isinstance(value, Decimal):
            value = f"{value:.2f}"
        elif isinstance(value, dt.datetime):
            value = value.astimezone(dt.UTC).isoformat()
        out[name] = value
    return out


def from_json(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    return clean(kind, data)


def same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Equal editable data (money compared as amounts, times as instants)."""
    return to_json(a) == to_json(b)


FIELD_LABELS = {
    "title": _l("标题"),
    "description": _l("详细介绍"),
    "tags": _l("标签"),
    "track": _l("产业赛道"),
    "scenario_mode": _l("开放方式"),
    "budget_cny": _l("预算（元）"),
    "deadline": _l("截止时间"),
    "in_district_only": _l("仅限新区内企业"),
    "requirements": _l("需求与技术要求"),
    "deliverables": _l("交付成果"),
    "specs": _l("主要技术指标"),
    "location": _l("所在地点"),
    "rate_cny_per_hour": _l("机时收费（元/小时）"),
    "rate_cny_per_day": _l("按天收费（元/天）"),
    "booking_rules": _l("预约规则"),
    "operation": _l("使用方式"),
    "data_domain": _l("数据领域"),
    "open_mode": _l("开放方式"),
    "fields": _l("数据字段"),
    "update_frequency": _l("更新频率"),
    "licence": _l("使用许可"),
    "franchise_terms": _l("特许开发条款"),
    "authorised_terms": _l("授权应用条款"),
}
CHOICE_LABELS = {
    "track": TRACK_LABELS,
    "scenario_mode": MODE_LABELS,
    "operation": OPERATION_LABELS,
    "data_domain": DOMAIN_LABELS,
    "open_mode": OPEN_MODE_LABELS,
}
