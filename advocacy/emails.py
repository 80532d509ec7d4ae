"""Emails to advocates about their membership, plain text and HTML from templates.

Transactional (security notices): they go to every advocate whatever their marketing preferences.
"""

from datetime import datetime
from email.utils import parseaddr

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from advocacy.models import Advocate
from advocacy.payout_details import payout_details_summary


def send_templated_email(
    *, to: str | list[str], subject: str, template: str, context: dict
) -> None:
    """Send emails/<template>.txt with emails/<template>.html as its HTML alternative."""
    context = {**context, "SITE_URL": settings.SITE_URL}
    text = render_to_string(f"emails/{template}.txt", context)
    html = render_to_string(f"emails/{template}.html", context)
    recipients = [to] if isinstance(to, str) else to
    message = EmailMultiAlternatives(subject=subject, body=text, to=recipients)
    message.attach_alternative(html, "text/html")
    message.send()


def security_notice_recipients(user) -> list[str]:
    """Every address that can prove it belongs to the account: the login address and each verified
    one. Whoever just added or promoted an address still can't keep the owner's other verified
    addresses out of the notice (removing one needs the password again, and is itself mailed to
    the removed address)."""
    verified = EmailAddress.objects.filter(user=user, verified=True).order_by("email")
    addresses = [user.email, *verified.values_list("email", flat=True)]
    return list(dict.fromkeys(address.lower() for address in addresses))


def payout_details_changed_email(*, advocate_id: int, changed_at: str) -> None:
    """Tell the advocate their payout details changed, showing only the masked destination, at
    every address of the account (security_notice_recipients)."""
    advocate = Advocate.objects.select_related("user", "programme").get(pk=advocate_id)
    send_templated_email(
        to=security_notice_recipients(advocate.user),
        subject=f"Your payout details were changed · {advocate.programme.name}",
        template="payout_details_changed",
        context={
            "advocate": advocate,
            "programme": advocate.programme,
            "payout": payout_details_summary(advocate),
            "changed_at": datetime.fromisoformat(changed_at),
            "contact_email": parseaddr(settings.DEFAULT_FROM_EMAIL)[1],
            "settings_url": settings.SITE_URL
            + reverse("payout_settings")
            + f"?programme={advocate.programme.slug}",
            "password_url": settings.SITE_URL + reverse("account_change_password"),
        },
    )
