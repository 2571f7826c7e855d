"""Helpers for the edge: the permission decorator, pagination, domain errors shown on forms, and the
transaction boundary (``commit()``: services flush, the view, endpoint, CLI command or job commits)."""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import abort, flash, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.routing import IntegerConverter

from .errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationError, ValidationErrors
from .extensions import db, login_manager
from .permissions import rule_for

PUBLIC = "public"
log = logging.getLogger("market.web")


def commit() -> None:
    """The boundary's one commit: what the services of this request, command or job flushed is saved
    together, or nothing is. A constraint that only fails here (a concurrent writer got there first)
    is a 409 Conflict with a generic message, never a 500; the session is rolled back.

    Services never call this: they ``db.session.flush()`` and raise domain errors (DEVELOPING.md).
    """
    try:
        db.session.commit()
    except IntegrityError as err:
        db.session.rollback()
        log.warning("commit refused by a constraint: %s", err.orig)
        raise Conflict(_("数据已被其他操作修改，未能保存。请刷新后重试。")) from err


def rollback() -> None:
    """Drop whatever this request flushed: after a domain error nothing half-done stays in the session."""
    db.session.rollback()


def discard_uncommitted(exc: BaseException | None = None) -> None:
    """``teardown_request``: work a view did not commit is dropped at the end of the request.

    In production the session ends with the app context anyway; tests share one app context across
    requests, and this makes a view that forgot ``commit()`` fail there as it would in production.
    """
    db.session.rollback()


def permission_required(action: str) -> Callable:
    """Guard a view with an action from permissions.RULES: the role check. Services check the object.

    The action is kept on the view so the role x route matrix test can walk every route.
    ``permission_required(PUBLIC)`` marks a deliberately public route.
    """
    if action != PUBLIC:
        rule_for(action)  # fail at import time on a typo

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if action != PUBLIC:
                if not current_user.is_authenticated:
                    return login_manager.unauthorized()
                if current_user.role not in rule_for(action).roles:
                    abort(403)
            return view(*args, **kwargs)

        wrapped.required_action = action  # type: ignore[attr-defined]
        return wrapped

    return decorate


@dataclass
class Page:
    items: list[Any]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


MAX_PAGE = 100_000  # far beyond any list; keeps OFFSET inside a 64-bit integer
MAX_ID = 2**31 - 1  # PostgreSQL INTEGER, the type of every primary key


class BoundedIntConverter(IntegerConverter):
    """``<int:...>`` that only matches ids a primary key can hold: /orgs/99999999999999999999 is a
    404 here, in one place, instead of an overflow in SQLite or PostgreSQL (issue 8, item 9)."""

    def __init__(self, map: Any, *args: Any, max: int | None = MAX_ID, **kwargs: Any) -> None:  # noqa: A002
        super().__init__(map, *args, max=max, **kwargs)


def query_args(**overrides: Any) -> dict[str, Any]:
    """The current query string as ``url_for`` keywords, with ``overrides``: only plain parameters.

    ``url_for(endpoint, **request.args)`` turned ``?endpoint=x`` into a TypeError and ``?_method=POST``
    into a BuildError (issue 8); names ``url_for`` reserves and the route's own arguments are left out.
    """
    reserved = set(request.view_args or ()) | {"endpoint", "values"}
    out: dict[str, Any] = {
        key: values if len(values) > 1 else values[0]
        for key, values in request.args.lists()
        if not key.startswith("_") and key not in reserved
    }
    out.update(overrides)
    return out


def refuse_nul_bytes() -> None:
    """``before_request``: a NUL character in the path, the query or a form field is a 400.

    PostgreSQL text cannot hold NUL (psycopg raises DataError: a 500); no real input contains one.
    """
    values = [request.path, *request.args.keys(), *request.args.values()]
    if request.method in ("POST", "PUT", "PATCH") and request.mimetype in (
        "application/x-www-form-urlencoded", "multipart/form-data",
    ):
        values += [*request.form.keys(), *request.form.values()]
    if any("\x00" in v for v in values):
        raise DomainError(_("请求中含有不允许的控制字符（NUL）。"))  # 400


def paginate(stmt: Select, page: int = 1, per_page: int = 20, scalars: bool = True) -> Page:
    page = max(1, page)
    if page > MAX_PAGE:
        raise NotFound(_("页码超出范围。"))
    total = db.session.execute(select(func.count()).select_from(stmt.order_by(None).subquery())).scalar_one()
    q = stmt.limit(per_page).offset((page - 1) * per_page)
    rows = db.session.execute(q)
    items = list(rows.scalars() if scalars else rows)
    return Page(items=items, page=page, per_page=per_page, total=total)


def run_service(fn: Callable[..., Any], *args: Any, form: Any = None, ok: str | None = None,
                **kwargs: Any) -> tuple[Any, bool]:
    """A view's call of one service, committed once (the view's boundary): ``(result, True)``, with ``ok``
    flashed; on a domain error (a late conflict at commit included) rolled back and shown on ``form``'s
    field or as a flash message: ``(None, False)``. 403/404 go on to the error handler, which rolls back."""
    try:
        result = fn(*args, **kwargs)
        commit()
    except (NotFound, PermissionDenied):
        raise
    except DomainError as err:
        if form is not None:
            apply_domain_error(form, err)
        else:
            rollback()
            flash(err.message, "danger")
        return None, False
    if ok:
        flash(ok, "success")
    return result, True


def apply_domain_error(form: Any, err: DomainError) -> None:
    """Show a service's error on the form field it names, or as a flash message.

    Rolls the session back first: the form is re-rendered from a clean state, never with rows a
    service flushed before it failed."""
    rollback()
    if isinstance(err, ValidationErrors):
        for problem in err.problems:
            _apply_validation_error(form, problem)
        return
    _apply_validation_error(form, err)


def _apply_validation_error(form: Any, err: DomainError) -> None:
    if isinstance(err, ValidationError) and err.field and hasattr(form, err.field):
        getattr(form, err.field).errors.append(err.message)
    else:
        flash(err.message, "danger")
