"""The one window every date typed into the platform must fall in (issue 8, item 9).

A year 0001 or 9999 date parses, and then overflows the moment it is moved between Beijing time
and UTC (``datetime(1, 1, 1, tzinfo=+08:00).astimezone(UTC)`` raises ``OverflowError``): a 500.
Forms use the fields below, parsers (imports, the ledger's form) call :func:`require_in_window`,
and both answer with the same clear message instead.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask_babel import gettext as _
from wtforms import DateField, DateTimeLocalField

from .errors import ValidationError

EARLIEST = dt.date(2000, 1, 1)
LATEST = dt.date(2100, 12, 31)


def in_window(value: dt.date | dt.datetime) -> bool:
    """Whether a date or time (naive or aware, by its own calendar date) is within EARLIEST..LATEST."""
    day = value.date() if isinstance(value, dt.datetime) else value
    return EARLIEST <= day <= LATEST


def window_message() -> str:
    return _("日期必须在 %(start)s 至 %(end)s 之间。", start=EARLIEST.isoformat(), end=LATEST.isoformat())


def require_in_window(value: Any, field: str | None = None) -> Any:
    """``value`` if it is None or inside the window; a ValidationError on ``field`` otherwise."""
    if isinstance(value, dt.date) and not in_window(value):
        raise ValidationError(window_message(), field)
    return value


class _WindowMixin:
    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata(valuelist)  # type: ignore[misc]
        # the value stays (so DataRequired does not replace this message); the form is invalid
        if self.data is not None and not in_window(self.data):  # type: ignore[attr-defined]
            raise ValueError(window_message())


class SaneDateField(_WindowMixin, DateField):
    """A date input that refuses dates outside EARLIEST..LATEST with a clear message."""


class SaneDateTimeLocalField(_WindowMixin, DateTimeLocalField):
    """A datetime-local input (Beijing time) that refuses dates outside EARLIEST..LATEST."""
