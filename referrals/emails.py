"""Emails to advocates about their money, plain text and HTML from templates.

Transactional: they go to every advocate whatever their marketing preferences.
"""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from .models import Commission, Payout

COMMISSION_SUBJECTS = {
    "earned": "You earned a commission",
    "approved": "Your commission was approved",
    "reversed": "A commission was reversed",
}
PAYOUT_SUBJECTS = {
    "sent": "Your payout is on its way",
    "failed": "Your payout didn't go through",
}


def _send(*, to: str, subject: str, template: str, context: dict) -> None:
    context = {**context, "SITE_URL": settings.SITE_URL}
    text = render_to_string(f"emails/{template}.txt", context)
    html = render_to_string(f"emails/{template}.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=[to])
    message.attach_alternative(html, "text/html")
    message.send()


def commission_email(*, commission_id: int, event: str) -> None:
    commission = Commission.objects.select_related(
        "advocate__user", "advocate__programme", "order"
    ).get(pk=commission_id)
    advocate = commission.advocate
    _send(
        to=advocate.user.email,
        subject=f"{COMMISSION_SUBJECTS[event]} · {advocate.programme.name}",
        template=f"commission_{event}",
        context={"commission": commission, "advocate": advocate, "programme": advocate.programme},
    )


def payout_email(*, payout_id: int, event: str) -> None:
    payout = Payout.objects.select_related("advocate__user", "advocate__programme").get(
        pk=payout_id
    )
    advocate = payout.advocate
    _send(
        to=advocate.user.email,
        subject=f"{PAYOUT_SUBJECTS[event]} · {advocate.programme.name}",
        template=f"payout_{event}",
        context={"payout": payout, "advocate": advocate, "programme": advocate.programme},
    )
