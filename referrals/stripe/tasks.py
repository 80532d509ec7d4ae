"""Celery tasks of Stripe: thin wrappers over services, taking ids."""

import logging
from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from referrals.stripe import client as stripe_api
from referrals.stripe import events as stripe_events
from referrals.stripe import promotion_codes as stripe_sync
from referrals.stripe import reconcile as stripe_reconcile_service

logger = logging.getLogger(__name__)


@shared_task(name="referrals.tasks.stripe_event_apply", ignore_result=True)
def stripe_event_apply(event_pk: int) -> None:
    stripe_events.stripe_event_apply(event_pk)


@shared_task(name="referrals.tasks.stripe_reconcile", ignore_result=True)
def stripe_reconcile(days: int = 3) -> dict:
    """Daily: the last `days` compared with Stripe; missed events applied, failed ones replayed.
    The summary lands in the audit log, where the admin's Stripe events page shows it."""
    since = timezone.now() - timedelta(days=days)
    try:
        report = stripe_reconcile_service.stripe_reconcile(since=since, apply=True)
    except stripe_api.StripeUnavailable:
        logger.info("stripe reconciliation skipped: the Stripe integration is off")
        return {"skipped": "Stripe integration is off"}
    summary = report.summary()
    logger.info("stripe reconciliation: %s", summary)
    return summary


# Mirroring programmes (coupons) and rep codes (promotion codes) into Stripe: queued on commit
# by referrals.receivers. Transient Stripe errors retry with the same idempotency keys.
STRIPE_SYNC_RETRY = {
    "autoretry_for": stripe_sync.TRANSIENT_ERRORS,
    "retry_backoff": True,
    "retry_backoff_max": 600,
    "max_retries": 8,
}


@shared_task(
    name="referrals.tasks.stripe_programme_coupon_sync", ignore_result=True, **STRIPE_SYNC_RETRY
)
def stripe_programme_coupon_sync(programme_id: int) -> None:
    stripe_sync.programme_coupon_sync(programme_id=programme_id)


@shared_task(
    name="referrals.tasks.stripe_repcode_promotion_sync", ignore_result=True, **STRIPE_SYNC_RETRY
)
def stripe_repcode_promotion_sync(repcode_id: int) -> None:
    stripe_sync.repcode_promotion_sync(repcode_id=repcode_id)
