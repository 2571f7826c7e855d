"""Deals: bids on scenarios, bookings of resources, data access applications, contracts.

``Contract`` is the hinge between a deal and the ledger: every award, approved booking and
approved data application becomes one, and payments against it become ledger entries.
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
    from .listings import Listing
    from .organisations import Organisation


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

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # ContractKind
    listing_id: Mapped[int | None] = mapped_column(ForeignKey("listing.id"), index=True)
    listing: Mapped[Listing | None] = relationship()
    payer_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    payer: Mapped[Organisation] = relationship(foreign_keys=[payer_id])
    payee_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    payee: Mapped[Organisation] = relationship(foreign_keys=[payee_id])
    title: Mapped[str] = mapped_column(String(200))
    amount_cny: Mapped[Decimal]
    payment_schedule: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(12), default=ContractStatus.DRAFT)
    payer_confirmed_at: Mapped[dt.datetime | None]
    payee_confirmed_at: Mapped[dt.datetime | None]
    signed_document_sha256: Mapped[str | None] = mapped_column(String(64))
    # where the deal came from: "bid", "booking" or "data_application", and its id
    source_type: Mapped[str | None] = mapped_column(String(20))
    source_id: Mapped[int | None]
    note: Mapped[str | None] = mapped_column(Text)
