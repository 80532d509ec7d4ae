"""The form that makes a merchant API key."""

from django import forms

from advocacy.models import Programme


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
