"""Celery in production: which queue each task lands on, what beat sends, and emails that retry
when the mail server fails.

The routing test walks every task the project registers, so a new task shows up here: one with
no deliberate route lands on `default`, and giving it another queue means adding it to QUEUE_OF.
"""

import fnmatch
import smtplib

import pytest
from celery.exceptions import Retry
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend

from config.celery import QUEUES, app
from ops.run_prod import QUEUES as RUN_PROD_QUEUES
from referrals.models import Commission
from referrals.services.orders import order_ingest
from referrals.tasks import commission_email

PROJECT_APPS = ("accounts.", "advocacy.", "cms.", "referrals.")

# Deliberate choices; every other project task belongs on `default`.
QUEUE_OF = {
    "referrals.tasks.clicks_drain": "clicks",
    "referrals.tasks.stripe_event_*": "webhooks",
    "referrals.tasks.payout_execute": "payouts",
    "referrals.tasks.payout_email": "payouts",
    # Settles payouts stuck in processing: money leaving, like payout_execute (issue #16).
    "referrals.tasks.payouts_recover_stuck": "payouts",
}


def intended_queue(name: str) -> str:
    for pattern, queue in QUEUE_OF.items():
        if fnmatch.fnmatchcase(name, pattern):
            return queue
    return "default"


def routed_queue(name: str) -> str:
    return app.amqp.router.route({}, name)["queue"].name


def project_tasks() -> list[str]:
    app.loader.import_default_modules()  # autodiscovery, as a worker does at start
    return sorted(name for name in app.tasks if name.startswith(PROJECT_APPS))


def test_every_project_task_is_routed_to_its_intended_queue():
    names = project_tasks()
    assert "referrals.tasks.clicks_drain" in names
    assert "advocacy.tasks.payout_details_changed_email" in names
    assert {name: routed_queue(name) for name in names} == {
        name: intended_queue(name) for name in names
    }


def test_each_queue_is_named_by_a_route_or_the_default_and_the_worker_consumes_them_all():
    routed = {route["queue"] for route in app.conf.task_routes.values()}
    assert routed | {app.conf.task_default_queue} == set(QUEUES)
    assert set(RUN_PROD_QUEUES) == set(QUEUES)


@pytest.mark.parametrize(
    ("task", "queue"),
    [
        ("referrals.tasks.stripe_event_apply", "webhooks"),
        ("referrals.tasks.stripe_event_replay", "webhooks"),  # a future webhook task
        ("referrals.tasks.stripe_reconcile", "default"),  # Stripe calls, not an event
        ("referrals.tasks.commission_email", "default"),
        ("referrals.tasks.some_new_task", "default"),
    ],
)
def test_routes_match_task_names_including_tasks_not_written_yet(task, queue):
    assert routed_queue(task) == queue


def test_beat_sends_the_click_drain_to_the_clicks_queue_and_reconciles_daily():
    schedule = app.conf.beat_schedule
    assert routed_queue(schedule["drain-clicks"]["task"]) == "clicks"
    reconcile = schedule["stripe-reconcile"]
    assert reconcile["task"] == "referrals.tasks.stripe_reconcile"
    assert (reconcile["schedule"].hour, reconcile["schedule"].minute) == ({4}, {30})
    registered = set(project_tasks())
    # Every entry names a real task, except the reconciliation another change is adding.
    unknown = {entry["task"] for entry in schedule.values()} - registered
    assert unknown <= {"referrals.tasks.stripe_reconcile"}


def run_like_a_worker(signature) -> tuple[list[float], object]:
    """Run a task as a worker does: when it asks for a retry, run the retry (at once).

    The countdowns it asked for, and its result."""
    countdowns = []
    while True:
        try:
            return countdowns, signature.apply(throw=True).get()
        except Retry as retry:
            countdowns.append(retry.when)
            signature = retry.sig


@pytest.fixture
def commission(rep_code, django_capture_on_commit_callbacks):
    """An earned commission, its email task not run yet."""
    with django_capture_on_commit_callbacks(execute=False):
        order_ingest(
            source="api",
            external_id="email-retry",
            currency=rep_code.advocate.programme.currency,
            gross_amount=10_000,
            code=rep_code.code,
        )
    return Commission.objects.get(advocate=rep_code.advocate)


def test_a_commission_email_is_retried_with_backoff_until_the_mail_server_takes_it(
    commission, monkeypatch
):
    failures = [
        smtplib.SMTPServerDisconnected("Connection unexpectedly closed"),
        ConnectionRefusedError(111, "Connection refused"),
        smtplib.SMTPDataError(451, "Try again later"),
    ]
    send_messages = EmailBackend.send_messages

    def flaky_send(self, messages):
        if failures:
            raise failures.pop(0)
        return send_messages(self, messages)

    monkeypatch.setattr(EmailBackend, "send_messages", flaky_send)
    countdowns, _ = run_like_a_worker(commission_email.s(commission.pk, "earned"))

    assert len(countdowns) == 3
    assert [m.to for m in mail.outbox] == [[commission.advocate.user.email]]
    # Exponential backoff (with jitter, so only the ceilings are fixed): 30 s, 60 s, 120 s.
    assert all(0 <= c <= 30 * 2**i for i, c in enumerate(countdowns))


def test_an_email_that_keeps_failing_gives_up_after_its_retries(commission, monkeypatch):
    attempts = []

    def down(self, messages):
        attempts.append(1)
        raise smtplib.SMTPConnectError(421, "Service not available")

    monkeypatch.setattr(EmailBackend, "send_messages", down)
    with pytest.raises(smtplib.SMTPConnectError):
        run_like_a_worker(commission_email.s(commission.pk, "earned"))
    assert len(attempts) == 1 + commission_email.max_retries
    assert mail.outbox == []
