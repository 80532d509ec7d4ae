"""Receivers for other packages' signals; each calls one service."""

from allauth.account.signals import user_signed_up
from django.dispatch import receiver

from .cookies import referral_from_request
from .services.accounts import account_bind_referral


@receiver(user_signed_up, dispatch_uid="referrals_bind_signup")
def bind_referral_on_signup(sender, request, user, **kwargs):
    # Runs inside the signup request's transaction, before the session key rotates.
    if request is not None:
        account_bind_referral(user=user, link=referral_from_request(request))
