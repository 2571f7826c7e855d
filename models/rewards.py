"""Admin-decided subsidy rewards (POLICY.md interpretation 7): art. 8 opener reward, art. 9 demonstration
project tiers, art. 13 public-data project awards.

A decision is never edited in place: it is recorded once (``decided``) and may later be revoked with a
reason (``revoked``: the revocation's own columns are filled, nothing else changes). The one-time rule
of art. 8 ("一次性奖励", once per firm, ever) is enforced by the service AND by a partial unique index:
one live (``decided``) ``art8_opener`` decision per organisation. A revoked decision was never awarded,
so it does not use up the firm's one reward. Likewise one live decision per art. 9 declaration.
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
    from .events import DemoDeclaration
    from .organisations import Organisation
    from .users import User


class RewardStatus(enum.StrEnum):
    DECIDED = "decided"
    REVOKED = "revoked"


OPENER_LIVE_SQL = "rule = 'art8_opener' AND status = 'decided'"
DECLARATION_LIVE_SQL = "declaration_id IS NOT NULL AND status = 'decided'"


class RewardDecision(Base):
    __tablename__ = "reward_decision"
    __table_args__ = (
        # art. 8: one one-time reward per firm, ever (a revoked decision was not awarded)
        Index("uq_reward_decision_opener_once", "organisation_id", unique=True,
              postgresql_where=text(OPENER_LIVE_SQL), sqlite_where=text(OPENER_LIVE_SQL)),
        # art. 9: one live tier decision per graded declaration
        Index("uq_reward_decision_declaration", "declaration_id", unique=True,
              postgresql_where=text(DECLARATION_LIVE_SQL), sqlite_where=text(DECLARATION_LIVE_SQL)),
        Index("ix_reward_decision_decided_on", "decided_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rule: Mapped[str] = mapped_column(String(20), index=True)  # art8_opener / art9_demo / art13_data
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    organisation: Mapped[Organisation] = relationship()
    declaration_id: Mapped[int | None] = mapped_column(ForeignKey("demo_declaration.id"))
    declaration: Mapped[DemoDeclaration | None] = relationship()
    project_title: Mapped[str | None] = mapped_column(String(200))
    tier: Mapped[str | None] = mapped_column(String(20))
    amount_cny: Mapped[Decimal]
    reason: Mapped[str] = mapped_column(Text)  # the reviewer's reason / performance evaluation
    evidence: Mapped[dict[str, Any]] = mapped_column(default=dict)  # what the reviewer saw (frozen)
    parameter_version: Mapped[str] = mapped_column(String(10))
    decided_on: Mapped[dt.date]  # Beijing calendar day of the decision: its year and parameter version
    decided_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    status: Mapped[str] = mapped_column(String(12), default=RewardStatus.DECIDED, index=True)
    revoked_at: Mapped[dt.datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    revoked_by: Mapped[User | None] = relationship(foreign_keys=[revoked_by_id])
    revocation_reason: Mapped[str | None] = mapped_column(Text)
