"""Celery tasks: thin wrappers over services, taking ids, never model instances."""

import stripe
from celery import shared_task

from . import emails
from .services import clicks, commissions, payouts, stripe_events


@shared_task(name="referrals.tasks.clicks_drain", ignore_result=True)
def clicks_drain() -> int:
    return clicks.clicks_drain()


@shared_task(name="referrals.tasks.commissions_release_held", ignore_result=True)
def commissions_release_held() -> dict:
    return commissions.commissions_release_held()


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


@shared_task(name="referrals.tasks.commission_email", ignore_result=True)
def commission_email(commission_id: int, event: str) -> None:
    emails.commission_email(commission_id=commission_id, event=event)


@shared_task(name="referrals.tasks.payout_email", ignore_result=True)
def payout_email(payout_id: int, event: str) -> None:
    emails.payout_email(payout_id=payout_id, event=event)


@shared_task(name="referrals.tasks.stripe_event_apply", ignore_result=True)
def stripe_event_apply(event_pk: int) -> None:
    stripe_events.stripe_event_apply(event_pk)
