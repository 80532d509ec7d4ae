from django import forms

from advocacy.models import Advocate
from kernel.money import parse_money
from referrals.models import Adjustment, Commission

# ------------------------------------------------------------------------------
# The managers' admin (referrals.admin_views)


class CommissionDecisionForm(forms.Form):
    """The commission queue's bulk form: approve or reject the ticked commissions."""

    APPROVE = "approve"
    REJECT = "reject"

    action = forms.ChoiceField(choices=[(APPROVE, "Approve"), (REJECT, "Reject")])
    commissions = forms.ModelMultipleChoiceField(
        queryset=Commission.objects.select_related("order"),
        error_messages={"required": "Tick at least one commission first."},
    )
    reason = forms.CharField(
        label="Note or reason",
        required=False,
        max_length=500,
        help_text="Required to reject; kept in the audit log.",
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("action") == self.REJECT and not cleaned.get("reason", "").strip():
            self.add_error("reason", "Say why the commissions are rejected.")
        return cleaned


class FraudSignalResolveForm(forms.Form):
    """A manager's decision on a fraud signal (`admin_views.FraudSignalResolveView`)."""

    DISMISS = "dismiss"
    CREDIT = "credit"

    outcome = forms.ChoiceField(
        label="Decision",
        choices=[
            (DISMISS, "Dismiss: the order stays without commission"),
            (CREDIT, "Grant the commission the order would have earned"),
        ],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label="Reason",
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Required to dismiss; kept on the signal and in the audit log.",
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("outcome") == self.DISMISS and not cleaned.get("reason", "").strip():
            self.add_error("reason", "Say why the signal is dismissed.")
        return cleaned


class AdjustmentForm(forms.Form):
    """A manual bonus or correction (`admin_views.AdjustmentCreateView`). The amount is typed in
    currency units ("12.50", "-3") of the advocate's programme currency."""

    # An id, not a list of every advocate: the screen is opened from an advocate (or a ledger
    # row) with ?advocate=<id>, and shows who it is.
    advocate = forms.ModelChoiceField(
        queryset=Advocate.objects.select_related("user", "programme"),
        label="Advocate number",
        widget=forms.NumberInput,
        error_messages={"invalid_choice": "There is no advocate with that number."},
    )
    kind = forms.ChoiceField(
        label="Kind",
        choices=Adjustment.Kind.choices,
        widget=forms.RadioSelect,
        help_text="A bonus adds money; a correction adds or takes away (type a minus sign).",
    )
    amount = forms.CharField(
        label="Amount", max_length=24, help_text="In the programme's currency, e.g. 12.50."
    )
    reason = forms.CharField(
        label="Reason",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The advocate sees it beside the amount in their payout history.",
    )
    # One per form shown: submitting the same form twice adds one adjustment.
    token = forms.UUIDField(widget=forms.HiddenInput)

    def clean(self):
        cleaned = super().clean()
        advocate, text = cleaned.get("advocate"), cleaned.get("amount")
        if advocate is None or text is None:
            return cleaned
        currency = advocate.programme.currency
        try:
            cleaned["amount_minor"] = parse_money(text.replace(",", ""), currency)
        except ValueError:
            self.add_error(
                "amount",
                f"Enter an amount in {currency}, like 12.50 (at most the currency's decimals).",
            )
        return cleaned
