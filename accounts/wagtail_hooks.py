"""The admin's Account page links to the two-factor settings (allauth.mfa): where staff see their
authenticator app and recovery codes, or set one up."""

from django.urls import reverse
from wagtail import hooks


@hooks.register("register_account_menu_item")
def two_factor_settings(request):
    return {
        "url": reverse("mfa_index"),
        "label": "Two-factor authentication",
        "help_text": "Your authenticator app and recovery codes: set them up, see or renew them.",
    }
