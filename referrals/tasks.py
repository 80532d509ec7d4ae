"""Celery tasks: thin wrappers over services, taking ids, never model instances."""

from celery import shared_task

from .services.clicks import clicks_drain as _clicks_drain


@shared_task(name="referrals.tasks.clicks_drain", ignore_result=True)
def clicks_drain() -> int:
    return _clicks_drain()
