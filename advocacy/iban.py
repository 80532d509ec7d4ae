"""IBANs: normalise what people type, check it (ISO 13616 format and mod-97), mask it for display.

The full IBAN is stored (the manual payout backend's CSV needs it) but never shown again after it
is saved: pages and emails show only its last four characters.
"""

import re

from django.core.exceptions import ValidationError

# Lengths from the SWIFT IBAN registry for the countries we are sure of; any other country code
# is held to the general rule (15 to 34 characters) and the checksum.
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BR": 29, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20,
    "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18,
    "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IS": 26, "IT": 27, "JO": 30,
    "KW": 30, "KZ": 20, "LB": 28, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24,
    "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28,
    "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SE": 24, "SI": 19, "SK": 24,
    "SM": 27, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip

_SHAPE = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$")


def normalise_iban(value: str) -> str:
    """What people paste ("de89 3704-0044 0532 0130 00", "IBAN DE89…") -> "DE8937040044…"."""
    compact = re.sub(r"[\s\-.]", "", value or "").upper()
    return compact.removeprefix("IBAN")


def iban_checksum_ok(iban: str) -> bool:
    """ISO 7064 mod 97-10: move the first four characters to the end, letters to numbers
    (A=10 … Z=35); a valid IBAN leaves remainder 1."""
    rearranged = iban[4:] + iban[:4]
    digits = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(digits) % 97 == 1


def validate_iban(value: str) -> str:
    """The normalised IBAN, or a ValidationError that says what is wrong with it."""
    iban = normalise_iban(value)
    if not iban:
        raise ValidationError("Enter your IBAN.", code="required")
    if not _SHAPE.match(iban):
        raise ValidationError(
            "An IBAN starts with a two-letter country code and two check digits, followed by "
            "letters and digits only (15 to 34 characters in all).",
            code="iban_format",
        )
    expected = IBAN_LENGTHS.get(iban[:2])
    if expected is not None and len(iban) != expected:
        raise ValidationError(
            "An IBAN from %(country)s has %(expected)s characters; this one has %(actual)s.",
            code="iban_length",
            params={"country": iban[:2], "expected": expected, "actual": len(iban)},
        )
    if not iban_checksum_ok(iban):
        raise ValidationError(
            "This IBAN's check digits don't match: please check it for typing mistakes.",
            code="iban_checksum",
        )
    return iban


def mask_iban(iban: str) -> str:
    """ "DE89370400440532013000" -> "•••• 3000": the last four characters only."""
    iban = normalise_iban(iban)
    if len(iban) < 8:
        return "••••"
    return f"•••• {iban[-4:]}"
