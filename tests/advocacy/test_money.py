from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kernel.money import (
    CURRENCY_EXPONENTS,
    format_money,
    minor_to_decimal,
    parse_money,
    percent_of,
)


@pytest.mark.parametrize(
    ("amount", "percent", "expected"),
    [
        (1005, Decimal("10"), 101),  # 100.5 rounds up
        (1004, Decimal("10"), 100),  # 100.4 rounds down
        (5, Decimal("50"), 3),  # 2.5 rounds up, not to even
        (15, Decimal("50"), 8),  # 7.5 rounds up, not to even
        (12900, Decimal("20"), 2580),
        (999, Decimal("12.5"), 125),  # 124.875
        (0, Decimal("10"), 0),
        (1234, Decimal("0"), 0),
        (1234, Decimal("100"), 1234),
    ],
)
def test_percent_of_rounds_half_up_to_the_minor_unit(amount, percent, expected):
    assert percent_of(amount, percent) == expected


def test_percent_of_returns_an_int():
    assert type(percent_of(1005, Decimal("10"))) is int


def test_percent_of_refuses_a_negative_amount():
    with pytest.raises(ValueError, match="negative"):
        percent_of(-1, Decimal("10"))


@given(
    amount=st.integers(min_value=0, max_value=10**12),
    percent=st.decimals(min_value=0, max_value=100, places=2),
)
def test_percent_of_is_exact_half_up_rounding(amount, percent):
    exact = Fraction(amount) * Fraction(percent) / 100
    assert percent_of(amount, percent) == int(exact + Fraction(1, 2)) // 1
    assert 0 <= percent_of(amount, percent) <= amount


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        (12345, "EUR", "€123.45"),
        (5, "EUR", "€0.05"),
        (0, "USD", "$0.00"),
        (123456789, "GBP", "£1,234,567.89"),
        (-100, "EUR", "-€1.00"),
        (1234, "JPY", "¥1,234"),
        (1250, "CHF", "12.50 CHF"),
        (1250, "SEK", "12.50 SEK"),
    ],
)
def test_format_money_for_people(amount, currency, expected):
    assert format_money(amount, currency) == expected


@pytest.mark.parametrize(
    ("text", "currency", "expected"),
    [
        ("12.50", "EUR", 1250),
        (" 12.5 ", "EUR", 1250),
        ("12", "EUR", 1200),
        ("0.01", "USD", 1),
        ("1234", "JPY", 1234),
        ("12.50", "XTS", 1250),  # a currency without an entry has two decimal places
    ],
)
def test_parse_money_gives_minor_units(text, currency, expected):
    assert parse_money(text, currency) == expected


@pytest.mark.parametrize(
    ("text", "currency"),
    [
        ("12.505", "EUR"),  # finer than the minor unit
        ("12.5", "JPY"),  # yen has no minor unit
        ("abc", "EUR"),
        ("", "EUR"),
        ("12,50", "EUR"),
        ("€12.50", "EUR"),
        ("NaN", "EUR"),
        ("Infinity", "EUR"),
    ],
)
def test_parse_money_refuses_bad_input_with_value_error(text, currency):
    with pytest.raises(ValueError):  # noqa: PT011 (the type is the contract; messages vary)
        parse_money(text, currency)


@given(
    amount=st.integers(min_value=0, max_value=10**12),
    currency=st.sampled_from(sorted(CURRENCY_EXPONENTS)),
)
def test_parse_money_reads_back_the_decimal_form_of_any_amount(amount, currency):
    exponent = CURRENCY_EXPONENTS[currency]
    text = f"{Decimal(amount).scaleb(-exponent):.{exponent}f}"
    assert parse_money(text, currency) == amount


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        (12345, "EUR", "123.45"),
        (5, "USD", "0.05"),
        (-250, "EUR", "-2.50"),
        (1234, "JPY", "1234"),
        (12345, "XTS", "123.45"),  # two decimal places without an entry
    ],
)
def test_minor_to_decimal_is_the_exact_amount_for_the_bank_file(amount, currency, expected):
    value = minor_to_decimal(amount, currency)
    assert str(value) == expected  # the digits the CSV carries, trailing zeros included


def test_format_money_gives_a_currency_without_an_entry_two_decimal_places():
    assert format_money(12345, "XTS") == "123.45 XTS"
