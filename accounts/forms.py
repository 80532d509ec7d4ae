from django import forms


class SignupForm(forms.Form):
    """Extra fields on allauth's signup form (ACCOUNT_SIGNUP_FORM_CLASS)."""

    first_name = forms.CharField(
        max_length=150,
        label="First name",
        help_text="Shown to the friends you refer, so they know the offer comes from you.",
        widget=forms.TextInput(attrs={"autocomplete": "given-name"}),
    )

    def signup(self, request, user):
        """Called by allauth once the user exists, inside the signup request."""
        user.first_name = self.cleaned_data["first_name"].strip()
        user.save(update_fields=["first_name"])
