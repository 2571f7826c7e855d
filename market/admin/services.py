"""Reading the audit log: filters and a readable before/after diff."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select

from market.domain.localtime import day_start
from models.audit import AuditEntry


def audit_query(
    actor: str | None = None,
    action: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> Select:
    """Entries newest first. Dates are calendar days in Asia/Shanghai, both ends inclusive.

    ``action`` ending in ``.`` (or ``*``) is a prefix (``org.`` = every organisation action).
    """
    stmt = select(AuditEntry)
    if actor:
        stmt = stmt.where(AuditEntry.actor_label.contains(actor.strip().lower(), autoescape=True))
    if action:
        action = action.strip()
        if action.endswith(("*", ".")):
            stmt = stmt.where(AuditEntry.action.startswith(action.rstrip("*"), autoescape=True))
        else:
            stmt = stmt.where(AuditEntry.action == action)
    if object_type:
        stmt = stmt.where(AuditEntry.object_type == object_type.strip())
    if object_id:
        stmt = stmt.where(AuditEntry.object_id == object_id.strip())
    if date_from:
        stmt = stmt.where(AuditEntry.at >= _day_start(date_from))
    if date_to:
        stmt = stmt.where(AuditEntry.at < _day_start(date_to + dt.timedelta(days=1)))
    return stmt.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())


def _day_start(day: dt.date) -> dt.datetime:
    return day_start(day)


@dataclass
class DiffRow:
    key: str
    before: str
    after: str
    status: str  # added | removed | changed | same


def _show(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def diff(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[DiffRow]:
    """One row per key of before ∪ after; changed rows first, unchanged ones last.

    For a creation (no ``before``) the empty fields are left out.
    """
    created = before is None
    before, after = before or {}, after or {}
    rows = []
    for key in sorted(set(before) | set(after)):
        if created and after.get(key) in (None, "", [], {}):
            continue  # a new record's empty fields say nothing
        if key not in before:
            status = "added"
        elif key not in after:
            status = "removed"
        elif before[key] != after[key]:
            status = "changed"
        else:
            status = "same"
        rows.append(DiffRow(key, _show(before.get(key)) if key in before else "", _show(after.get(key)) if key in after else "", status))
    rows.sort(key=lambda r: r.status == "same")
    return rows
