"""Deals: bids on scenarios, bookings of resources, data access applications, contracts.

``Contract`` is the hinge between a deal and the ledger: every award, approved booking and
approved data application becomes one, and payments against it become ledger entries.

Two bookings of one resource never overlap. The guarantee lives in the database: on PostgreSQL an
exclusion constraint over ``tstzrange(start_at, end_at)`` per listing among active bookings
(created by the DDL listener at the bottom, so ``create_all`` has it too); on SQLite the booking
service serialises writers (``BEGIN IMMEDIATE``) before its overlap check.
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import DDL, ForeignKey, Index, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, TimestampMixin, utcnow

if TYPE_CHECKING:
    from .listings import Listing
    from .organisations import Organisation
    from .users import User


class ContractKind(enum.StrEnum):
    RENTAL = "rental"  # art. 7
    SCENARIO_CONTRACT = "scenario_contract"  # art. 8
    DATA_ACCESS = "data_access"  # art. 13


class ContractStatus(enum.StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"  # both parties confirmed
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class Contract(TimestampMixin, Base):
    __tablename__ = "contract"
    __table_args__ = (Index("ix_contract_created_at", "created_at"),)  # district lists, KPIs by month

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # ContractKind
    listing_id: Mapped[int | None] = mapped_column(ForeignKey("listing.id"), index=True)
    listing: Mapped[Listing | None] = relationship()
    payer_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    payer: Mapped[Organisation] = relationship(foreign_keys=[payer_id])
    payee_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    payee: Mapped[Organisation] = relationship(foreign_keys=[payee_id])
    title: Mapped[str] = mapped_column(String(200))  # in the creator's language (exports, old rows)
    # the untranslated msgid and parameters of a generated title, rendered in the reader's language
    title_key: Mapped[str | None] = mapped_column(String(200))
    title_params: Mapped[dict[str, Any] | None]
    amount_cny: Mapped[Decimal]
    # [{"due": "2027-03-01", "amount_cny": "60000.00", "note": "首付款"}, ...]
    payment_schedule: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(12), default=ContractStatus.DRAFT)
    payer_confirmed_at: Mapped[dt.datetime | None]
    payee_confirmed_at: Mapped[dt.datetime | None]
    payer_confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    payee_confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    signed_document_sha256: Mapped[str | None] = mapped_column(String(64))
    signed_document_filename: Mapped[str | None] = mapped_column(String(255))
    # where the deal came from: "bid", "booking" or "data_application", and its id
    source_type: Mapped[str | None] = mapped_column(String(20))
    source_id: Mapped[int | None]
    note: Mapped[str | None] = mapped_column(Text)

    @property
    def display_title(self) -> str:
        from market.textkeys import render

        return render(self.title_key, self.title_params, self.title)

    @property
    def title_text(self) -> Any:
        """The title as a generated-text parameter (translated where it is shown)."""
        from market.textkeys import keyed

        return keyed(self.title_key, self.title_params, self.title)


# ---------------------------------------------------------------- bids (揭榜, art. 8)
class BidStatus(enum.StrEnum):
    SUBMITTED = "submitted"
    SHORTLISTED = "shortlisted"
    AWARDED = "awarded"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


OPEN_BID_STATUSES = frozenset({BidStatus.SUBMITTED, BidStatus.SHORTLISTED})


class Bid(TimestampMixin, Base):
    """An SME's proposal on a scenario."""

    __tablename__ = "bid"
    __table_args__ = (Index("ix_bid_submitted_at", "submitted_at"),)  # district lists, KPIs by month

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listing.id"), index=True)
    listing: Mapped[Listing] = relationship()
    bidder_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    bidder: Mapped[Organisation] = relationship()
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    submitted_by: Mapped[User | None] = relationship()
    approach: Mapped[str] = mapped_column(Text)
    price_cny: Mapped[Decimal]
    timeline: Mapped[str] = mapped_column(Text)
    # [{"sha256", "filename", "size"}], files in the evidence store
    attachments: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(12), default=BidStatus.SUBMITTED, index=True)
    submitted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    revision: Mapped[int] = mapped_column(default=1)
    decided_at: Mapped[dt.datetime | None]
    decline_reason: Mapped[str | None] = mapped_column(Text)
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contract.id"))
    contract: Mapped[Contract | None] = relationship()

    messages: Mapped[list[BidMessage]] = relationship(
        back_populates="bid", order_by="BidMessage.id", cascade="all, delete-orphan"
    )

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_BID_STATUSES


class BidMessage(Base):
    """One message of the question thread between the scenario owner and a bidder."""

    __tablename__ = "bid_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bid.id"), index=True)
    bid: Mapped[Bid] = relationship(back_populates="messages")
    author_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    author: Mapped[User] = relationship()
    author_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("bid_message.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


# ---------------------------------------------------------------- bookings (art. 7)
class ResourceAvailability(TimestampMixin, Base):
    """When a rentable resource may be booked; edited by its provider."""

    __tablename__ = "resource_availability"

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listing.id"), unique=True)
    listing: Mapped[Listing] = relationship()
    # weekday (0 = Monday, Asia/Shanghai) -> ["09:00-12:00", "13:00-18:00"]
    opening_hours: Mapped[dict[str, Any]] = mapped_column(default=dict)
    min_hours: Mapped[Decimal] = mapped_column(default=Decimal("1"))
    max_hours: Mapped[Decimal] = mapped_column(default=Decimal("8"))
    lead_time_hours: Mapped[int] = mapped_column(default=24)
    free_cancel_hours: Mapped[int] = mapped_column(default=24)
    max_horizon_days: Mapped[int] = mapped_column(default=90, server_default="90")  # the farthest day one may book
    slot_minutes: Mapped[int] = mapped_column(default=60, server_default="60")  # bookings start and last on this grid
    blocks: Mapped[list[BlockedPeriod]] = relationship(
        back_populates="availability", order_by="BlockedPeriod.start_at", cascade="all, delete-orphan"
    )


class BlockedPeriod(Base):
    __tablename__ = "blocked_period"

    id: Mapped[int] = mapped_column(primary_key=True)
    availability_id: Mapped[int] = mapped_column(ForeignKey("resource_availability.id"), index=True)
    availability: Mapped[ResourceAvailability] = relationship(back_populates="blocks")
    start_at: Mapped[dt.datetime]
    end_at: Mapped[dt.datetime]
    reason: Mapped[str] = mapped_column(String(200))


class BookingStatus(enum.StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    COMPLETED = "completed"  # usage checked in
    NO_SHOW = "no_show"  # slot released, counted against the renter


# Bookings in these states hold their slot (the exclusion constraint's WHERE clause).
ACTIVE_BOOKING_STATUSES = (BookingStatus.REQUESTED, BookingStatus.APPROVED, BookingStatus.COMPLETED)


class Booking(TimestampMixin, Base):
    __tablename__ = "booking"
    __table_args__ = (Index("ix_booking_start_at", "start_at"), Index("ix_booking_created_at", "created_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listing.id"), index=True)
    listing: Mapped[Listing] = relationship()
    renter_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    renter: Mapped[Organisation] = relationship()
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    requested_by: Mapped[User | None] = relationship()
    start_at: Mapped[dt.datetime]
    end_at: Mapped[dt.datetime]
    purpose: Mapped[str] = mapped_column(Text)
    sample_description: Mapped[str] = mapped_column(Text)
    operator_needed: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(12), default=BookingStatus.REQUESTED, index=True)
    rate_cny_per_hour: Mapped[Decimal]  # the rate when requested
    decided_at: Mapped[dt.datetime | None]
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    cancelled_at: Mapped[dt.datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    actual_hours: Mapped[Decimal | None]
    checked_in_at: Mapped[dt.datetime | None]
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contract.id"))
    contract: Mapped[Contract | None] = relationship()

    @property
    def hours(self) -> Decimal:
        seconds = Decimal(int((self.end_at - self.start_at).total_seconds()))
        return (seconds / Decimal(3600)).quantize(Decimal("0.01"))

    @property
    def amount_cny(self) -> Decimal:
        return (self.hours * self.rate_cny_per_hour).quantize(Decimal("0.01"))

    @property
    def billed_cny(self) -> Decimal:
        """What the renter pays: the hours actually used once recorded (the contract is corrected to it), else booked."""
        hours = self.actual_hours if self.actual_hours is not None else self.hours
        return (hours * self.rate_cny_per_hour).quantize(Decimal("0.01"))


_active_sql = ", ".join(f"'{s.value}'" for s in ACTIVE_BOOKING_STATUSES)
event.listen(
    Booking.__table__,
    "before_create",
    DDL("CREATE EXTENSION IF NOT EXISTS btree_gist").execute_if(dialect="postgresql"),
)
event.listen(
    Booking.__table__,
    "after_create",
    DDL(
        "ALTER TABLE booking ADD CONSTRAINT booking_no_overlap EXCLUDE USING gist "
        "(listing_id WITH =, tstzrange(start_at, end_at) WITH &&) "
        f"WHERE (status IN ({_active_sql}))"
    ).execute_if(dialect="postgresql"),
)
BOOKING_OVERLAP_CONSTRAINT = "booking_no_overlap"


# ---------------------------------------------------------------- data access (art. 7, 13)
class DataAccessMode(enum.StrEnum):
    FRANCHISE = "franchise"  # 特许开发 (art. 13)
    AUTHORISED = "authorised"  # 授权应用 (art. 13)
    USE = "use"  # 数据库使用 (art. 7)


class DataApplicationStatus(enum.StrEnum):
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class DataApplication(TimestampMixin, Base):
    __tablename__ = "data_application"
    __table_args__ = (Index("ix_data_application_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listing.id"), index=True)
    listing: Mapped[Listing] = relationship()
    applicant_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    applicant: Mapped[Organisation] = relationship()
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    purpose: Mapped[str] = mapped_column(Text)
    fields: Mapped[list[Any]] = mapped_column(default=list)  # the data fields asked for
    period_start: Mapped[dt.date]
    period_end: Mapped[dt.date]
    mode: Mapped[str] = mapped_column(String(20))  # DataAccessMode
    status: Mapped[str] = mapped_column(String(12), default=DataApplicationStatus.SUBMITTED, index=True)
    decided_at: Mapped[dt.datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    conditions: Mapped[str | None] = mapped_column(Text)  # approval with conditions
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    valid_from: Mapped[dt.date | None]
    valid_until: Mapped[dt.date | None]
    fee_cny: Mapped[Decimal | None]
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contract.id"))
    contract: Mapped[Contract | None] = relationship()

    def is_valid_on(self, day: dt.date) -> bool:
        return (
            self.status == DataApplicationStatus.APPROVED
            and self.valid_from is not None
            and self.valid_until is not None
            and self.valid_from <= day <= self.valid_until
        )
