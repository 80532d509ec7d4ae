"""The bank file of a manual payout batch: one CSV row per payout, formula-safe."""

from advocacy.models import Advocate
from referrals.models import Payout

CSV_HEADER = [
    "payout_id",
    "advocate_name",
    "email",
    "amount",
    "currency",
    "payout_method",
    "account",
    "reference",
]


def csv_cell(value: str) -> str:
    """Neutralise text a spreadsheet would run as a formula (names are typed by advocates)."""
    value = str(value)
    return f"'{value}" if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def payout_account(advocate: Advocate) -> str:
    """Where the manual backend pays: the full IBAN or the PayPal email."""
    details = advocate.payout_details or {}
    if advocate.payout_method == Advocate.PayoutMethod.BANK:
        return details.get("iban", "")
    if advocate.payout_method == Advocate.PayoutMethod.PAYPAL:
        return details.get("email", "")
    return ""


def payout_reference(payout: Payout) -> str:
    """What the transfer carries, so a payout can be matched to the bank statement."""
    return f"Streetteam payout {payout.pk}"
