"""Money helpers: integer minor units beside an ISO 4217 currency, never floats.

One function rounds (half-up to the minor unit); one formats for people.
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

# Currencies a programme may use, with their minor-unit exponent (ISO 4217).
CURRENCY_EXPONENTS = {
    "EUR": 2,
    "USD": 2,
    "GBP": 2,
    "CHF": 2,
    "CAD": 2,
    "AUD": 2,
    "SEK": 2,
    "NOK": 2,
    "DKK": 2,
    "PLN": 2,
    "JPY": 0,
}
# The largest amount we accept anywhere (minor units): ten trillion euros, far inside a 64-bit
# column. Anything bigger is a bug or an attack, answered as bad input.
MAX_AMOUNT = 10**15

CURRENCY_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥"}
CURRENCY_CHOICES = [(code, code) for code in CURRENCY_EXPONENTS]


def percent_of(amount_minor: int, percent: Decimal) -> int:
    """`percent` % of an integer amount, rounded half-up to the minor unit."""
    if amount_minor < 0:
        raise ValueError("amount must not be negative")
    exact = Decimal(amount_minor) * Decimal(percent) / Decimal(100)
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def format_money(amount_minor: int, currency: str) -> str:
    """12345, "EUR" -> "€123.45"; negative amounts keep their sign in front."""
    exponent = CURRENCY_EXPONENTS.get(currency, 2)
    sign = "-" if amount_minor < 0 else ""
    units = Decimal(abs(amount_minor)).scaleb(-exponent)
    number = f"{units:,.{exponent}f}"
    symbol = CURRENCY_SYMBOLS.get(currency)
    return f"{sign}{symbol}{number}" if symbol else f"{sign}{number} {currency}"


def parse_money(text: str, currency: str) -> int:
    """ "12.50" -> 1250 for a two-decimal currency; raises ValueError on bad input."""
    exponent = CURRENCY_EXPONENTS.get(currency, 2)
    try:
        value = Decimal(text.strip())
    except InvalidOperation as exc:
        raise ValueError(f"{text!r} is not an amount") from exc
    if not value.is_finite():
        raise ValueError(f"{text!r} is not an amount")
    minor = value.scaleb(exponent)
    if minor != minor.to_integral_value():
        raise ValueError(f"{currency} has {exponent} decimal places")
    return int(minor)


def minor_to_decimal(amount_minor: int, currency: str) -> Decimal:
    """12345, "EUR" -> Decimal("123.45"); exact, for exports (CSV) rather than for people."""
    exponent = CURRENCY_EXPONENTS.get(currency, 2)
    return Decimal(amount_minor).scaleb(-exponent).quantize(Decimal(1).scaleb(-exponent))
