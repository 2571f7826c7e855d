"""Authentication services: one transaction per call, audited."""

from __future__ import annotations

import datetime as dt

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from market.audit import record
from market.errors import ValidationError
from market.extensions import db
from models.base import utcnow
from models.users import User

from .passwords import verify_password


def find_user_by_email(email: str) -> User | None:
    return db.session.execute(select(User).where(User.email == email.strip().lower())).scalar_one_or_none()


def authenticate(email: str, password: str) -> User:
    """Check credentials; throttle after repeated failures. Raises ValidationError with one vague message."""
    bad = ValidationError(_("邮箱或密码不正确。"), "password")
    user = find_user_by_email(email)
    now = utcnow()
    if user is None:
        raise bad
    if user.locked_until and user.locked_until > now:
        minutes = int((user.locked_until - now).total_seconds() // 60) + 1
        raise ValidationError(_("登录失败次数过多，请在 %(m)d 分钟后再试。", m=minutes), "password")
    if not user.active:
        raise ValidationError(_("此账号已停用，请联系管理员。"), "email")
    if not verify_password(user.password_hash, password):
        user.failed_logins += 1
        if user.failed_logins >= current_app.config["LOGIN_MAX_FAILURES"]:
            user.locked_until = now + dt.timedelta(minutes=current_app.config["LOGIN_LOCK_MINUTES"])
            user.failed_logins = 0
            record(user, "auth.locked", user, after={"locked_until": user.locked_until})
        db.session.commit()
        raise bad
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    record(user, "auth.login", user)
    db.session.commit()
    return user
