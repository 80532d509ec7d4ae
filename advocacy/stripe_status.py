"""An advocate's Stripe Connect account, described for people: where they are in setting it up
and what Stripe still needs, in plain words.

Reads only the mirror on `Advocate` (kept by referrals' account.updated handler and the return
from Stripe's onboarding); never calls Stripe.
"""

from dataclasses import dataclass, field

from advocacy.models import Advocate

NOT_STARTED = "not_started"
DETAILS_NEEDED = "details_needed"
PENDING = "pending_verification"
ENABLED = "payouts_enabled"
PAUSED = "payouts_paused"

# Stripe's requirement names (https://docs.stripe.com/connect/required-verification-information)
# by prefix, most specific first, as an advocate would say them.
_REQUIREMENT_WORDS = [
    ("external_account", "Your bank account for payouts"),
    ("tos_acceptance", "Accept Stripe’s terms of service"),
    ("individual.verification.additional_document", "A proof of address"),
    ("individual.verification.document", "A photo of your ID document"),
    ("individual.dob", "Your date of birth"),
    ("individual.first_name", "Your legal name"),
    ("individual.last_name", "Your legal name"),
    ("individual.address", "Your home address"),
    ("individual.phone", "Your phone number"),
    ("individual.email", "Your email address"),
    ("individual.id_number", "Your national ID or tax number"),
    ("individual.ssn_last_4", "The last 4 digits of your social security number"),
    ("individual.political_exposure", "Whether you hold a public office"),
    ("individual", "Details about you"),
    ("business_profile.url", "A website or profile that shows what you do"),
    ("business_profile.product_description", "A short description of what you do"),
    ("business_profile.mcc", "The kind of business you run"),
    ("business_profile", "Details about what you do"),
    ("business_type", "Whether you are paid as a person or a company"),
    ("company", "Your company's details"),
    ("representative", "Details of your company's representative"),
    ("owners", "Your company's owners"),
    ("directors", "Your company's directors"),
    ("executives", "Your company's executives"),
    ("settings.payments.statement_descriptor", "How you appear on bank statements"),
]


def requirement_in_words(name: str) -> str:
    for prefix, words in _REQUIREMENT_WORDS:
        if name == prefix or name.startswith(prefix + "."):
            return words
    # Something new from Stripe: still readable ("settings.card_payments" -> "Card payments").
    last = name.rsplit(".", 1)[-1].replace("_", " ").strip()
    return last[:1].upper() + last[1:] if last else "More details"


# Why Stripe disabled an account (`requirements.disabled_reason`), as the advocate should hear it.
_DISABLED_WORDS = {
    "requirements.past_due": (
        "Stripe has paused your payouts: some details were due and have not been given yet."
    ),
    "requirements.pending_verification": (
        "Stripe is checking the details you gave; your payouts start as soon as it has."
    ),
    "action_required.requested_capabilities": (
        "Stripe needs you to confirm how you want to be paid before payouts can start."
    ),
    "listed": "Stripe is reviewing your account; your payouts are paused until it has.",
    "under_review": "Stripe is reviewing your account; your payouts are paused until it has.",
    "platform_paused": (
        "Payouts to your Stripe account are paused by the programme. Contact the programme "
        "team to find out why."
    ),
}
_REJECTED_WORDS = (
    "Stripe has closed this account for payouts. Contact the programme team to be paid another way."
)
_OTHER_WORDS = "Stripe has paused your payouts. Open your Stripe account to see what it needs."


def disabled_reason_in_words(code: str) -> str:
    """Stripe's reason for disabling an account, in a sentence; "" when it isn't disabled."""
    if not code:
        return ""
    if code.startswith("rejected."):
        return _REJECTED_WORDS
    return _DISABLED_WORDS.get(code, _OTHER_WORDS)


def _in_words(names: list[str]) -> list[str]:
    return list(dict.fromkeys(requirement_in_words(name) for name in names))


@dataclass(frozen=True)
class StripeConnectStatus:
    state: str
    label: str
    badge: str  # the badge modifier: badge-<badge>
    explanation: str
    requirements: list[str] = field(default_factory=list)
    # Requirements past their deadline: Stripe pays nothing until they are given.
    overdue: list[str] = field(default_factory=list)

    @property
    def can_continue(self) -> bool:
        """Is there something the advocate can do on Stripe's pages?"""
        return self.state in (NOT_STARTED, DETAILS_NEEDED)


def stripe_connect_status(advocate: Advocate) -> StripeConnectStatus:
    if not advocate.stripe_account_id:
        return StripeConnectStatus(
            state=NOT_STARTED,
            label="Not set up",
            badge="neutral",
            explanation="Set up payouts with Stripe to be paid straight into your bank account.",
        )
    overdue = _in_words(advocate.stripe_requirements_past_due)
    words = [w for w in _in_words(advocate.stripe_requirements_due) if w not in overdue]
    paused = disabled_reason_in_words(advocate.stripe_disabled_reason)
    if advocate.stripe_payouts_enabled:
        return StripeConnectStatus(
            state=ENABLED,
            label="Payouts enabled",
            badge="success",
            explanation=(
                "Some details Stripe asked for are overdue: give them now or Stripe will pause "
                "your payouts."
                if overdue
                else "Stripe will soon need a few more details to keep your payouts going."
                if words
                else "Your Stripe account is ready: payouts go straight to it."
            ),
            requirements=words,
            overdue=overdue,
        )
    if words or overdue or not advocate.stripe_details_submitted:
        return StripeConnectStatus(
            state=DETAILS_NEEDED,
            label="Details needed",
            badge="error" if overdue else "warning",
            explanation=paused
            or (
                "Stripe needs a few more details before it can pay you."
                if advocate.stripe_details_submitted
                else "You started setting up your Stripe account; finish it to be paid."
            ),
            requirements=words,
            overdue=overdue,
        )
    if paused and advocate.stripe_disabled_reason != "requirements.pending_verification":
        return StripeConnectStatus(
            state=PAUSED, label="Payouts paused", badge="error", explanation=paused
        )
    return StripeConnectStatus(
        state=PENDING,
        label="Pending verification",
        badge="info",
        explanation=(
            "You have given Stripe everything it asked for. Stripe is checking your details, "
            "which usually takes a few minutes and at most a couple of days."
        ),
    )
