"""How an advocate is paid, described for people: the method and a masked destination.

`Advocate.payout_details` holds, by method:
- bank: {"account_holder": str, "iban": str (normalised, full: the manual backend's CSV needs it)}
- paypal: {"email": str}
- stripe_connect: {} (the account id lives in `Advocate.stripe_account_id`)

Pages and emails use `payout_details_summary`, never the raw JSON, so a full IBAN is never shown.
"""

from dataclasses import dataclass, replace

from advocacy.iban import mask_iban
from advocacy.models import Advocate


@dataclass(frozen=True)
class PayoutDetailsSummary:
    method: str  # "" when not chosen yet
    method_label: str
    destination: str  # masked where it matters; "" when there is nothing to show
    account_holder: str = ""
    stripe_connected: bool = False

    @property
    def is_set(self) -> bool:
        """Chosen and complete enough that a manager could pay to it."""
        if self.method == Advocate.PayoutMethod.STRIPE_CONNECT:
            return self.stripe_connected
        return bool(self.method and self.destination)


def payout_details_summary(advocate: Advocate) -> PayoutDetailsSummary:
    method = advocate.payout_method
    details = advocate.payout_details or {}
    if method == Advocate.PayoutMethod.BANK:
        iban = details.get("iban", "")
        return PayoutDetailsSummary(
            method=method,
            method_label="Bank transfer",
            destination=f"IBAN {mask_iban(iban)}" if iban else "",
            account_holder=details.get("account_holder", ""),
        )
    if method == Advocate.PayoutMethod.PAYPAL:
        return PayoutDetailsSummary(
            method=method, method_label="PayPal", destination=details.get("email", "")
        )
    if method == Advocate.PayoutMethod.STRIPE_CONNECT:
        account = advocate.stripe_account_id
        return PayoutDetailsSummary(
            method=method,
            method_label="Stripe Connect",
            destination=f"Stripe account …{account[-4:]}" if account else "",
            stripe_connected=bool(account),
        )
    return PayoutDetailsSummary(method="", method_label="Not set up yet", destination="")


def mask_email(email: str) -> str:
    """ "anna.jones@example.com" -> "a•••@example.com": enough to recognise, not to use."""
    local, _, domain = (email or "").rpartition("@")
    if not local or not domain:
        return "•••"
    return f"{local[0]}•••@{domain}"


def payout_details_masked(advocate: Advocate) -> PayoutDetailsSummary:
    """The summary for other eyes than the advocate's (managers): the IBAN and the PayPal
    address masked, the Stripe account shortened."""
    summary = payout_details_summary(advocate)
    if summary.method == Advocate.PayoutMethod.PAYPAL and summary.destination:
        return replace(summary, destination=mask_email(summary.destination))
    return summary
