"""Bearer tokens for the API. Only a token's SHA-256 is stored; a revoked token is refused at once."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import secrets
from collections.abc import Callable
from typing import Any

from flask import request
from flask_babel import gettext as _
from flask_smorest import abort
from sqlalchemy import select

from market.extensions import db
from market.permissions import can
from models.base import utcnow
from models.users import ApiToken, User

TOKEN_PREFIX = "ccxq_"
_CACHE_KEY = "market.api_user"
LAST_USED_PRECISION = dt.timedelta(minutes=1)


def new_token_secret() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def current_api_user() -> User | None:
    """The user of the request's bearer token, or None without one. Aborts 401 on a bad token."""
    # cached per request (not on g: an app context can outlive a request, e.g. in tests)
    if _CACHE_KEY in request.environ:
        return request.environ[_CACHE_KEY]
    header = request.headers.get("Authorization", "")
    user = None
    if header:
        scheme, _sep, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            abort(401, message=_("请使用 Bearer 令牌。"))
        token = db.session.execute(
            select(ApiToken).where(ApiToken.token_sha256 == token_digest(secret.strip()))
        ).scalar_one_or_none()
        if token is None or token.revoked_at is not None or not token.user.active:
            abort(401, message=_("令牌无效或已被撤销。"))
        now = utcnow()
        # "last used" is shown to the token's owner; minute precision spares a write per request
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_PRECISION:
            token.last_used_at = now
            db.session.commit()
        user = token.user
    request.environ[_CACHE_KEY] = user
    return user


def token_required(action: str | None = None) -> Callable:
    """Require a valid bearer token (and, if given, permission for ``action``)."""

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            user = current_api_user()
            if user is None:
                abort(401, message=_("需要 API 令牌。"))
            if action is not None and not can(user, action):
                abort(403, message=_("您没有执行此操作的权限。"))
            return view(*args, **kwargs)

        wrapped.required_action = action or "token"  # type: ignore[attr-defined]
        return wrapped

    return decorate
