"""Celery tasks: thin wrappers over services and emails, taking ids, never model instances."""

from celery import shared_task

from advocacy import emails

# A mail server that is down, unreachable or refusing for now (smtplib's errors are OSErrors):
# try again later, backing off, rather than lose the message. Every email task uses it.
EMAIL_RETRY = {
    "autoretry_for": (OSError,),
    "retry_backoff": 30,
    "retry_backoff_max": 3600,
    "max_retries": 6,
}


@shared_task(name="advocacy.tasks.payout_details_changed_email", ignore_result=True, **EMAIL_RETRY)
def payout_details_changed_email(advocate_id: int, changed_at: str) -> None:
    emails.payout_details_changed_email(advocate_id=advocate_id, changed_at=changed_at)
