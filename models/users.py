"""Accounts and roles. A user belongs to one organisation; district staff belong to the district's own."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, TimestampMixin, utcnow

if TYPE_CHECKING:
    from .organisations import Organisation


class Role(enum.StrEnum):
    SME_MEMBER = "sme_member"
    PROVIDER_MEMBER = "provider_member"  # leading firm / university / institute / government staff
    ORG_ADMIN = "org_admin"  # manages their own organisation's members and listings
    DISTRICT_REVIEWER = "district_reviewer"  # verifies, moderates, reviews claims
    DISTRICT_ADMIN = "district_admin"  # everything, incl. events and subsidy decisions


DISTRICT_ROLES = frozenset({Role.DISTRICT_REVIEWER, Role.DISTRICT_ADMIN})


class User(TimestampMixin, Base):
    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower-case
    name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20), index=True)  # Role
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    organisation: Mapped[Organisation | None] = relationship(back_populates="users")
    active: Mapped[bool] = mapped_column(default=True)
    locale: Mapped[str | None] = mapped_column(String(10))
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[dt.datetime | None]
    last_login_at: Mapped[dt.datetime | None]
    password_changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Bumped by logout, password change or reset and deactivation: every session and remember-me cookie
    # carries the version it was issued for (get_id), and one of an older version no longer logs in.
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    # When the user proved the e-mail is theirs. NULL only for a self-registered organisation's first
    # user who has not opened the confirmation link yet: such an account cannot log in (issue 8).
    # Accounts made any other way (invitations, CLI, import) are confirmed when created.
    email_confirmed_at: Mapped[dt.datetime | None] = mapped_column(default=utcnow)

    # Flask-Login protocol, kept here so models need no Flask import.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def is_district_staff(self) -> bool:
        return self.role in DISTRICT_ROLES


class ApiToken(Base):
    """Bearer token for /api/v1. Only the SHA-256 of the secret is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    user: Mapped[User] = relationship()
    name: Mapped[str] = mapped_column(String(100))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))  # shown in the UI to tell tokens apart
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]
