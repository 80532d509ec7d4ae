"""Emails to advocates about their membership, plain text and HTML from templates.

Transactional (security notices): they go to every advocate whatever their marketing preferences.
"""

from datetime import datetime
from email.utils import parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from advocacy.models import Advocate
from advocacy.payout_details import payout_details_summary


def send_templated_email(*, to: str, subject: str, template: str, context: dict) -> None:
    """Send emails/<template>.txt with emails/<template>.html as its HTML alternative."""
    context = {**context, "SITE_URL": settings.SITE_URL}
    text = render_to_string(f"emails/{template}.txt", context)
    html = render_to_string(f"emails/{template}.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=[to])
    message.attach_alternative(html, "text/html")
    message.send()


def payout_details_changed_email(*, advocate_id: int, changed_at: str) -> None:
    """Tell the advocate their payout details changed, showing only the masked destination."""
    advocate = Advocate.objects.select_related("user", "programme").get(pk=advocate_id)
    send_templated_email(
        to=advocate.user.email,
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
