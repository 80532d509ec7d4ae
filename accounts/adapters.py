from allauth.account.adapter import DefaultAccountAdapter
from django.urls import reverse

from kernel.client_ip import client_ip

# allauth's notice of a removed address goes to the primary one, which may be the very address
# that took the account over: the removed address must hear of it too.
EMAIL_DELETED_NOTICE = "account/email/email_deleted"


class AccountAdapter(DefaultAccountAdapter):
    """allauth customisation point; signup stays open (programmes decide who may join)."""

    def is_open_for_signup(self, request):
        return True

    def get_login_redirect_url(self, request):
        """Where a login lands when it names no `?next=` (allauth lets that one win before
        asking here): staff who may open the Wagtail admin go to it, advocates to their
        dashboard (LOGIN_REDIRECT_URL)."""
        if request.user.has_perm("wagtailadmin.access_admin"):
            return reverse("wagtailadmin_home")
        return super().get_login_redirect_url(request)

    def send_notification_mail(self, template_prefix, user, context=None, email=None):
        """Called by allauth after a security-relevant change (ACCOUNT_EMAIL_NOTIFICATIONS).

        A removed address is told as well as the primary one, so the owner learns of the change
        at the address they still read."""
        super().send_notification_mail(template_prefix, user, context, email)
        deleted = (context or {}).get("deleted_email")
        if template_prefix == EMAIL_DELETED_NOTICE and deleted and deleted != email:
            super().send_notification_mail(template_prefix, user, context, email=deleted)

    def get_client_ip(self, request):
        """The address allauth's rate limits (login, signup, password reset) key on: the same
        one as ours, so STREETTEAM_TRUSTED_PROXY_HOPS governs both."""
        return client_ip(request)
