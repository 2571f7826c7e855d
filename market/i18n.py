"""Language choice and display formats. Chinese is the platform's source language; English is a catalogue.

Times are stored in UTC and shown in Asia/Shanghai; money is shown as CNY with two decimals.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask import current_app, has_request_context, request, session
from flask_babel import format_datetime as babel_format_datetime
from flask_login import current_user


def N_(message: str) -> str:
    """Mark ``message`` for the catalogue without translating it here: for tables of labels that are
    translated where they are shown, with ``_(label)`` (babel extracts ``N_`` by default)."""
    return message


def select_locale() -> str:
    supported = current_app.config["LANGUAGES"]
    if not has_request_context():  # CLI and scheduler speak the default language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = request.args.get("lang") or session.get("lang")
    if not chosen and getattr(current_user, "is_authenticated", False):
        chosen = current_user.locale
    if chosen in supported:
        return chosen
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def format_cny(value: Decimal | int | str | None) -> str:
    """¥1,234.50; a negative amount −¥10,000.00 (the sign before the currency, as it is read; not ¥-10,000.00)."""
    if value is None:
        return "—"
    amount = Decimal(value)
    return f"−¥{-amount:,.2f}" if amount < 0 else f"¥{amount:,.2f}"


def format_hours(value: Decimal | int | float | None) -> str:
    """2.5, 8 (not 2.50, 8.00): a number of hours as it is said."""
    if value is None:
        return "—"
    return f"{Decimal(str(value)).normalize():f}"


def format_local(value: dt.datetime | None, fmt: str = "yyyy-MM-dd HH:mm") -> str:
    if value is None:
        return "—"
    return babel_format_datetime(value, fmt)
