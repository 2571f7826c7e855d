"""The district's work queues: how many items wait, and since when the oldest has waited.

Each queue is one COUNT/MIN query (the ledger's over a partial index, read without the table:
``count(*)``, not ``count(id)``). Features add theirs through :data:`QUEUE_HOOKS`: the subsidy
feature fills ``subsidy_claims`` (claims waiting for review) and ``subsidy_objections`` (objections
raised during 公示) with a function returning a :class:`Queue` (or None while it has nothing to say).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from market.extensions import db
from models.ledger import LedgerEntry
from models.listings import Listing, ListingRevision, ListingStatus, RevisionStatus
from models.organisations import Organisation, VerificationStatus

from . import cache


@dataclass
class Queue:
    key: str
    label: str
    count: int
    oldest: dt.datetime | None
    link: str


def _utc(moment):
    if moment is None or isinstance(moment, dt.datetime) and moment.tzinfo is not None:
        return moment
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment)
    return moment.replace(tzinfo=dt.UTC)


def _count_oldest(stmt) -> tuple[int, dt.datetime | None]:
    n, oldest = db.session.execute(stmt).one()
    return int(n or 0), _utc(oldest)


def verifications() -> Queue:
    n, oldest = _count_oldest(select(func.count(Organisation.id), func.min(Organisation.created_at))
                              .where(Organisation.verification_status == VerificationStatus.PENDING))
    return Queue("verifications", _("待核验机构"), n, oldest, "/orgs/review")


def moderation() -> Queue:
    n1, o1 = _count_oldest(select(func.count(Listing.id), func.min(Listing.submitted_at))
                           .where(Listing.status == ListingStatus.SUBMITTED))
    n2, o2 = _count_oldest(select(func.count(ListingRevision.id), func.min(ListingRevision.created_at))
                           .where(ListingRevision.status == RevisionStatus.PENDING))
    oldest = min((o for o in (o1, o2) if o is not None), default=None)
    return Queue("moderation", _("待审核资源（含修改）"), n1 + n2, oldest, "/listings/review")


def disputes() -> Queue:
    n, oldest = cache.cached("queue.disputes", lambda: _count_oldest(
        select(func.count(), func.min(LedgerEntry.disputed_at)).where(
            LedgerEntry.disputed_at.is_not(None), LedgerEntry.dispute_resolved_at.is_(None))))
    return Queue("disputes", _("台账异议"), n, oldest, "/dashboard/district/ledger?disputed=1")


def unconfirmed() -> Queue:
    n, oldest = cache.cached("queue.unconfirmed", lambda: _count_oldest(
        select(func.count(), func.min(LedgerEntry.recorded_at)).where(
            or_(LedgerEntry.payer_confirmed_at.is_(None), LedgerEntry.payee_confirmed_at.is_(None)))))
    return Queue("unconfirmed", _("未确认的台账记录"), n, oldest, "/dashboard/district/ledger?status=incomplete")


# name -> function; None = a hook still to be filled by its feature (shown as nothing)
QUEUE_HOOKS: dict[str, Callable[[], Queue | None] | None] = {
    "verifications": verifications,
    "moderation": moderation,
    "disputes": disputes,
    "unconfirmed": unconfirmed,
    "subsidy_claims": None,  # the subsidy feature: claims waiting for review
    "subsidy_objections": None,  # the subsidy feature: objections raised during 公示
}


def register(name: str, fn: Callable[[], Queue | None]) -> None:
    """For features: fill a hook (``subsidy_claims``, ``subsidy_objections``) or add a queue."""
    QUEUE_HOOKS[name] = fn


def district_queues() -> list[Queue]:
    out = []
    for fn in QUEUE_HOOKS.values():
        if fn is not None:
            q = fn()
            if q is not None:
                out.append(q)
    return out
