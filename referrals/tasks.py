"""Celery tasks of the referral core: thin wrappers over services, taking ids, never model
instances. The link's, payouts' and Stripe's tasks are in their sub-packages (`links/tasks.py`,
`payouts/tasks.py`, `stripe/tasks.py`); `ReferralsConfig.ready` registers them all."""

from celery import shared_task

from kernel.jobs import EMAIL_RETRY
from referrals import emails
from referrals.services import commissions


@shared_task(name="referrals.tasks.commissions_release_held", ignore_result=True)
def commissions_release_held() -> dict:
    return commissions.commissions_release_held()


@shared_task(name="referrals.tasks.commission_email", ignore_result=True, **EMAIL_RETRY)
def commission_email(commission_id: int, event: str) -> None:
    emails.commission_email(commission_id=commission_id, event=event)
