"""The Celery app, and the one place that says where each task runs (queues) and when (beat).

Tasks are thin wrappers over services; see each app's tasks.py. Workers consume the four
queues; past one machine they are split per queue (README, "Production deployment"):

- `clicks`: the click drain, every few seconds, in batches of thousands;
- `webhooks`: applying stored Stripe events, so a burst of events never waits behind other work;
- `payouts`: money leaving (one task per payout), the stuck-payout recovery and the emails;
- `default`: everything else, including any new task nobody routed on purpose.
"""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("streetteam")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

QUEUES = ("clicks", "webhooks", "payouts", "default")

# By task name (globs allowed); the first match wins, no match means `default`.
app.conf.task_default_queue = "default"
app.conf.task_routes = {
    "referrals.tasks.clicks_drain": {"queue": "clicks"},
    # Every task that applies a stored Stripe webhook event.
    "referrals.tasks.stripe_event_*": {"queue": "webhooks"},
    "referrals.tasks.payout_execute": {"queue": "payouts"},
    "referrals.tasks.payout_email": {"queue": "payouts"},
    "referrals.tasks.payouts_recover_stuck": {"queue": "payouts"},
}

# One place for the periodic schedule (celery beat). Beat sends by name, so an entry whose task
# is not registered yet costs nothing until a worker knows it.
app.conf.beat_schedule = {
    # A drain not started within 10 s is dropped: the next one does its work, and a stopped
    # worker doesn't come back to a pile of them.
    "drain-clicks": {
        "task": "referrals.tasks.clicks_drain",
        "schedule": 5.0,
        "options": {"expires": 10},
    },
    # Commissions whose hold ended: auto-approve under the limit, else queue for review.
    "release-held-commissions": {
        "task": "referrals.tasks.commissions_release_held",
        "schedule": crontab(minute=15),
    },
    # Stripe payouts stuck in processing past the execute task's retries: ask Stripe, settle.
    "recover-stuck-payouts": {
        "task": "referrals.tasks.payouts_recover_stuck",
        "schedule": crontab(minute="*/20"),
    },
    # Draft payout batches for the programmes whose payout schedule falls today (managers still
    # approve them); early, so they are waiting when the finance team starts its day.
    "build-scheduled-payout-batches": {
        "task": "referrals.tasks.payouts_build_scheduled",
        "schedule": crontab(hour=5, minute=0),
    },
    # Compare our orders, refunds and payouts with Stripe's records once a day, off-peak.
    "stripe-reconcile": {
        "task": "referrals.tasks.stripe_reconcile",
        "schedule": crontab(hour=4, minute=30),
    },
}
