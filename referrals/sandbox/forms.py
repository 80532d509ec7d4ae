"""The demo shop's checkout form."""

from django import forms

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
