"""Organisations: who everyone is, as the subsidy rules need it (POLICY.md, interpretation 4)."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, Index, String, Text, event, inspect
from sqlalchemy.orm import Mapped, Session, mapped_column, object_session, relationship

from .base import Base, TimestampMixin, utcnow

if TYPE_CHECKING:
    from .users import User


class OrgKind(enum.StrEnum):
    LEADING_FIRM = "leading_firm"  # 龙头企业
    UNIVERSITY = "university"  # 高校
    INSTITUTE = "institute"  # 科研院所
    GOVERNMENT = "government"  # 政府部门
    SME = "sme"  # 中小微企业
    OTHER = "other"


class OrgSize(enum.StrEnum):
    LARGE = "large"
    MEDIUM = "medium"
    SMALL = "small"
    MICRO = "micro"


class VerificationStatus(enum.StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"


class RelatedPartyGroup(Base):
    """Organisations in one group are related parties: deals among them earn no subsidy."""

    __tablename__ = "related_party_group"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    basis: Mapped[str] = mapped_column(String(40), default="declared")  # group/shareholding/declared
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    members: Mapped[list[Organisation]] = relationship(back_populates="group")


class Organisation(TimestampMixin, Base):
    __tablename__ = "organisation"
    __table_args__ = (Index("ix_organisation_created_at", "created_at"), Index("ix_organisation_verified_at", "verified_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str | None] = mapped_column(String(64), unique=True)  # importer's stable key
    name: Mapped[str] = mapped_column(String(200))
    english_name: Mapped[str | None] = mapped_column(String(200))
    uscc: Mapped[str] = mapped_column(String(18), unique=True)  # 统一社会信用代码
    kind: Mapped[str] = mapped_column(String(20), index=True)  # OrgKind
    address: Mapped[str | None] = mapped_column(String(300))
    in_district: Mapped[bool] = mapped_column(default=False)

    industry: Mapped[str | None] = mapped_column(String(40))  # code from POLICY.md's SME table
    employees: Mapped[int | None]
    revenue_cny: Mapped[Decimal | None]
    assets_cny: Mapped[Decimal | None]
    size: Mapped[str | None] = mapped_column(String(10))  # OrgSize
    size_assessed_on: Mapped[dt.date | None]
    size_source: Mapped[str | None] = mapped_column(String(20))  # classified/declared/override
    size_override_reason: Mapped[str | None] = mapped_column(Text)

    group_id: Mapped[int | None] = mapped_column(ForeignKey("related_party_group.id"))
    group: Mapped[RelatedPartyGroup | None] = relationship(back_populates="members")

    verification_status: Mapped[str] = mapped_column(
        String(12), default=VerificationStatus.PENDING, index=True
    )
    verified_at: Mapped[dt.datetime | None]
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    licence_sha256: Mapped[str | None] = mapped_column(String(64))  # 营业执照, in the evidence store
    licence_filename: Mapped[str | None] = mapped_column(String(255))

    users: Mapped[list[User]] = relationship(back_populates="organisation")
    external_subsidies: Mapped[list[ExternalSubsidy]] = relationship(
        back_populates="organisation", cascade="all, delete-orphan", order_by="ExternalSubsidy.id"
    )
    facts_history: Mapped[list[OrganisationFacts]] = relationship(
        back_populates="organisation", cascade="all, delete-orphan", order_by="OrganisationFacts.valid_from"
    )
    events: Mapped[list[OrganisationEvent]] = relationship(
        back_populates="organisation",
        cascade="all, delete-orphan",
        order_by="OrganisationEvent.id",
    )

    @property
    def is_verified(self) -> bool:
        return self.verification_status == VerificationStatus.VERIFIED

    @property
    def is_sme(self) -> bool:
        return self.kind == OrgKind.SME

    def __repr__(self) -> str:
        return f"<Organisation {self.ref or self.id} {self.name}>"


class ExternalSubsidy(Base):
    """A subsidy the organisation declares it received under another policy (closing clause)."""

    __tablename__ = "external_subsidy"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    organisation: Mapped[Organisation] = relationship(back_populates="external_subsidies")
    rule: Mapped[str] = mapped_column(String(40))  # e.g. art7_renter
    year: Mapped[int]
    amount_cny: Mapped[Decimal]
    source: Mapped[str] = mapped_column(String(200))  # e.g. 省级创新券
    item: Mapped[str | None] = mapped_column(String(200))
    # where it was declared: "import" (``orgs import``, whose file is the truth for these rows) or "claim"
    # (with a subsidy claim, which owns it: a later import that does not list it leaves it alone)
    declared_in: Mapped[str] = mapped_column(String(20), default="import", server_default="import")


class OrganisationEvent(Base):
    """Verification and size history, shown on the admin detail page."""

    __tablename__ = "organisation_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    organisation: Mapped[Organisation] = relationship(back_populates="events")
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    actor: Mapped[User | None] = relationship()
    action: Mapped[str] = mapped_column(String(40))  # registered/verified/rejected/size_override...
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class OrganisationFacts(Base):
    """One period of the facts eligibility depends on (kind, size, in district, verified, group).

    Rows are written by :func:`_record_fact_changes` whenever any of those columns changes, through any
    code path (forms, imports, admin overrides), so "what was this firm on 2026-03-05" has one answer
    (``market.domain.orgfacts``). The open period has ``valid_to`` NULL.
    """

    __tablename__ = "organisation_facts"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    organisation: Mapped[Organisation] = relationship(back_populates="facts_history")
    valid_from: Mapped[dt.datetime]
    valid_to: Mapped[dt.datetime | None]
    kind: Mapped[str] = mapped_column(String(20))
    size: Mapped[str | None] = mapped_column(String(10))
    in_district: Mapped[bool]
    verified: Mapped[bool]
    group_id: Mapped[int | None] = mapped_column(ForeignKey("related_party_group.id"))
    group: Mapped[RelatedPartyGroup | None] = relationship()

    def values(self) -> tuple[Any, ...]:
        return (self.kind, self.size, self.in_district, self.verified, self.group)


FACT_COLUMNS = ("kind", "size", "in_district", "verification_status", "group_id")


def current_facts(org: Organisation) -> tuple[Any, ...]:
    group = org.group
    if group is None and org.group_id is not None:  # the group set by its id: the relationship not loaded yet
        session = object_session(org)
        with session.no_autoflush:  # type: ignore[union-attr]
            group = session.get(RelatedPartyGroup, org.group_id)  # type: ignore[union-attr]
    return (org.kind, org.size, bool(org.in_district), org.verification_status == VerificationStatus.VERIFIED, group)


@event.listens_for(Session, "before_flush")
def _record_fact_changes(session: Session, flush_context: Any, instances: Any) -> None:
    """Close the open period and open a new one when an organisation's facts change."""
    now = session.info.get("clock", utcnow)()
    for org in list(session.new) + list(session.dirty):
        if not isinstance(org, Organisation):
            continue
        if org in session.dirty and not any(inspect(org).attrs[c].history.has_changes() for c in (*FACT_COLUMNS, "group")):
            continue
        values = current_facts(org)
        open_period = next((f for f in reversed(org.facts_history) if f.valid_to is None), None)
        if open_period is not None:
            if open_period.values() == values:
                continue
            open_period.valid_to = now
        kind, size, in_district, verified, group = values
        org.facts_history.append(OrganisationFacts(
            valid_from=now, kind=kind, size=size, in_district=in_district, verified=verified, group=group,
        ))
