"""Celery tasks: thin wrappers over services and emails, taking ids, never model instances."""

from celery import shared_task

from . import emails


@shared_task(name="advocacy.tasks.payout_details_changed_email", ignore_result=True)
def payout_details_changed_email(advocate_id: int, changed_at: str) -> None:
    emails.payout_details_changed_email(advocate_id=advocate_id, changed_at=changed_at)
