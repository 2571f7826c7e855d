"""Loading one row by primary key for a service: NotFound (HTTP 404 at the edge) when it is missing."""

from __future__ import annotations

from typing import Any, TypeVar

from flask_babel import gettext as _

from .errors import NotFound
from .extensions import db

T = TypeVar("T")


def get_or_404(model: type[T], obj_id: Any, message: str | None = None) -> T:
    """The ``model`` row with primary key ``obj_id``; NotFound with ``message`` if there is none (or no id)."""
    obj = db.session.get(model, obj_id) if obj_id is not None else None
    if obj is None:
        raise NotFound(message or _("找不到该记录。"))
    return obj
