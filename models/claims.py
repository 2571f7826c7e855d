"""Subsidy claims (申报), their review, the public notice (公示) with objections, the award list and
its payments (issue 10, POLICY.md art. 7, 8 and the closing clause).

A claim freezes the engine's result at filing (``snapshot``); later ledger changes are shown as a
difference, never applied. One live claim per (organisation, year, rule): a partial unique index
over the claims that are neither rejected nor withdrawn (re-filing after a rejection is allowed).
Payments are append-only; their total never exceeds the approved amount (checked by the service
under a row lock on the claim).
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow

if TYPE_CHECKING:
    from .organisations import Organisation
    from .users import User


class ClaimStatus(enum.StrEnum):
    FILED = "filed"
    APPROVED = "approved"
    REJECTED = "rejected"
    IN_NOTICE = "in_notice"
    NOTICED = "noticed"
    FINALISED = "finalised"
    PAID = "paid"
    WITHDRAWN = "withdrawn"


class NoticeStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class ObjectionStatus(enum.StrEnum):
    OPEN = "open"
    UPHELD = "upheld"
    DISMISSED = "dismissed"


# a claim in one of these no longer blocks filing again for its (organisation, year, rule)
DEAD_STATUSES = (ClaimStatus.REJECTED, ClaimStatus.WITHDRAWN)
_LIVE = "status NOT IN ('rejected', 'withdrawn')"


class PublicNotice(Base):
    """A 公示 of a year's approved claims: public page, objection period ``starts_at``..``ends_at``."""

    __tablename__ = "public_notice"

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(index=True)
    title: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[dt.datetime]
    ends_at: Mapped[dt.datetime] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(20), default=NoticeStatus.OPEN, index=True)
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    opened_by: Mapped[User | None] = relationship()
    closed_at: Mapped[dt.datetime | None]

    claims: Mapped[list[SubsidyClaim]] = relationship(back_populates="notice", order_by="SubsidyClaim.id")
    objections: Mapped[list[ClaimObjection]] = relationship(back_populates="notice", order_by="ClaimObjection.id")


class AwardList(Base):
    """A year's finalised award list (one per finalisation): the noticed claims without open objections."""

    __tablename__ = "award_list"

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(index=True)
    finalised_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    finalised_by: Mapped[User | None] = relationship()
    finalised_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    claims: Mapped[list[SubsidyClaim]] = relationship(back_populates="award_list", order_by="SubsidyClaim.id")

    def totals(self) -> dict[str, Decimal]:
        """The sums of the list's computed, approved and paid amounts (its total row)."""
        zero = Decimal("0.00")
        return {"computed_cny": sum((c.computed_cny for c in self.claims), zero),
                "approved_cny": sum((c.approved_cny or zero for c in self.claims), zero),
                "paid_cny": sum((c.paid_cny for c in self.claims), zero)}


class SubsidyClaim(Base):
    __tablename__ = "subsidy_claim"
    __table_args__ = (
        Index("uq_subsidy_claim_live", "organisation_id", "year", "rule", unique=True,
              sqlite_where=text(_LIVE), postgresql_where=text(_LIVE)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    organisation: Mapped[Organisation] = relationship()
    year: Mapped[int] = mapped_column(index=True)  # Beijing calendar year
    rule: Mapped[str] = mapped_column(String(40))  # art7_provider / art7_renter / art8_supplier
    status: Mapped[str] = mapped_column(String(20), default=ClaimStatus.FILED, index=True)
    computed_cny: Mapped[Decimal]  # the engine's amount, frozen at filing
    approved_cny: Mapped[Decimal | None]
    decision_reason: Mapped[str | None] = mapped_column(Text)
    snapshot: Mapped[dict[str, Any]] = mapped_column(default=dict)
    declaration: Mapped[dict[str, Any]] = mapped_column(default=dict)
    filed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    filed_by: Mapped[User | None] = relationship(foreign_keys=[filed_by_id])
    filed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    decided_at: Mapped[dt.datetime | None]
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("public_notice.id"), index=True)
    notice: Mapped[PublicNotice | None] = relationship(back_populates="claims")
    award_list_id: Mapped[int | None] = mapped_column(ForeignKey("award_list.id"), index=True)
    award_list: Mapped[AwardList | None] = relationship(back_populates="claims")

    objections: Mapped[list[ClaimObjection]] = relationship(back_populates="claim", order_by="ClaimObjection.id")
    payments: Mapped[list[AwardPayment]] = relationship(back_populates="claim", order_by="AwardPayment.id")

    @property
    def paid_cny(self) -> Decimal:
        return sum((p.amount_cny for p in self.payments), Decimal("0.00"))


class ClaimObjection(Base):
    """An objection filed during a notice period; a reviewer upholds (the claim goes back to review)
    or dismisses it, with a resolution."""

    __tablename__ = "claim_objection"

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("public_notice.id"), index=True)
    notice: Mapped[PublicNotice] = relationship(back_populates="objections")
    claim_id: Mapped[int] = mapped_column(ForeignKey("subsidy_claim.id"), index=True)
    claim: Mapped[SubsidyClaim] = relationship(back_populates="objections")
    filed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    filed_by: Mapped[User | None] = relationship(foreign_keys=[filed_by_id])
    text: Mapped[str] = mapped_column(Text)
    filed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(20), default=ObjectionStatus.OPEN, index=True)
    resolution: Mapped[str | None] = mapped_column(Text)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    resolved_by: Mapped[User | None] = relationship(foreign_keys=[resolved_by_id])
    resolved_at: Mapped[dt.datetime | None]


class AwardPayment(Base):
    """One payment of an award (append-only)."""

    __tablename__ = "award_payment"

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("subsidy_claim.id"), index=True)
    claim: Mapped[SubsidyClaim] = relationship(back_populates="payments")
    amount_cny: Mapped[Decimal]
    paid_on: Mapped[dt.date]
    reference: Mapped[str] = mapped_column(String(100))  # bank voucher number
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    recorded_by: Mapped[User | None] = relationship()
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
