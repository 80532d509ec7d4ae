from django import forms


class JoinForm(forms.Form):
    accept_terms = forms.BooleanField(
        required=True,
        label="I have read and accept the programme terms",
        error_messages={"required": "Please accept the programme terms to join."},
    )
