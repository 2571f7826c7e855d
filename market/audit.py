"""record(): one audit entry per state change, added to the caller's transaction (never committed here)."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Any

from sqlalchemy import inspect as sa_inspect

from models.audit import AuditEntry

from .extensions import db


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in value]
    return value


def snapshot(obj: Any, exclude: tuple[str, ...] = ("password_hash",)) -> dict[str, Any]:
    """The column values of a model instance, JSON-ready, for `before`/`after`."""
    mapper = sa_inspect(obj).mapper
    return {
        col.key: _jsonable(getattr(obj, col.key))
        for col in mapper.column_attrs
        if col.key not in exclude
    }


def record(
    actor: Any,
    action: str,
    obj: Any = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    *,
    object_type: str | None = None,
    object_id: Any = None,
) -> AuditEntry:
    """Add an audit entry for ``action`` by ``actor`` (a User, or None/str for the system or CLI).

    Call it inside the service's transaction, after flushing so the object has its id.
    """
    # current_user and other werkzeug proxies: record the object behind them
    if hasattr(actor, "_get_current_object"):
        actor = actor._get_current_object()
    if hasattr(obj, "_get_current_object"):
        obj = obj._get_current_object()
    if obj is not None:
        db.session.flush()
        object_type = object_type or type(obj).__tablename__
        if object_id is None:
            object_id = getattr(obj, "ref", None) or getattr(obj, "id", None)
    if actor is None:
        actor_id, label = None, "system"
    elif isinstance(actor, str):
        actor_id, label = None, actor
    else:
        actor_id, label = actor.id, actor.email
    entry = AuditEntry(
        actor_id=actor_id,
        actor_label=label,
        action=action,
        object_type=object_type or "-",
        object_id=None if object_id is None else str(object_id),
        before=_jsonable(before) if before is not None else None,
        after=_jsonable(after) if after is not None else None,
    )
    db.session.add(entry)
    return entry
