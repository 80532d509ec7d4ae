"""The bank file of a manual payout batch: one CSV row per payout, formula-safe.

`bank_csv_rows` builds the rows (a read); `payouts.services.payout_batch_csv_export` checks the
batch may be exported and audits the export; the admin view only writes the rows out."""

from advocacy.models import Advocate
from kernel.money import minor_to_decimal
from referrals.models import Payout, PayoutBatch
from referrals.payouts.selectors import payout_batch_export

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


def bank_csv_rows(batch: PayoutBatch) -> list[list[str]]:
    """The header, then one row per payout still to pay by hand, oldest first: the full account
    details (IBAN or PayPal email), so only the export service hands them out."""
    rows = [list(CSV_HEADER)]
    for payout in payout_batch_export(batch):
        advocate = payout.advocate
        holder = (advocate.payout_details or {}).get("account_holder", "")
        name = holder or advocate.user.get_full_name() or advocate.user.email
        rows.append(
            [
                payout.pk,
                csv_cell(name),
                csv_cell(advocate.user.email),
                str(minor_to_decimal(payout.amount, payout.currency)),
                payout.currency,
                advocate.payout_method,
                csv_cell(payout_account(advocate)),
                payout_reference(payout),
            ]
        )
    return rows
