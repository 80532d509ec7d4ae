from django import forms

from advocacy.models import Programme
from referrals.models import Commission, PayoutBatch
from referrals.sandbox.products import PRODUCTS


class CheckoutForm(forms.Form):
    product = forms.ChoiceField(choices=[(p.slug, p.name) for p in PRODUCTS])
    quantity = forms.IntegerField(min_value=1, max_value=10, initial=1)
    email = forms.EmailField(
        label="Email for the receipt",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    code = forms.CharField(
        label="Referral code",
        required=False,
        max_length=32,
        help_text="Got a code from a friend? It's filled in if you followed their link.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )
    # Set on the confirmation step; the order's external id, so a double submit pays once.
    checkout_token = forms.CharField(required=False, widget=forms.HiddenInput)


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


class PayoutBatchBuildForm(forms.Form):
    programme = forms.ModelChoiceField(
        queryset=Programme.objects.all(),
        help_text=(
            "Every advocate whose payable balance reaches the programme's payout threshold is "
            "included; their balance is reserved until the batch is paid or cancelled."
        ),
    )
    backend = forms.ChoiceField(
        label="Pay through",
        choices=PayoutBatch.Backend.choices,
        initial=PayoutBatch.Backend.MANUAL,
        widget=forms.RadioSelect,
    )


class PayoutBatchApproveForm(forms.Form):
    password = forms.CharField(
        label="Your password",
        strip=False,
        help_text="Approving sends money: confirm it is you.",
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class PayoutBatchCancelForm(forms.Form):
    reason = forms.CharField(
        label="Why cancel?",
        max_length=500,
        help_text="Every reserved balance is given back; kept in the audit log.",
    )


class PayoutMarkPaidForm(forms.Form):
    reference = forms.CharField(
        label="Bank reference",
        max_length=255,
        help_text="The bank's or PayPal's reference for the transfer.",
    )


class PayoutMarkFailedForm(forms.Form):
    reason = forms.CharField(
        label="Why did it fail?",
        max_length=300,
        help_text="Shown to the advocate; the amount goes back to their balance.",
    )


class ApiKeyCreateForm(forms.Form):
    """A new merchant API key: a name to know it by and, optionally, the programmes it acts for."""

    name = forms.CharField(
        max_length=100,
        help_text="Who or what uses the key, e.g. “Shopify store” or “POS, Berlin shop”.",
    )
    programmes = forms.ModelMultipleChoiceField(
        queryset=Programme.objects.order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="The key can only see codes and record sales for these programmes. "
        "Tick none for a key that acts for all programmes.",
    )
