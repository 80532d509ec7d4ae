"""The programme form of the Wagtail admin, in the manager's units.

Managers type money as they would say it ("20" or "20.00" means €20.00 in a euro programme);
the form turns it into the integer minor units the model stores, and back for editing. An offer is
a percentage or a fixed amount: only the field of the chosen kind counts, the other is saved as
zero so the programme never holds both. Likewise the payout schedule: a weekly one reads only the
weekday, a monthly one only the day of the month; the other keeps what it held.
"""

from decimal import Decimal

from django import forms
from django.utils.html import format_html
from wagtail.admin.forms import WagtailAdminModelForm

from advocacy.models import PayoutSchedule, Programme, RewardKind
from kernel.money import (
    CURRENCY_EXPONENTS,
    CURRENCY_SYMBOLS,
    MAX_AMOUNT,
    format_money,
    minor_to_decimal,
    parse_money,
)

# Every Programme field that holds minor units of the programme's currency.
MONEY_FIELDS = (
    "shopper_reward_amount",
    "shopper_min_order",
    "advocate_reward_amount",
    "payout_threshold",
    "auto_approve_limit",
    "dual_approval_above",
)

# The day field each payout schedule reads, and what a manager is asked for when it is missing.
SCHEDULE_DAYS = {
    PayoutSchedule.WEEKLY: (
        "payout_schedule_weekday",
        "Choose the day of the week the batch is built.",
    ),
    PayoutSchedule.MONTHLY: ("payout_schedule_day", "Enter the day of the month, 1 to 28."),
}

# (kind field, percent field, amount field, what the reward is called in messages)
OFFERS = (
    ("shopper_reward_kind", "shopper_reward_percent", "shopper_reward_amount", "discount"),
    ("advocate_reward_kind", "advocate_reward_percent", "advocate_reward_amount", "commission"),
)


class MoneyInput(forms.TextInput):
    """A text box with the programme's currency written after it (kept up to date by
    programme-form.js when the manager picks another currency)."""

    def __init__(self, attrs=None):
        super().__init__(attrs={"inputmode": "decimal", "autocomplete": "off", **(attrs or {})})
        self.currency = "EUR"

    def render(self, name, value, attrs=None, renderer=None):
        field = super().render(name, value, attrs, renderer)
        return format_html(
            '<div class="st-money-input">{}<span class="st-money-input__currency" '
            'data-money-currency aria-hidden="true">{}</span></div>',
            field,
            self.currency,
        )


class ProgrammeForm(WagtailAdminModelForm):
    """Money in currency units, offers coherent with their kind, every setting explained."""

    shopper_reward_amount = forms.CharField(
        label="Fixed discount",
        required=False,
        widget=MoneyInput,
        help_text="Taken off every referred order, in the programme's currency.",
    )
    shopper_min_order = forms.CharField(
        label="Minimum order",
        required=False,
        widget=MoneyInput,
        help_text="The smallest order, before the discount, that gets the offer. 0: any order.",
    )
    advocate_reward_amount = forms.CharField(
        label="Fixed commission",
        required=False,
        widget=MoneyInput,
        help_text="What the advocate earns on each referred sale, whatever its size.",
    )
    payout_threshold = forms.CharField(
        label="Payout threshold",
        required=False,
        widget=MoneyInput,
        help_text="Advocates are paid once their approved balance reaches this. 0: any balance.",
    )
    auto_approve_limit = forms.CharField(
        label="Auto-approve up to",
        required=False,
        widget=MoneyInput,
        help_text=(
            "Commissions up to this amount are approved without review when their hold ends, "
            "unless the order raised a fraud signal. 0: a manager reviews every commission."
        ),
    )
    dual_approval_above = forms.CharField(
        label="Second approver above",
        required=False,
        widget=MoneyInput,
        help_text=(
            "Payout batches whose total is above this need a second manager's approval. "
            "0: the site's default limit."
        ),
    )

    class Meta:
        model = Programme
        fields = "__all__"
        help_texts = {
            "name": "What advocates and shoppers see, for example “Friends of the shop”.",
            "slug": "Used in the programme's web addresses; letters, digits and hyphens.",
            "status": (
                "Only an active programme takes new advocates and pays commissions on new sales."
            ),
            "currency": (
                "All of the programme's money is in this currency. It can't change once "
                "advocates have earned money."
            ),
            "audience": "Who the advocates are; it changes the wording of their pages.",
            "join_policy": "Whether anyone may join, or only people a manager invites.",
            "description": "One or two sentences advocates see when they join.",
            "shopper_reward_kind": "A percentage of the order, or a fixed amount off it.",
            "shopper_reward_percent": "The discount, as a percentage of the order (0 to 100).",
            "shopper_first_order_only": (
                "Only a shopper's first order in this programme gets the offer."
            ),
            "shopper_one_use": "Each shopper may use the offer once.",
            "advocate_reward_kind": "A percentage of each sale, or a fixed amount per sale.",
            "advocate_reward_percent": (
                "The commission, as a percentage of the order after the discount (0 to 100)."
            ),
            "advocate_recurring_months": (
                "For subscriptions: the advocate also earns on renewals for this many months "
                "after the first payment. 0: the first payment only."
            ),
            "attribution_window_days": (
                "How many days after a click on a referral link an order still counts."
            ),
            "hold_days": (
                "How many days a commission waits before it can be approved, so refunds "
                "and cancellations can come in first."
            ),
            "landing_url": (
                "A page of your shop that referral links lead to; leave it empty to use the "
                "programme's campaign page. It must be on the same site as your checkout."
            ),
            "terms": "The terms advocates accept when they join.",
        }
        labels = {
            "join_policy": "Who may join",
            "shopper_reward_kind": "Kind of discount",
            "shopper_reward_percent": "Discount percentage",
            "shopper_first_order_only": "First order only",
            "shopper_one_use": "One use per shopper",
            "advocate_reward_kind": "Kind of commission",
            "advocate_reward_percent": "Commission percentage",
            "advocate_recurring_months": "Recurring months",
            "attribution_window_days": "Attribution window (days)",
            "hold_days": "Hold (days)",
            "landing_url": "Landing page",
        }

    class Media:
        js = ["js/programme-form.js"]
        css = {"all": ["css/programme-form.css"]}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        currency = self.instance.currency or "EUR"
        if self.is_bound:
            submitted = self.data.get(self.add_prefix("currency"))
            currency = submitted if submitted in CURRENCY_EXPONENTS else currency
        for name in MONEY_FIELDS:
            if name not in self.fields:
                continue
            # Each form gets its own widget copy, so the currency shown is this form's.
            self.fields[name].widget.currency = currency
            stored = getattr(self.instance, name)
            if stored is not None:
                self.initial[name] = str(minor_to_decimal(stored, currency))
        for name in ("shopper_reward_percent", "advocate_reward_percent"):
            if name in self.fields:
                self.fields[name].required = False
        # Required only for their own kind of schedule (see _clean_schedule).
        for name, _message in SCHEDULE_DAYS.values():
            if name in self.fields:
                self.fields[name].required = False

    def clean(self):
        cleaned = super().clean()
        self._clean_schedule(cleaned)
        currency = cleaned.get("currency") or self.instance.currency
        if currency not in CURRENCY_EXPONENTS:
            # The currency field has its own error; amounts can't be read without one.
            for name in MONEY_FIELDS:
                cleaned.pop(name, None)
            return cleaned
        ignored = set()
        for kind_field, percent_field, amount_field, noun in OFFERS:
            if cleaned.get(kind_field) == RewardKind.FIXED:
                cleaned[percent_field] = Decimal("0")
                if amount_field in self.fields:
                    self._require_amount(amount_field, noun)
            else:
                ignored.add(amount_field)
                cleaned[amount_field] = 0
                if cleaned.get(percent_field) is None and percent_field not in self.errors:
                    self.add_error(percent_field, f"Enter the {noun} as a percentage, 0 to 100.")
        for name in MONEY_FIELDS:
            if name in ignored or name not in self.fields or name in self.errors:
                continue
            parsed = self._parse(name, cleaned.get(name, ""), currency)
            if parsed is not None:
                cleaned[name] = parsed
        return cleaned

    def _clean_schedule(self, cleaned: dict) -> None:
        """The day field of the chosen schedule is required; the other one is ignored, whatever
        was typed in it, and keeps the programme's stored value."""
        schedule = cleaned.get("payout_schedule")
        for kind, (name, message) in SCHEDULE_DAYS.items():
            if name not in self.fields:
                continue
            if schedule != kind:
                self.errors.pop(name, None)
                cleaned[name] = getattr(self.instance, name)
            elif cleaned.get(name) in (None, "") and name not in self.errors:
                self.add_error(name, message)

    def _require_amount(self, name: str, noun: str) -> None:
        if not str(self.cleaned_data.get(name) or "").strip():
            self.add_error(name, f"Enter the fixed {noun}, or choose a percentage instead.")

    def _parse(self, name: str, text: str, currency: str) -> int | None:
        """`text` in minor units of `currency`, or None with a field error on `name`."""
        # A pasted "€20" is fine; "20,50" is refused rather than guessed at.
        text = (text or "").strip().removeprefix(CURRENCY_SYMBOLS.get(currency, "")).strip()
        if not text:
            return 0
        exponent = CURRENCY_EXPONENTS[currency]
        example = format_money(2050 if exponent else 20, currency)
        try:
            minor = parse_money(text, currency)
        except ValueError:
            if exponent:
                places = f"{exponent} decimal places" if exponent > 1 else "1 decimal place"
                precision = f"at most {places}"
            else:
                precision = "no decimals"
            self.add_error(
                name, f"Enter an amount in {currency} with {precision}, for example {example}."
            )
            return None
        if minor < 0:
            self.add_error(name, "Enter an amount of zero or more.")
            return None
        if minor > MAX_AMOUNT:
            self.add_error(name, f"Enter an amount below {format_money(MAX_AMOUNT, currency)}.")
            return None
        if name in ("shopper_reward_amount", "advocate_reward_amount") and minor == 0:
            noun = "discount" if name == "shopper_reward_amount" else "commission"
            self.add_error(
                name, f"A fixed {noun} of zero gives nothing; enter an amount above zero."
            )
            return None
        return minor
