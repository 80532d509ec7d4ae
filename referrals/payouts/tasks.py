"""Celery tasks of payouts: thin wrappers over services, taking ids."""

import stripe
from celery import shared_task

from kernel.jobs import EMAIL_RETRY
from referrals import emails
from referrals.payouts import services as payouts


@shared_task(
    name="referrals.tasks.payout_execute",
    ignore_result=True,
    # Network trouble and Stripe 5xx: try again later with the same idempotency key.
    autoretry_for=(stripe.APIConnectionError, stripe.APIError, stripe.RateLimitError),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=8,
)
def payout_execute(payout_id: int) -> None:
    payouts.payout_execute(payout_id=payout_id)


@shared_task(name="referrals.tasks.payouts_recover_stuck", ignore_result=True)
def payouts_recover_stuck() -> dict:
    """Beat: payouts stuck in processing after the execute task's retries, settled from what
    Stripe says (payouts.services.recovery)."""
    report = payouts.payout_recover_stuck()
    return {
        "checked": report.checked,
        "paid": report.paid,
        "retried": report.retried,
        "failed": report.failed,
        "unreachable": report.unreachable,
    }


@shared_task(name="referrals.tasks.payouts_build_scheduled", ignore_result=True)
def payouts_build_scheduled() -> list[int]:
    """Beat, daily: the draft batches of the programmes whose payout schedule falls today
    (payouts.services.schedule); managers still approve them."""
    return [batch.pk for batch in payouts.payout_schedule_run()]


@shared_task(name="referrals.tasks.payout_email", ignore_result=True, **EMAIL_RETRY)
def payout_email(payout_id: int, event: str) -> None:
    emails.payout_email(payout_id=payout_id, event=event)
