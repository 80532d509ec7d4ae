from django import forms
from django.core.exceptions import ValidationError

from advocacy.iban import validate_iban
from advocacy.models import Advocate
from advocacy.services import ACCOUNT_HOLDER_MAX


class JoinForm(forms.Form):
    accept_terms = forms.BooleanField(
        required=True,
        label="I have read and accept the programme terms",
        error_messages={"required": "Please accept the programme terms to join."},
    )


class PayoutDetailsForm(forms.Form):
    """How the advocate wants to be paid. Only the chosen method's fields are required; the
    service (`advocate_payout_details_update`) checks the same rules again before saving."""

    method = forms.ChoiceField(
        label="How do you want to be paid?",
        choices=Advocate.PayoutMethod.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose how you want to be paid."},
    )
    account_holder = forms.CharField(
        label="Account holder",
        required=False,
        max_length=ACCOUNT_HOLDER_MAX,
        help_text="The name on the bank account, as your bank spells it.",
        error_messages={"required": "Enter the name on the bank account."},
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    iban = forms.CharField(
        label="IBAN",
        required=False,
        max_length=50,  # 34 characters, with room for the spaces people type
        help_text="Spaces are fine. You can find it in your banking app or on a bank statement.",
        error_messages={"required": "Enter your IBAN."},
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "autocapitalize": "characters",
                "spellcheck": "false",
            }
        ),
    )
    paypal_email = forms.EmailField(
        label="PayPal email address",
        required=False,
        help_text="The email address you log in to PayPal with.",
        error_messages={
            "required": "Enter the email address of your PayPal account.",
            "invalid": "Enter the email address of your PayPal account, like name@example.com.",
        },
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    # The fields each method needs: required when that method is chosen, ignored otherwise.
    METHOD_FIELDS = {
        Advocate.PayoutMethod.BANK: ("account_holder", "iban"),
        Advocate.PayoutMethod.PAYPAL: ("paypal_email",),
    }

    def __init__(self, *args, masked_iban: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        chosen = self.data.get("method") if self.is_bound else None
        for method, names in self.METHOD_FIELDS.items():
            for name in names:
                # Unbound, every method's fields show as required (only the chosen method's
                # panel is visible); bound, only the chosen method's fields are checked.
                self.fields[name].required = not self.is_bound or chosen == method
        # An IBAN on file is never sent back to the browser; leaving the field empty keeps it.
        self.masked_iban = masked_iban
        if masked_iban:
            self.fields["iban"].required = False
            self.fields["iban"].help_text = (
                f"We have {masked_iban} on file: leave this empty to keep it, or enter a new "
                "IBAN to replace it. Spaces are fine."
            )

    def clean(self):
        cleaned = super().clean()
        chosen = cleaned.get("method")
        for method, names in self.METHOD_FIELDS.items():
            if method != chosen:  # a hidden panel's leftovers are neither checked nor used
                for name in names:
                    self._errors.pop(name, None)
                    cleaned.pop(name, None)
        iban = cleaned.get("iban", "")
        if chosen == Advocate.PayoutMethod.BANK and iban:
            try:
                cleaned["iban"] = validate_iban(iban)
            except ValidationError as exc:
                self.add_error("iban", exc)
        return cleaned

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "method": data["method"],
            "account_holder": data.get("account_holder", ""),
            "iban": data.get("iban") or None,
            "paypal_email": data.get("paypal_email", ""),
        }
