"""Helpers every deal service shares: locking, money parsing, party checks, status labels."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from flask_babel import gettext as _

from market.db import get_or_404
from market.domain import parties
from market.errors import NotFound, PermissionDenied, ValidationError
from market.extensions import db
from market.notifications.services import org_admins
from market.orgs.services import require_verified
from market.permissions import require
from models.users import User


def serialise_writes() -> None:
    """Make this transaction the database's only writer until it ends.

    SQLite has no row locks: ``BEGIN IMMEDIATE`` takes the write lock up front, so a check-then-insert
    (the booking overlap check) cannot interleave with another writer. pysqlite opens transactions
    lazily (only before DML), so at the start of a service no transaction is open yet. On PostgreSQL
    callers lock rows (``with_for_update``) and rely on constraints instead; this is a no-op there.
    """
    conn = db.session.connection()
    if conn.dialect.name != "sqlite":
        return
    raw = conn.connection.dbapi_connection
    if raw is not None and not raw.in_transaction:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def listing_of_kind(ref: str, kinds: Any, message: str):
    """The listing ``ref`` if it is one of ``kinds``; NotFound with ``message`` otherwise."""
    from models.listings import Listing

    listing = db.session.execute(db.select(Listing).where(Listing.ref == ref)).scalar_one_or_none()
    if listing is None or listing.kind not in kinds:
        raise NotFound(message)
    return listing


def get_for_update(model: type, obj_id: Any, message: str | None = None):
    """Load a row for a state change, locked against concurrent changes of the same row."""
    serialise_writes()
    stmt = db.select(model).where(model.id == obj_id)
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    obj = db.session.execute(stmt.execution_options(populate_existing=True)).scalar_one_or_none()
    if obj is None:
        raise NotFound(message or _("找不到该记录。"))
    return obj


def require_text(value: str | None, field: str, label: str, max_len: int = 5000) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError(_("请填写%(label)s。", label=label), field)
    if len(value) > max_len:
        raise ValidationError(_("%(label)s不能超过 %(n)d 个字符。", label=label, n=max_len), field)
    return value


def acting_org(user: Any):
    """The user's organisation, which must be verified to deal on the platform."""
    org = getattr(user, "organisation", None)
    require_verified(org)
    return org


def is_party(user: Any, *org_ids: int | None) -> bool:
    """The user's organisation is one of ``org_ids`` (the bidder, owner, renter or applicant)."""
    return parties.is_party(getattr(user, "organisation_id", None), *org_ids)


def get_for_parties(user: Any, model: type, obj_id: Any, sides: Callable[[Any], tuple[int | None, ...]],
                    not_found: str, refused: str) -> Any:
    """A deal record only its parties (``sides(record)``: the organisations on either side) and district
    staff may see: NotFound with ``not_found``, then the ``deals.view`` rule, then PermissionDenied."""
    obj = get_or_404(model, obj_id, not_found)
    require(user, "deals.view")
    if not (user.is_district_staff or is_party(user, *sides(obj))):
        raise PermissionDenied(refused)
    return obj


def admins_and_requester(org_id: int, requester_id: int | None) -> list[User]:
    """Who to tell about the answer to a request (bid, booking, data application): the organisation's
    admins and the member who made it, who is the one waiting (an engineer, not always an admin)."""
    users = org_admins(org_id)
    if requester_id is not None and all(u.id != requester_id for u in users):
        requester = db.session.get(User, requester_id)
        if requester is not None and requester.active and requester.organisation_id == org_id:
            users.append(requester)
    return users


def clock(now: dt.datetime | None = None) -> dt.datetime:
    """The moment a service acts at: the ``now`` its caller injected (tests, replays), else the real
    time. Every deals service takes ``now: dt.datetime | None = None``, as the ledger's do."""
    if now is not None and now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now or dt.datetime.now(dt.UTC)

