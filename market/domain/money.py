"""Reading an amount of CNY the way people in the district write one: one parser for forms, the API
and imports.

Accepted: ``380000``, ``380,000``, ``380000.00``, ``38万``, ``38.5万元``, ``¥380,000``, ``1.2亿``,
full-width digits and punctuation, a number (an int, a Decimal, or a float with at most two decimals,
as XLSX cells arrive). Refused, each with its own code: more than two decimals, exponents, a negative
where none is allowed, zero where none is allowed, an amount beyond the sanity limit.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any

CENT = Decimal("0.01")
UNITS = {"万": Decimal(10_000), "亿": Decimal(100_000_000)}
DEFAULT_LIMIT = Decimal("1000000000.00")  # 10 亿: beyond any single deal on the platform
_PLAIN = re.compile(r"^\d+(\.\d+)?$")
_GROUPED = re.compile(r"^\d{1,3}(,\d{3})+(\.\d+)?$")


class MoneyProblem(enum.StrEnum):
    EMPTY = "empty"
    FORMAT = "format"
    EXPONENT = "exponent"
    DECIMALS = "decimals"
    NEGATIVE = "negative"
    ZERO = "zero"
    TOO_LARGE = "too_large"


class MoneyError(ValueError):
    def __init__(self, problem: MoneyProblem):
        super().__init__(problem.value)
        self.problem = problem


def _text(raw: str) -> tuple[bool, str, Decimal]:
    """(negative, digits, unit) of a typed amount."""
    text = unicodedata.normalize("NFKC", raw).strip().replace(" ", "").replace("\u00a0", "")
    negative = text.startswith("-")
    text = text.lstrip("+-")
    for prefix in ("¥", "RMB", "CNY", "rmb", "cny"):
        if text.startswith(prefix):
            text = text[len(prefix):]
    text = text.removesuffix("元").removesuffix("人民币")
    unit = Decimal(1)
    if text and text[-1] in UNITS:
        unit = UNITS[text[-1]]
        text = text[:-1]
    return negative, text, unit


def parse_cny(
    value: Any,
    *,
    allow_negative: bool = False,
    allow_zero: bool = False,
    limit: Decimal | None = DEFAULT_LIMIT,
) -> Decimal:
    """The amount as a Decimal with two places, or :class:`MoneyError` naming the problem."""
    if value is None or isinstance(value, bool):
        raise MoneyError(MoneyProblem.EMPTY if value is None else MoneyProblem.FORMAT)
    if isinstance(value, float):
        value = repr(value)  # 120000.5 → "120000.5"; 1e-05 → refused below as an exponent
    if isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise MoneyError(MoneyProblem.FORMAT)
        if value.as_tuple().exponent > 0:  # Decimal("1E+5"): read from text written with an exponent
            raise MoneyError(MoneyProblem.EXPONENT)
        amount = value
    else:
        raw = str(value)
        if not raw.strip():
            raise MoneyError(MoneyProblem.EMPTY)
        if re.search(r"\d[eE][+-]?\d", raw):
            raise MoneyError(MoneyProblem.EXPONENT)
        negative, digits, unit = _text(raw)
        if not (_PLAIN.match(digits) or _GROUPED.match(digits)):
            raise MoneyError(MoneyProblem.FORMAT)
        try:
            amount = Decimal(digits.replace(",", "")) * unit
        except InvalidOperation:  # pragma: no cover - the patterns above admit only digits
            raise MoneyError(MoneyProblem.FORMAT) from None
        if negative:
            amount = -amount
    if amount != amount.quantize(CENT):
        raise MoneyError(MoneyProblem.DECIMALS)
    if amount < 0 and not allow_negative:
        raise MoneyError(MoneyProblem.NEGATIVE)
    if amount == 0 and not allow_zero:
        raise MoneyError(MoneyProblem.ZERO)
    if limit is not None and abs(amount) > limit:
        raise MoneyError(MoneyProblem.TOO_LARGE)
    return amount.quantize(CENT) + Decimal("0.00")  # normalise -0.00 to 0.00
