"""The form that makes a merchant API key."""

from django import forms

from advocacy.models import Programme
from referrals.models import Store


class ApiKeyCreateForm(forms.Form):
    """A new merchant API key: a name to know it by, the store it records orders for and,
    optionally, the programmes it acts for."""

    name = forms.CharField(
        max_length=100,
        help_text="Who or what uses the key, e.g. “Shopify store” or “POS, Berlin shop”.",
    )
    store = forms.ModelChoiceField(
        queryset=Store.objects.filter(kind=Store.Kind.API).order_by("name"),
        required=False,
        empty_label="A new store, named after the key",
        help_text="The key sees and records only this store's orders. Give a shop's tills and "
        "servers keys of the same store; a new shop gets a new store, so its order numbers "
        "never meet another shop's.",
    )
    programmes = forms.ModelMultipleChoiceField(
        queryset=Programme.objects.order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="The key can only see codes and record sales for these programmes. "
        "Tick none for a key that acts for all the store's programmes.",
    )


class StoreForm(forms.ModelForm):
    """A store's name and the programmes its keys may act for (saved by `store_update`)."""

    class Meta:
        model = Store
        fields = ["name", "programmes"]
        widgets = {"programmes": forms.CheckboxSelectMultiple}
        help_texts = {
            "programmes": "Every key of this store can only see codes and record sales for "
            "these programmes (and its own, if it has any). Tick none for all programmes.",
        }
