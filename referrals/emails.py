"""Emails to advocates about their money, plain text and HTML from templates.

Transactional: they go to every advocate whatever their marketing preferences.
"""

from advocacy.emails import send_templated_email
from referrals.models import Commission, Payout

COMMISSION_SUBJECTS = {
    "earned": "You earned a commission",
    "approved": "Your commission was approved",
    "reversed": "A commission was reversed",
}
PAYOUT_SUBJECTS = {
    "sent": "Your payout is on its way",
    "failed": "Your payout didn't go through",
    "held": "Your payout waits for a check of your new payout details",
}


def commission_email(*, commission_id: int, event: str) -> None:
    commission = Commission.objects.select_related(
        "advocate__user", "advocate__programme", "order"
    ).get(pk=commission_id)
    advocate = commission.advocate
    send_templated_email(
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
    send_templated_email(
        to=advocate.user.email,
        subject=f"{PAYOUT_SUBJECTS[event]} · {advocate.programme.name}",
        template=f"payout_{event}",
        context={"payout": payout, "advocate": advocate, "programme": advocate.programme},
    )
