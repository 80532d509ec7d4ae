"""The bank file of a manual payout batch: one CSV row per payout, formula-safe.

`bank_csv_rows` builds the rows (a read); `payouts.services.payout_batch_csv_export` checks the
batch may be exported and audits the export; the admin view only writes the rows out."""

from kernel.money import minor_to_decimal
from kernel.spreadsheet import spreadsheet_safe
from referrals.models import Payout, PayoutBatch
from referrals.payouts.destination import destination_changed
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


def payout_reference(payout: Payout) -> str:
    """What the transfer carries, so a payout can be matched to the bank statement."""
    return f"Streetteam payout {payout.pk}"


def bank_csv_rows(batch: PayoutBatch, *, held: list[Payout] | None = None) -> list[list[str]]:
    """The header, then one row per payout still to pay by hand, oldest first: the full account
    details (IBAN or PayPal email) as fixed when the batch was approved, so only the export
    service hands them out. A payout whose advocate changed their details since is left out
    until a manager confirms the new ones (it is flagged on the review page), and added to
    `held` when given."""
    rows = [list(CSV_HEADER)]
    for payout in payout_batch_export(batch):
        if destination_changed(payout, batch.backend):
            if held is not None:
                held.append(payout)
            continue
        advocate = payout.advocate
        name = payout.destination_holder or advocate.user.get_full_name() or advocate.user.email
        # Every text cell goes through spreadsheet_safe: the holder's name, the email and a
        # PayPal address are typed by advocates. The amount is a number a bank import must read
        # as one (never quoted), and an IBAN starts with two letters, so it is never changed.
        safe = spreadsheet_safe
        rows.append(
            [
                payout.pk,
                safe(name),
                safe(advocate.user.email),
                str(minor_to_decimal(payout.amount, payout.currency)),
                safe(payout.currency),
                safe(payout.destination_method),
                safe(payout.destination_account),
                safe(payout_reference(payout)),
            ]
        )
    return rows
