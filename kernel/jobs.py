"""Queue a Celery task by its registered name once the current transaction commits.

Services queue follow-up work (emails, payout transfers, Stripe mirroring) through here instead
of importing the tasks modules, which import the services: the task's name is the contract, and
each app's `AppConfig.ready` imports its tasks modules, so every name is registered before a
request, a command or a worker runs. Task names are wire names (beat, routes and queued
messages use them), so they stay fixed when a task's function moves.
"""

from celery import current_app
from django.db import transaction

# A mail server that is down, unreachable or refusing for now (smtplib's errors are OSErrors):
# try again later, backing off, rather than lose the message. Every email task uses it.
EMAIL_RETRY = {
    "autoretry_for": (OSError,),
    "retry_backoff": 30,
    "retry_backoff_max": 3600,
    "max_retries": 6,
}


def task(name: str):
    """The registered task called `name` (KeyError for a name nothing registered)."""
    return current_app.tasks[name]


def enqueue_on_commit(name: str, *args) -> None:
    """Send `name(*args)` to the queue after the current transaction commits (at once outside
    one), so a worker never reads rows that are not committed yet."""
    queued = task(name)
    transaction.on_commit(lambda: queued.delay(*args))
