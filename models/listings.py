"""Listings: what organisations open to SMEs (POLICY.md art. 7, 8, 13).

One table for every kind; kind-specific fields are nullable columns, so search, moderation and the
ledger treat all listings alike.
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, TimestampMixin

if TYPE_CHECKING:
    from .organisations import Organisation


class ListingKind(enum.StrEnum):
    SCENARIO = "scenario"  # 开放场景 (art. 8)
    INSTRUMENT = "instrument"  # 科研仪器 (art. 7)
    FACILITY = "facility"  # 实验设施 (art. 7)
    PILOT_BASE = "pilot_base"  # 中试小试基地 (art. 7)
    DATABASE = "database"  # 数据库 (art. 7)
    PUBLIC_DATA = "public_data"  # 公共数据开放清单 (art. 13)


RENTABLE_KINDS = frozenset({ListingKind.INSTRUMENT, ListingKind.FACILITY, ListingKind.PILOT_BASE})
DATA_KINDS = frozenset({ListingKind.DATABASE, ListingKind.PUBLIC_DATA})


class ListingStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    PUBLISHED = "published"
    RETURNED = "returned"
    CLOSED = "closed"
    ARCHIVED = "archived"


class Track(enum.StrEnum):
    DIGITAL_HEALTHCARE = "digital_healthcare"
    MEDICAL_DEVICES = "medical_devices"
    SATELLITE_INTERNET = "satellite_internet"
    INTELLIGENT_MANUFACTURING = "intelligent_manufacturing"
    SMART_MATERIALS = "smart_materials"
    DIGITAL_GOVERNMENT = "digital_government"
    SMART_TRANSPORT = "smart_transport"
    SMART_SECURITY = "smart_security"
    SMART_ENVIRONMENT = "smart_environment"
    OTHER = "other"


class OpenMode(enum.StrEnum):
    UNCONDITIONAL = "unconditional"  # 无条件开放
    CONDITIONAL = "conditional"  # 有条件开放


class Listing(TimestampMixin, Base):
    __tablename__ = "listing"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)  # ListingKind
    owner_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    owner: Mapped[Organisation] = relationship()
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)  # Markdown, sanitised with nh3 when shown
    tags: Mapped[list[Any]] = mapped_column(default=list)
    track: Mapped[str] = mapped_column(String(40), default=Track.OTHER, index=True)
    status: Mapped[str] = mapped_column(String(12), default=ListingStatus.DRAFT, index=True)
    published_at: Mapped[dt.datetime | None]
    view_count: Mapped[int] = mapped_column(default=0)

    # scenario (开放场景, art. 8)
    scenario_mode: Mapped[str | None] = mapped_column(String(20))  # crowdsourcing/rd/space
    budget_cny: Mapped[Decimal | None]
    deadline: Mapped[dt.datetime | None]
    in_district_only: Mapped[bool] = mapped_column(default=False)

    # instrument / facility / pilot base (art. 7)
    rate_cny_per_hour: Mapped[Decimal | None]

    # database / public data (art. 7, 13)
    open_mode: Mapped[str | None] = mapped_column(String(20))  # OpenMode
    data_domain: Mapped[str | None] = mapped_column(String(20))  # credit/healthcare/education/transport

    # anything else kind-specific (specs, booking rules, fields, licence...)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)

    @property
    def is_public(self) -> bool:
        return self.status == ListingStatus.PUBLISHED
