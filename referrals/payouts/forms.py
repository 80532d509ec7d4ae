"""Forms of the payout batch screens."""

from django import forms

from advocacy.models import Programme
from referrals.models import PayoutBatch


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
