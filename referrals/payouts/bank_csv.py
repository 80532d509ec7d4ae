"""The bank files of a manual payout batch, formula-safe: our generic CSV, and the batch files
PayPal Payouts and Wise take as they are.

`bank_file_rows` builds one file's rows (a read); `payouts.services.payout_batch_csv_export`
checks the batch may be exported and audits the export; the admin view only writes the rows
out. `bank_file_summaries` says, for the review page, what each file carries and what it
leaves out, from the same loop as the rows, so the page and the files can't disagree."""

from collections.abc import Callable
from dataclasses import dataclass, field

from advocacy.models import Advocate
from kernel.admin import plural
from kernel.money import format_money, minor_to_decimal
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

# Wise's "Send to bank accounts" batch template (Wise Help Centre, "How do I fill in my batch
# template?" and "What's a batch payment template?"): a header row, then one transfer a row.
# name: the holder as on the account; recipientEmail; paymentReference: what the recipient's
# statement shows; receiverType: PRIVATE (a person) or BUSINESS; amountCurrency: "target" is a
# Fixed Target Payment (the advocate gets exactly the amount, the fees are ours); amount in
# units; sourceCurrency and targetCurrency (one currency: the batch's); IBAN.
WISE_HEADER = [
    "name",
    "recipientEmail",
    "paymentReference",
    "receiverType",
    "amountCurrency",
    "amount",
    "sourceCurrency",
    "targetCurrency",
    "IBAN",
]

# PayPal Payouts Web's payment file (PayPal Developer, "Send payouts from Payouts Web" and
# "Use the Payouts Web UI"): no header row; columns, left to right: recipient identifier (the
# PayPal email), payment amount (units, "." as the decimal mark), currency (ISO 4217, one per
# file), customer ID (our unique id for the item), note to the recipient, recipient wallet
# (PAYPAL). Its example row:
# `recipient@example.com,100.5,USD,ID001,Here is your payment,PAYPAL`.
PAYPAL_WALLET = "PAYPAL"

HELD = "held because the advocate changed their payout details after approval"


def payout_reference(payout: Payout) -> str:
    """What the transfer carries, so a payout can be matched to the bank statement."""
    return f"Streetteam payout {payout.pk}"


def _amount(payout: Payout) -> str:
    # A number the import must read as one (never quoted, never prefixed): "30.08", or "3008"
    # in a currency without decimals (JPY).
    return str(minor_to_decimal(payout.amount, payout.currency))


def _holder(payout: Payout) -> str:
    user = payout.advocate.user
    return payout.destination_holder or user.get_full_name() or user.email


def _generic_row(payout: Payout) -> list:
    # Every text cell goes through spreadsheet_safe: the holder's name, the email and a PayPal
    # address are typed by advocates. An IBAN starts with two letters, so it is never changed.
    safe = spreadsheet_safe
    return [
        payout.pk,
        safe(_holder(payout)),
        safe(payout.advocate.user.email),
        _amount(payout),
        safe(payout.currency),
        safe(payout.destination_method),
        safe(payout.destination_account),
        safe(payout_reference(payout)),
    ]


def _paypal_row(payout: Payout) -> list:
    safe = spreadsheet_safe
    return [
        safe(payout.destination_account),
        _amount(payout),
        payout.currency,
        f"payout-{payout.pk}",
        safe(payout_reference(payout)),
        PAYPAL_WALLET,
    ]


def _wise_row(payout: Payout) -> list:
    safe = spreadsheet_safe
    return [
        safe(_holder(payout)),
        safe(payout.advocate.user.email),
        safe(payout_reference(payout)),
        "PRIVATE",
        "target",
        _amount(payout),
        payout.currency,
        payout.currency,
        safe(payout.destination_account),
    ]


def _paypal_misfit(payout: Payout) -> str:
    """Why a payout is not in the PayPal file, or "" when it is."""
    if payout.destination_method == Advocate.PayoutMethod.BANK:
        return "paid by bank transfer, in the Wise file"
    if payout.destination_method != Advocate.PayoutMethod.PAYPAL or not (
        payout.destination_account
    ):
        return "without a PayPal email"
    return ""


def _wise_misfit(payout: Payout) -> str:
    """Why a payout is not in the Wise file, or "" when it is."""
    if payout.destination_method == Advocate.PayoutMethod.PAYPAL:
        return "paid by PayPal, in the PayPal file"
    if payout.destination_method != Advocate.PayoutMethod.BANK or not payout.destination_account:
        return "without an IBAN"
    return ""


@dataclass(frozen=True)
class BankFileFormat:
    key: str
    label: str
    header: list[str] | None
    row: Callable[[Payout], list]
    # Why a payout does not fit this file ("" when it does); None: every payout fits.
    misfit: Callable[[Payout], str] | None = None
    suffix: str = ""


BANK_FILE_FORMATS = {
    "generic": BankFileFormat("generic", "CSV of every payout", CSV_HEADER, _generic_row),
    "paypal": BankFileFormat(
        "paypal", "PayPal Payouts file", None, _paypal_row, _paypal_misfit, "-paypal"
    ),
    "wise": BankFileFormat(
        "wise", "Wise batch file", WISE_HEADER, _wise_row, _wise_misfit, "-wise"
    ),
}


@dataclass
class BankFileSummary:
    """What one file of a batch carries, and what it leaves out and why."""

    format: BankFileFormat
    currency: str
    count: int = 0
    amount: int = 0
    left_out: dict = field(default_factory=dict)  # reason -> [payouts, amount]

    def sentence(self) -> str:
        """ "2 payouts, €45.00. Left out: 1 payout paid by bank transfer, in the Wise file
        (€12.00)." """
        carried = (
            f"{plural(self.count, 'payout')}, {format_money(self.amount, self.currency)}."
            if self.count
            else "No payout fits this file."
        )
        if not self.left_out:
            return carried
        parts = [
            f"{plural(count, 'payout')} {reason} ({format_money(amount, self.currency)})"
            for reason, (count, amount) in self.left_out.items()
        ]
        return f"{carried} Left out: {'; '.join(parts)}."


def _left_out_because(payout: Payout, batch: PayoutBatch, fmt: BankFileFormat) -> str:
    """Why `payout` is not in `fmt`'s file, or "" when it is. A payout whose advocate changed
    their details since approval is left out of every file until a manager confirms the new
    ones (it is flagged on the review page)."""
    if destination_changed(payout, batch.backend):
        return HELD
    return fmt.misfit(payout) if fmt.misfit else ""


def bank_file_rows(
    batch: PayoutBatch, file_format: str = "generic", *, held: list[Payout] | None = None
) -> list[list]:
    """One file's rows (the header first when the format has one): the full account details
    (IBAN or PayPal email) as fixed when the batch was approved, so only the export service
    hands them out; only the payouts whose approved destination fits the format. Held payouts
    are added to `held` when given."""
    fmt = BANK_FILE_FORMATS[file_format]
    rows = [list(fmt.header)] if fmt.header else []
    for payout in payout_batch_export(batch):
        why = _left_out_because(payout, batch, fmt)
        if not why:
            rows.append(fmt.row(payout))
        elif why == HELD and held is not None:
            held.append(payout)
    return rows


def bank_csv_rows(batch: PayoutBatch, *, held: list[Payout] | None = None) -> list[list]:
    """The generic bank CSV: the header, then one row per payout still to pay by hand."""
    return bank_file_rows(batch, "generic", held=held)


def bank_file_summaries(batch: PayoutBatch) -> list[BankFileSummary]:
    """Per format, how many payouts (and how much) its file carries, and which are left out
    and why: one query for the batch's payouts still to pay."""
    payouts = list(payout_batch_export(batch))
    summaries = []
    for fmt in BANK_FILE_FORMATS.values():
        summary = BankFileSummary(format=fmt, currency=batch.currency)
        for payout in payouts:
            why = _left_out_because(payout, batch, fmt)
            if why:
                count, amount = summary.left_out.get(why, (0, 0))
                summary.left_out[why] = (count + 1, amount + payout.amount)
            else:
                summary.count += 1
                summary.amount += payout.amount
        summaries.append(summary)
    return summaries
