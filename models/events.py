"""Thematic scenario matchmaking events (专题场景对接会, POLICY.md art. 8, 9; issue 11).

An event has a slot grid; leading firms attach published scenarios; SMEs register with their
interests and availability; both sides request 1:1 meetings; ``matching.agenda`` places the
accepted ones into slots and tables; meetings get outcomes that link to bids, contracts and
ledger entries. Idempotence of the scheduler is enforced here, by unique constraints: one event
per plan key (``2027-Q1``), one reminder per (event, organisation, kind).
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import Float, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow

if TYPE_CHECKING:
    from .listings import Listing
    from .organisations import Organisation


class EventStatus(enum.StrEnum):
    PLANNED = "planned"
    CALL_FOR_SCENARIOS = "call_for_scenarios"
    REGISTRATION = "registration"
    REQUESTS = "requests"
    AGENDA_PUBLISHED = "agenda_published"
    HELD = "held"
    CLOSED = "closed"


class RequestStatus(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"


class OutcomeResult(enum.StrEnum):
    NO_SHOW = "no_show"
    TALKED = "talked"
    FOLLOW_UP = "follow_up"
    BID = "bid"
    CONTRACT = "contract"


class DeclarationStatus(enum.StrEnum):
    SUBMITTED = "submitted"
    GRADED = "graded"
    HANDED_OFF = "handed_off"  # waiting for the subsidy engine's admin decision (art. 9)
    DECIDED = "decided"  # the subsidy engine recorded the tier decision (market/subsidies/rewards.py)


class Event(Base):
    __tablename__ = "event"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_key: Mapped[str | None] = mapped_column(String(20), unique=True)  # "2027-Q1": one per plan entry
    track: Mapped[str] = mapped_column(String(40), index=True)  # models.listings.Track
    title: Mapped[str] = mapped_column(String(200))
    venue: Mapped[str] = mapped_column(String(200))
    event_date: Mapped[dt.date]
    status: Mapped[str] = mapped_column(String(20), default=EventStatus.PLANNED, index=True)
    target_scenarios: Mapped[int] = mapped_column(default=20)
    tables: Mapped[int] = mapped_column(default=30)  # tables per slot
    max_meetings: Mapped[int] = mapped_column(default=8)  # per participant
    registration_opens_on: Mapped[dt.date | None]
    registration_closes_on: Mapped[dt.date | None]
    agenda_due_on: Mapped[dt.date | None]
    # the computed agenda (matching.agenda)
    agenda_total: Mapped[float | None] = mapped_column(Float)
    agenda_bound: Mapped[float | None] = mapped_column(Float)
    agenda_optimal: Mapped[bool | None]
    agenda_greedy_total: Mapped[float | None] = mapped_column(Float)
    agenda_method: Mapped[str | None] = mapped_column(String(20))
    agenda_computed_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    slots: Mapped[list[EventSlot]] = relationship(
        back_populates="event", cascade="all, delete-orphan", order_by="EventSlot.position"
    )
    scenarios: Mapped[list[EventScenario]] = relationship(
        back_populates="event", cascade="all, delete-orphan", order_by="EventScenario.id"
    )
    registrations: Mapped[list[Registration]] = relationship(
        back_populates="event", cascade="all, delete-orphan", order_by="Registration.id"
    )

    @property
    def year(self) -> int:
        return self.event_date.year


class EventSlot(Base):
    __tablename__ = "event_slot"
    __table_args__ = (UniqueConstraint("event_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id"), index=True)
    event: Mapped[Event] = relationship(back_populates="slots")
    position: Mapped[int]
    start_at: Mapped[dt.datetime]
    end_at: Mapped[dt.datetime]


class EventScenario(Base):
    """A published scenario a leading firm attached to the event (art. 9: 20+ per event)."""

    __tablename__ = "event_scenario"
    __table_args__ = (UniqueConstraint("event_id", "listing_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id"), index=True)
    event: Mapped[Event] = relationship(back_populates="scenarios")
    listing_id: Mapped[int] = mapped_column(ForeignKey("listing.id"), index=True)
    listing: Mapped[Listing] = relationship()
    attached_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    attached_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Registration(Base):
    """A participant: an SME that registered, or an owner whose scenario is attached."""

    __tablename__ = "event_registration"
    __table_args__ = (UniqueConstraint("event_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id"), index=True)
    event: Mapped[Event] = relationship(back_populates="registrations")
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    organisation: Mapped[Organisation] = relationship()
    side: Mapped[str] = mapped_column(String(10))  # "sme" | "owner"
    interests: Mapped[list[Any]] = mapped_column(default=list)  # listing ids (SMEs)
    available_slots: Mapped[list[Any]] = mapped_column(default=list)  # EventSlot ids
    checkin_code: Mapped[str] = mapped_column(String(32), unique=True)
    registered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class CheckIn(Base):
    __tablename__ = "event_checkin"

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("event_registration.id"), unique=True)
    registration: Mapped[Registration] = relationship()
    checked_in_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))


class MeetingRequest(Base):
    """A request for a 1:1 meeting; the pair (low id, high id) is unique per event, either direction."""

    __tablename__ = "meeting_request"
    __table_args__ = (UniqueConstraint("event_id", "pair_low", "pair_high"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id"), index=True)
    event: Mapped[Event] = relationship()
    from_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    from_org: Mapped[Organisation] = relationship(foreign_keys=[from_org_id])
    to_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    to_org: Mapped[Organisation] = relationship(foreign_keys=[to_org_id])
    pair_low: Mapped[int]
    pair_high: Mapped[int]
    listing_id: Mapped[int | None] = mapped_column(ForeignKey("listing.id"))
    listing: Mapped[Listing | None] = relationship()
    priority: Mapped[int] = mapped_column(default=2)  # 1 low .. 3 high
    message: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default=RequestStatus.PENDING, index=True)
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    weight_detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[dt.datetime | None]


class Meeting(Base):
    __tablename__ = "event_meeting"
    __table_args__ = (UniqueConstraint("slot_id", "table_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id"), index=True)
    event: Mapped[Event] = relationship()
    request_id: Mapped[int] = mapped_column(ForeignKey("meeting_request.id"), unique=True)
    request: Mapped[MeetingRequest] = relationship()
    slot_id: Mapped[int] = mapped_column(ForeignKey("event_slot.id"), index=True)
    slot: Mapped[EventSlot] = relationship()
    table_no: Mapped[int]
    outcome: Mapped[Outcome | None] = relationship(back_populates="meeting", uselist=False)


class Outcome(Base):
    __tablename__ = "event_outcome"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("event_meeting.id"), unique=True)
    meeting: Mapped[Meeting] = relationship(back_populates="outcome")
    result: Mapped[str] = mapped_column(String(12))  # OutcomeResult
    bid_id: Mapped[int | None] = mapped_column(ForeignKey("bid.id"))
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contract.id"))
    ledger_entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entry.id"))
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class EventReminder(Base):
    """One reminder per (event, organisation, kind): the scheduler may run twice, mail goes once."""

    __tablename__ = "event_reminder"
    __table_args__ = (UniqueConstraint("event_id", "organisation_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    kind: Mapped[str] = mapped_column(String(30))
    sent_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class DemoDeclaration(Base):
    """An art. 9 demonstration project declared from an event outcome or a scenario, graded on four
    criteria, with a tier proposal handed to the subsidy engine's admin decision."""

    __tablename__ = "demo_declaration"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    organisation: Mapped[Organisation] = relationship()
    outcome_id: Mapped[int | None] = mapped_column(ForeignKey("event_outcome.id"))
    outcome: Mapped[Outcome | None] = relationship()
    listing_id: Mapped[int | None] = mapped_column(ForeignKey("listing.id"))
    listing: Mapped[Listing | None] = relationship()
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default=DeclarationStatus.SUBMITTED, index=True)
    scores: Mapped[dict[str, Any]] = mapped_column(default=dict)  # criterion -> 0..max
    total_score: Mapped[int | None]
    proposed_tier: Mapped[str | None] = mapped_column(String(20))
    proposed_amount_cny: Mapped[Decimal | None]
    review_comment: Mapped[str | None] = mapped_column(Text)
    declared_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    graded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    graded_at: Mapped[dt.datetime | None]
    handed_off_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
