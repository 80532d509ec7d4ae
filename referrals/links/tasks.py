"""Celery tasks of the referral link: thin wrappers over services, taking ids."""

from celery import shared_task

from referrals.links import clicks


@shared_task(name="referrals.tasks.clicks_drain", ignore_result=True)
def clicks_drain() -> int:
    return clicks.clicks_drain()
