"""Stripe events in the admin: the webhook's log with filters, each event's payload and error,
a replay button for those allowed to use it (with an audit row), and a plain notice when the
Stripe integration or its webhooks are switched off."""

import time

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from referrals.models import AuditEvent, Order, WebhookEvent
from referrals.services.orders import order_ingest
from referrals.stripe.events import stripe_event_record
from tests.factories import UserFactory

from .conftest import messages_of

pytestmark = pytest.mark.django_db

EVENTS = reverse("stripe_events:index")
KEY_OFF = "Stripe integration is off: set STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRETS"
SECRETS_OFF = "Stripe webhooks are off: set STRIPE_WEBHOOK_SECRETS"


@pytest.fixture(autouse=True)
def _stripe_on(settings):
    settings.STRIPE_SECRET_KEY = "sk_test_streetteam"
    settings.STRIPE_WEBHOOK_SECRETS = ["whsec_test"]


def record(capture, type_: str, obj: dict, event_id: str) -> WebhookEvent:
    with capture(execute=True):
        stored, _ = stripe_event_record(
            {
                "id": event_id,
                "object": "event",
                "type": type_,
                "created": int(time.time()),
                "data": {"object": obj},
            }
        )
    stored.refresh_from_db()
    return stored


@pytest.fixture
def failed_refund(django_capture_on_commit_callbacks):
    """A refund that arrived before its payment: failed, waiting for a replay."""
    refund = {
        "id": "ch_1",
        "object": "charge",
        "payment_intent": "pi_late",
        "refunds": {"data": [{"id": "re_1", "amount": 500, "status": "succeeded"}]},
    }
    return record(django_capture_on_commit_callbacks, "charge.refunded", refund, "evt_refund")


@pytest.fixture
def processed_payment(django_capture_on_commit_callbacks):
    pi = {"id": "pi_ok", "object": "payment_intent", "amount_received": 1_000, "currency": "eur"}
    return record(django_capture_on_commit_callbacks, "payment_intent.succeeded", pi, "evt_ok")


def inspect_url(event: WebhookEvent) -> str:
    return reverse("stripe_events:inspect", args=[event.pk])


def replay_url(event: WebhookEvent) -> str:
    return reverse("stripe_events:replay", args=[event.pk])


@pytest.fixture
def viewer(client):
    """Staff who may look at Stripe events but not replay them."""
    user = UserFactory(is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["access_admin", "view_webhookevent"])
    )
    client.force_login(user)
    return user


def test_the_list_shows_events_and_filters_by_status_and_type(
    client, manager, failed_refund, processed_payment
):
    page = client.get(EVENTS).content.decode()
    failed = client.get(EVENTS, {"status": "failed"}).content.decode()
    payments = client.get(EVENTS, {"type": "payment_intent.succeeded"}).content.decode()

    assert "evt_refund" in page
    assert "evt_ok" in page
    assert "1 event failed" in page
    assert ("evt_refund" in failed, "evt_ok" in failed) == (True, False)
    assert ("evt_refund" in payments, "evt_ok" in payments) == (False, True)


def test_the_event_page_shows_the_payload_the_error_and_a_replay_button(
    client, manager, failed_refund
):
    page = client.get(inspect_url(failed_refund)).content.decode()

    assert "order_not_found" in page
    assert "&quot;payment_intent&quot;: &quot;pi_late&quot;" in page
    assert "Replay event" in page
    assert replay_url(failed_refund) in page


def test_replaying_a_failed_event_applies_it_and_records_who_did_it(
    client, manager, failed_refund, rep_code
):
    order_ingest(
        source="stripe",
        external_id="pi_late",
        currency="EUR",
        gross_amount=1_000,
        code=rep_code.code,
    )

    response = client.post(replay_url(failed_refund))

    assert response.status_code == 302
    assert response["Location"] == inspect_url(failed_refund)
    failed_refund.refresh_from_db()
    assert failed_refund.status == WebhookEvent.Status.PROCESSED
    assert Order.objects.get(external_id="pi_late").refunds.get().amount == 500
    assert messages_of(response) == ["Event evt_refund (charge.refunded) replayed: applied."]
    audit = AuditEvent.objects.get(action="stripe_event_replayed")
    assert (audit.actor, audit.object_type, audit.object_id) == (
        manager,
        "webhookevent",
        failed_refund.pk,
    )
    assert (audit.data["before"], audit.data["after"]) == ("failed", "processed")


def test_replaying_again_before_the_cause_is_fixed_says_why(client, manager, failed_refund):
    response = client.post(replay_url(failed_refund))

    failed_refund.refresh_from_db()
    assert failed_refund.status == WebhookEvent.Status.FAILED
    assert failed_refund.attempts == 2
    [message] = messages_of(response)
    assert message.startswith("Event evt_refund failed again: order_not_found")


def test_a_processed_event_is_not_replayed(client, manager, processed_payment):
    page = client.get(inspect_url(processed_payment)).content.decode()
    response = client.post(replay_url(processed_payment))

    assert "Replay event" not in page
    assert messages_of(response) == ["Event evt_ok was already processed; nothing to replay."]
    processed_payment.refresh_from_db()
    assert processed_payment.attempts == 1
    assert not AuditEvent.objects.filter(action="stripe_event_replayed").exists()


def test_without_the_permission_events_can_be_read_but_not_replayed(client, viewer, failed_refund):
    page = client.get(inspect_url(failed_refund)).content.decode()
    response = client.post(replay_url(failed_refund))

    assert client.get(EVENTS).status_code == 200
    assert "order_not_found" in page
    assert "Replay event" not in page
    # Wagtail's answer to a denied admin request: back to the admin home.
    assert (response.status_code, response["Location"]) == (302, reverse("wagtailadmin_home"))
    failed_refund.refresh_from_db()
    assert (failed_refund.status, failed_refund.attempts) == ("failed", 1)


def test_replay_needs_a_post(client, manager, failed_refund):
    assert client.get(replay_url(failed_refund)).status_code == 405


def test_stripe_events_sit_in_the_referrals_menu(client, manager):
    home = client.get(reverse("wagtailadmin_home")).content.decode()

    assert EVENTS in home
    assert "Stripe events" in home


def test_with_no_secret_key_the_admin_says_the_integration_is_off(client, manager, settings):
    settings.STRIPE_SECRET_KEY = ""

    home = client.get(reverse("wagtailadmin_home")).content.decode()
    page = client.get(EVENTS).content.decode()

    assert KEY_OFF in home
    assert KEY_OFF in page


def test_with_no_webhook_secret_the_admin_says_events_are_refused(client, manager, settings):
    settings.STRIPE_WEBHOOK_SECRETS = []

    home = client.get(reverse("wagtailadmin_home")).content.decode()

    assert SECRETS_OFF in home
    assert KEY_OFF not in home


def test_with_stripe_configured_there_is_no_notice(client, manager):
    home = client.get(reverse("wagtailadmin_home")).content.decode()
    page = client.get(EVENTS).content.decode()

    assert "Stripe integration is off" not in home + page
    assert "Stripe webhooks are off" not in home + page


def test_the_last_reconciliation_is_shown(client, manager, fake_stripe):
    from django.utils import timezone

    from referrals.stripe.reconcile import stripe_reconcile

    stripe_reconcile(since=timezone.now())

    page = client.get(EVENTS).content.decode()

    assert "Last reconciliation with Stripe" in page
    assert "All matched" in page
