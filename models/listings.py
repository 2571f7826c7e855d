"""Listings: what organisations open to SMEs (POLICY.md art. 7, 8, 13).

One table for every kind; kind-specific fields are nullable columns, so search, moderation and the
ledger treat all listings alike.
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, TimestampMixin, utcnow

if TYPE_CHECKING:
    from .organisations import Organisation
    from .users import User


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


class ScenarioMode(enum.StrEnum):  # art. 8
    CROWDSOURCING = "crowdsourcing"  # 任务众包
    RD_COLLABORATION = "rd_collaboration"  # 研发协作
    SPACE_CARRIER = "space_carrier"  # 开放空间载体


class Operation(enum.StrEnum):  # how a rentable resource is run
    STAFF = "staff"  # 专人操作（机时服务）
    SELF = "self"  # 培训后自主上机


class DataDomain(enum.StrEnum):  # art. 13: catalogues compiled first for these four
    CREDIT = "credit"  # 信用
    HEALTHCARE = "healthcare"  # 医疗
    EDUCATION = "education"  # 教育
    TRANSPORT = "transport"  # 交通
    OTHER = "other"


class OpenMode(enum.StrEnum):
    UNCONDITIONAL = "unconditional"  # 无条件开放
    CONDITIONAL = "conditional"  # 有条件开放


class Listing(TimestampMixin, Base):
    __tablename__ = "listing"
    __table_args__ = (Index("ix_listing_published_at", "published_at"),)  # KPIs by month (issue 13)

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)  # ListingKind
    owner_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    owner: Mapped[Organisation] = relationship()
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)  # Markdown source
    # the description rendered and sanitised (nh3) when saved; pages show this, never render per request
    description_html: Mapped[str] = mapped_column(Text, default="")
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
    rate_cny_per_day: Mapped[Decimal | None]

    # database / public data (art. 7, 13)
    open_mode: Mapped[str | None] = mapped_column(String(20))  # OpenMode
    data_domain: Mapped[str | None] = mapped_column(String(20))  # credit/healthcare/education/transport

    # anything else kind-specific (specs, booking rules, fields, licence...)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)

    # moderation
    submitted_at: Mapped[dt.datetime | None]
    review_comment: Mapped[str | None] = mapped_column(Text)  # the reviewer's reason for a return
    closed_at: Mapped[dt.datetime | None]

    attachments: Mapped[list[ListingAttachment]] = relationship(
        back_populates="listing", cascade="all, delete-orphan", order_by="ListingAttachment.id"
    )
    revisions: Mapped[list[ListingRevision]] = relationship(
        back_populates="listing", cascade="all, delete-orphan", order_by="ListingRevision.id"
    )

    @property
    def is_public(self) -> bool:
        return self.status == ListingStatus.PUBLISHED

    @property
    def pending_revision(self) -> ListingRevision | None:
        for rev in reversed(self.revisions):
            if rev.status in (RevisionStatus.PENDING, RevisionStatus.RETURNED):
                return rev
        return None

    def __repr__(self) -> str:
        return f"<Listing {self.ref} {self.kind} {self.status}>"


class RevisionStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for a reviewer
    RETURNED = "returned"  # the reviewer sent it back; the owner may edit it again
    APPROVED = "approved"  # applied to the listing
    WITHDRAWN = "withdrawn"  # the owner dropped it


class ListingRevision(Base):
    """An edit to a published listing, held for review while the published version stays live."""

    __tablename__ = "listing_revision"
    __table_args__ = (Index("ix_listing_revision_listing_status", "listing_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listing.id"))
    listing: Mapped[Listing] = relationship(back_populates="revisions")
    status: Mapped[str] = mapped_column(String(12), default=RevisionStatus.PENDING, index=True)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)  # the proposed editable fields, JSON-ready
    description_html: Mapped[str | None] = mapped_column(Text)  # the proposed description, rendered when saved
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[dt.datetime | None]
    comment: Mapped[str | None] = mapped_column(Text)


class ListingAttachment(Base):
    """A file (spec sheet, data dictionary, licence terms) kept in the evidence store by SHA-256.

    Files added to a published listing wait for review like any other edit: ``published`` turns
    true, and ``remove_requested`` files go, when a reviewer approves.
    """

    __tablename__ = "listing_attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listing.id"), index=True)
    listing: Mapped[Listing] = relationship(back_populates="attachments")
    sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(255))
    size: Mapped[int]
    file_kind: Mapped[str] = mapped_column(String(10))  # pdf/png/jpg
    published: Mapped[bool] = mapped_column(default=False)
    remove_requested: Mapped[bool] = mapped_column(default=False)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    uploaded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
