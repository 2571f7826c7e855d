"""Money input in the user's language: :func:`market.domain.money.parse_cny` with its problems in words.

Forms, the API, services and imports all read amounts through :func:`parse_money` (or
:func:`money_message` where an importer collects errors), so ``38万`` means the same everywhere and a
wrong amount always says what is accepted.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import current_app, has_app_context
from flask_babel import gettext as _
from wtforms import StringField

from market.domain.money import DEFAULT_LIMIT, MoneyError, MoneyProblem, parse_cny
from market.errors import ValidationError
from market.i18n import N_

EXAMPLES = N_("请输入金额，如 380000、380,000 或 38万。")
MESSAGES = {
    MoneyProblem.EMPTY: N_("请填写金额。"),
    MoneyProblem.FORMAT: EXAMPLES,
    MoneyProblem.EXPONENT: N_("请不要使用科学计数法。请输入金额，如 380000、380,000 或 38万。"),
    MoneyProblem.DECIMALS: N_("金额最多两位小数。请输入金额，如 380000.50 或 38万。"),
    MoneyProblem.NEGATIVE: N_("金额不能为负数。"),
    MoneyProblem.ZERO: N_("金额不能为零。"),
    MoneyProblem.TOO_LARGE: N_("金额超过单笔上限 %(limit)s 元，请核对。"),
}


def amount_limit() -> Decimal:
    """The sanity limit per amount (CONTRACT.md: 1,000,000,000.00 by default, configurable)."""
    if has_app_context():
        return Decimal(current_app.config.get("LEDGER_SANITY_LIMIT_CNY", DEFAULT_LIMIT))
    return DEFAULT_LIMIT


def money_message(problem: MoneyProblem, limit: Decimal | None = None) -> str:
    return _(MESSAGES[problem], limit=f"{limit if limit is not None else amount_limit():,.2f}")


def parse_money(
    value: Any, field: str = "amount_cny", *, allow_negative: bool = False, allow_zero: bool = False
) -> Decimal:
    """The amount, or a :class:`ValidationError` on ``field`` saying what is accepted."""
    limit = amount_limit()
    try:
        return parse_cny(value, allow_negative=allow_negative, allow_zero=allow_zero, limit=limit)
    except MoneyError as err:
        raise ValidationError(money_message(err.problem, limit), field) from None


class MoneyField(StringField):
    """A form field read by :func:`parse_cny`: ``38万`` and ``380,000`` are what people type."""

    def __init__(self, label: Any = None, validators: Any = None, *, allow_zero: bool = True, **kwargs: Any):
        super().__init__(label, validators, **kwargs)
        self.allow_zero = allow_zero

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return f"{self.data:.2f}" if isinstance(self.data, Decimal) else ""

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = None
        if not valuelist or not str(valuelist[0]).strip():
            return
        try:
            self.data = parse_cny(valuelist[0], allow_zero=self.allow_zero, limit=amount_limit())
        except MoneyError as err:
            raise ValueError(money_message(err.problem)) from None
