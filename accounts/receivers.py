"""Receivers of allauth's account signals."""

from allauth.account.adapter import get_adapter
from allauth.account.signals import email_added
from django.dispatch import receiver


@receiver(email_added, dispatch_uid="accounts_email_added_notice")
def email_added_notice(sender, request, user, email_address, **kwargs):
    """allauth tells the old address when the primary one changes or one is removed, but not when
    one is added: the first step of taking an account over. Tell the primary address now."""
    get_adapter(request).send_notification_mail(
        "account/email/email_added", user, {"added_email": email_address.email}
    )
