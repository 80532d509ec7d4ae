from django import forms

from referrals.models import Commission

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
