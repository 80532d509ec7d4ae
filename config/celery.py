"""The Celery app. Tasks are thin wrappers over services; see each app's tasks.py."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("streetteam")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# One place for the periodic schedule (celery beat).
app.conf.beat_schedule = {
    "drain-clicks": {"task": "referrals.tasks.clicks_drain", "schedule": 5.0},
    # Commissions whose hold ended: auto-approve under the limit, else queue for review.
    "release-held-commissions": {
        "task": "referrals.tasks.commissions_release_held",
        "schedule": crontab(minute=15),
    },
}
