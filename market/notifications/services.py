"""notify(): an in-app notification and an email, both in the caller's transaction.

The email is an outbox row (``market.outbox``): it is sent by the drain after the commit, retried
if the mail server is down, and never reaches a user whose change was rolled back.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select

from market import textkeys
from market.extensions import db
from market.links import absolute
from models.notifications import Notification
from models.users import Role, User

from .mail import queue_mail


def notify(users: User | Iterable[User], kind: str, title: Any, body: Any = "", link: str | None = None) -> None:
    """Tell ``users`` about something waiting on them. ``link`` is a site-relative path (from
    ``market.links.path_for``); the email carries it absolute, on SITE_URL.

    ``title`` and ``body`` given as lazy ``_l("…%(x)s…", x=…)`` strings are stored as their msgid and
    parameters and shown in each reader's language (``market.textkeys``); the stored text and the
    mail are in the recipient's locale. Plain strings (user-written notes) are stored as they are.
    """
    if isinstance(users, User):
        users = [users]
    title_key, title_params = textkeys.freeze(title)
    body_key, body_params = textkeys.freeze(body)
    params = {"title": title_params or {}, "body": body_params or {}} if (title_key or body_key) else None
    for user in users:
        if not user.active:
            continue
        with _locale_of(user):
            title_text = textkeys.render(title_key, title_params, str(title))[:200]
            body_text = textkeys.render(body_key, body_params, str(body or ""))
        db.session.add(Notification(user_id=user.id, kind=kind, title=title_text, body=body_text, link=link,
                                    title_key=title_key, body_key=body_key, params=params))
        queue_mail(user.email, title_text, body_text + (f"\n\n{absolute(link)}" if link else ""))


def _locale_of(user: User):
    """The recipient's language for the stored text and the mail (the active one if unset)."""
    from flask import current_app
    from flask_babel import force_locale

    locale = user.locale if user.locale in current_app.config["LANGUAGES"] else None
    return force_locale(locale) if locale else contextlib.nullcontext()


def org_admins(org_id: int) -> list[User]:
    """Who to tell about an organisation: its org admins, or all its members if it has none."""
    members = list(db.session.execute(select(User).where(User.organisation_id == org_id, User.active)).scalars())
    admins = [u for u in members if u.role == Role.ORG_ADMIN]
    return admins or members


def district_staff(role: str | None = None) -> list[User]:
    roles = [role] if role else [Role.DISTRICT_REVIEWER, Role.DISTRICT_ADMIN]
    return list(db.session.execute(select(User).where(User.role.in_(roles), User.active)).scalars())


# ---------------------------------------------------------------- the notification centre


def unread_count(user: User) -> int:
    from sqlalchemy import func

    return db.session.execute(
        select(func.count()).select_from(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    ).scalar_one()


def unread_count_for_current_user() -> int:
    """For the navigation badge."""
    from flask_login import current_user

    if not getattr(current_user, "is_authenticated", False):
        return 0
    return unread_count(current_user)


def notifications_query(user: User, unread_only: bool = False):
    stmt = select(Notification).where(Notification.user_id == user.id)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    return stmt.order_by(Notification.created_at.desc(), Notification.id.desc())


def mark_read(user: User, notification_id: int | None = None) -> int:
    """Mark one of the user's notifications (or all of them) read; returns how many changed.

    Reading is the user's own UI state, not a change to shared records, so it is not audited.
    """
    from sqlalchemy import update

    from market.errors import NotFound
    from market.permissions import require
    from models.base import utcnow

    require(user, "notification.view_own")
    stmt = update(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    if notification_id is not None:
        note = db.session.get(Notification, notification_id)
        if note is None or note.user_id != user.id:  # someone else's: as if it did not exist
            from flask_babel import gettext as _

            raise NotFound(_("通知不存在。"))
        stmt = stmt.where(Notification.id == notification_id)
    changed = db.session.execute(stmt.values(read_at=utcnow())).rowcount
    db.session.flush()
    return changed
