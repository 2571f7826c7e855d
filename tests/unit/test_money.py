"""One money parser for forms, API and imports (issue 9): what people type, and what is refused."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from market.domain.money import MoneyError, MoneyProblem, parse_cny

P = MoneyProblem


@pytest.mark.parametrize(
    ("typed", "amount"),
    [
        ("380000", "380000.00"),
        ("380,000", "380000.00"),
        ("380000.00", "380000.00"),
        ("38万", "380000.00"),
        ("38.5万元", "385000.00"),
        ("¥380,000", "380000.00"),
        ("￥３８０，０００．５", "380000.50"),  # full-width, as Chinese input methods type it
        (" 1,234,567.89 元 ", "1234567.89"),
        ("1.2亿", "120000000.00"),
        ("0.0001万", "1.00"),
        (120000, "120000.00"),
        (120000.5, "120000.50"),  # a JSON or XLSX number
        (Decimal("12.3"), "12.30"),
    ],
)
def test_accepted(typed, amount):
    assert parse_cny(typed) == Decimal(amount)


@pytest.mark.parametrize(
    ("typed", "problem", "kwargs"),
    [
        ("", P.EMPTY, {}),
        (None, P.EMPTY, {}),
        ("  ", P.EMPTY, {}),
        ("1e5", P.EXPONENT, {}),
        ("1E+05", P.EXPONENT, {}),
        (1e-05, P.EXPONENT, {}),
        (Decimal("1E+5"), P.EXPONENT, {}),
        ("380000.001", P.DECIMALS, {}),
        ("38.1234567万", P.DECIMALS, {}),
        ("38,00", P.FORMAT, {}),
        ("3,8000", P.FORMAT, {}),
        ("abc", P.FORMAT, {}),
        ("12万万", P.FORMAT, {}),
        (True, P.FORMAT, {}),
        ("NaN", P.FORMAT, {}),
        (Decimal("Infinity"), P.FORMAT, {}),
        ("-1", P.NEGATIVE, {}),
        ("0", P.ZERO, {}),
        (0, P.ZERO, {}),
        ("1000000000.01", P.TOO_LARGE, {}),
        ("11亿", P.TOO_LARGE, {}),
    ],
)
def test_refused(typed, problem, kwargs):
    with pytest.raises(MoneyError) as err:
        parse_cny(typed, **kwargs)
    assert err.value.problem == problem


def test_switches():
    assert parse_cny("-20,000", allow_negative=True) == Decimal("-20000.00")
    assert parse_cny("0", allow_zero=True) == Decimal("0.00")
    assert parse_cny("20亿", limit=None) == Decimal("2000000000.00")


@given(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999999999.99"), places=2))
def test_any_amount_round_trips_in_every_written_form(amount):
    assert parse_cny(str(amount)) == amount
    assert parse_cny(f"{amount:,.2f}") == amount
    assert parse_cny(f"¥{amount:,}元") == amount
    assert parse_cny(f"{amount / 10000}万") == amount


@pytest.mark.parametrize(("value", "shown"), [
    (Decimal("2900000"), "¥2,900,000.00"), ("25000.00", "¥25,000.00"), (Decimal("-10000"), "−¥10,000.00"),
    (0, "¥0.00"), (None, "—"),
])
def test_amounts_are_shown_with_separators_and_the_sign_before_the_currency(value, shown):
    from market.i18n import format_cny

    assert format_cny(value) == shown


@pytest.mark.parametrize(("value", "shown"), [
    (Decimal("2.50"), "2.5"), (Decimal("8.00"), "8"), (Decimal("10"), "10"), (Decimal("0.25"), "0.25"), (None, "—"),
])
def test_hours_are_shown_as_said(value, shown):
    from market.i18n import format_hours

    assert format_hours(value) == shown
