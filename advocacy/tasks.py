"""Celery tasks: thin wrappers over services and emails, taking ids, never model instances."""

from celery import shared_task

from advocacy import emails
from kernel.jobs import EMAIL_RETRY


@shared_task(name="advocacy.tasks.payout_details_changed_email", ignore_result=True, **EMAIL_RETRY)
def payout_details_changed_email(advocate_id: int, changed_at: str) -> None:
    emails.payout_details_changed_email(advocate_id=advocate_id, changed_at=changed_at)
