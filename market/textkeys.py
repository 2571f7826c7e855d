"""Generated text stored as a message key and parameters, rendered in the reader's language.

A service that writes text a user will read later (a notification title, a contract title) passes
``_l("新的数据使用申请：%(title)s", title=listing.title)`` instead of ``_()``: the lazy string carries
the untranslated msgid and its parameters, ``freeze`` takes them out for the database, and
``render`` translates the msgid in whatever locale is active when the page (or mail) is built.
A parameter may itself be a lazy string (a status word): it is stored as ``{"_": msgid, "p": {...}}``
and translated too. Plain strings are kept as they are (old rows, user-written text).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from flask_babel import gettext
from flask_babel.speaklater import LazyString


def is_keyed(text: Any) -> bool:
    return isinstance(text, LazyString) and bool(text._args)


def _param(value: Any) -> Any:
    if isinstance(value, LazyString):
        key, params = freeze(value)
        return {"_": key, "p": params or {}}
    if value is None or isinstance(value, (bool, int, float, dict)):  # dict: an already frozen key
        return value
    if isinstance(value, (Decimal, dt.date, dt.datetime)):
        return str(value) if not isinstance(value, (dt.date, dt.datetime)) else value.isoformat()
    return str(value)


def freeze(text: Any) -> tuple[str | None, dict[str, Any] | None]:
    """``(msgid, params)`` of a lazy ``_l(...)`` string, ``(None, None)`` for anything else."""
    if not is_keyed(text):
        return None, None
    return str(text._args[0]), {k: _param(v) for k, v in text._kwargs.items()}


def _thaw(value: Any) -> Any:
    if isinstance(value, dict) and "_" in value:
        return render(value["_"], value.get("p"))
    return value


def render(key: str | None, params: dict[str, Any] | None, fallback: str | None = "") -> str:
    """The msgid ``key`` translated into the active locale, with ``params`` filled in; ``fallback``
    (the stored text) when there is no key."""
    if not key:
        return fallback or ""
    translated = gettext(key)  # no variables here: gettext would %-format an unparameterised string
    if not params:
        return translated
    try:
        return translated % {k: _thaw(v) for k, v in params.items()}
    except (KeyError, ValueError, TypeError):  # a translation that lost a placeholder: stay readable
        return fallback or key


def _render_kw(key: str, **params: Any) -> str:
    return render(key, params)


def keyed(key: str | None, params: dict[str, Any] | None, fallback: str) -> Any:
    """A stored key and parameters as a lazy string again (to pass on as a parameter of another
    generated text, e.g. a contract's title inside a notification); ``fallback`` without a key."""
    if not key:
        return fallback
    return LazyString(_render_kw, key, **(params or {}))
