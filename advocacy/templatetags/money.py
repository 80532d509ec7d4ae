"""`{{ amount|money:currency }}`: integer minor units, formatted for people (€123.45)."""

from django import template

from kernel.money import format_money

register = template.Library()


@register.filter
def money(amount, currency: str = "EUR") -> str:
    """Format `amount` (minor units) in `currency`; empty for a missing amount, never a float."""
    if amount is None or amount == "":
        return ""
    try:
        minor = int(amount)
    except (TypeError, ValueError):
        return ""
    return format_money(minor, currency or "EUR")
