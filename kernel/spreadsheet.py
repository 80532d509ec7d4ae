"""Cells a spreadsheet shows as text, never runs as a formula.

Exports carry text others wrote (a merchant's order ids, an advocate's email and name): a cell
starting with =, +, -, @, a tab or a carriage return is read as a formula by Excel, LibreOffice
and Google Sheets (`=HYPERLINK(...)` phishing, DDE). A leading apostrophe makes it text (OWASP,
"CSV Injection")."""

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value):
    """`value` with a leading apostrophe when it is text a spreadsheet would run; numbers and
    other values unchanged (a negative amount is a number, not a formula)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
