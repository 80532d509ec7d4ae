"""Reconciliation against the fake Stripe server: events Stripe sent that never arrived (or
failed), payments with no order here, orders Stripe doesn't know; --apply puts it right."""

import io
import time
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from referrals.models import AuditEvent, Commission, Order, WebhookEvent
from referrals.services.orders import order_ingest
from referrals.stripe import tasks
from referrals.stripe.events import stripe_event_record
from referrals.stripe.reconcile import stripe_reconcile, stripe_reconcile_last
from tests.fixtures import stripe as fx

pytestmark = pytest.mark.django_db


def since():
    return timezone.now() - timedelta(days=1)


@pytest.fixture
def stripe_history(fake_stripe, rep_code, django_capture_on_commit_callbacks):
    """What happened in Stripe today, and what reached us:
    - pi_delivered: paid, its event delivered and applied (all matched);
    - pi_missed: paid, its event never delivered (no order here);
    - a charge.refunded event delivered but failed (its order was unknown then);
    - an order here under a PaymentIntent Stripe has never heard of."""
    delivered = fake_stripe.add_payment_intent(amount=5_000, receipt_email="a@example.net")
    missed = fake_stripe.add_payment_intent(amount=8_000, receipt_email="b@example.net")
    missed["metadata"] = {"rep_code": rep_code.code}
    fake_stripe.add_payment_intent(amount=9_000, status="requires_payment_method")
    with django_capture_on_commit_callbacks(execute=True):
        stripe_event_record(fake_stripe.add_event("payment_intent.succeeded", delivered))
        failing = fake_stripe.add_event(
            "charge.refunded",
            {"id": "ch_x", "payment_intent": "pi_unknown", "refunds": {"data": []}},
        )
        stripe_event_record(failing)
    missed_event = fake_stripe.add_event("payment_intent.succeeded", missed)
    fake_stripe.add_event("customer.created", {"id": "cus_1"})  # a type we don't handle
    order_ingest(source="stripe", external_id="pi_phantom", currency="EUR", gross_amount=1_000)
    return {"delivered": delivered, "missed": missed, "missed_event": missed_event}


def test_the_report_lists_missed_events_and_orders_missing_on_either_side(stripe_history):
    report = stripe_reconcile(since=since())

    assert report.events_checked == 3  # the handled types only
    assert [e.stripe_id for e in report.missed_events] == [stripe_history["missed_event"]["id"]]
    [unsettled] = report.unsettled_events
    assert (unsettled.type, unsettled.status) == ("charge.refunded", WebhookEvent.Status.FAILED)
    assert "order_not_found" in unsettled.error
    assert report.payments_checked == 2
    assert [p.id for p in report.missing_orders] == [stripe_history["missed"]["id"]]
    assert report.missing_orders[0].amount == 8_000
    [unknown] = report.unknown_orders
    assert (unknown.id, unknown.note) == ("pi_phantom", "not in Stripe's list")
    assert report.problems == 4
    assert not Order.objects.filter(external_id=stripe_history["missed"]["id"]).exists()


def test_each_run_leaves_its_summary_in_the_audit_log(stripe_history):
    stripe_reconcile(since=since())

    last = stripe_reconcile_last()
    assert last.action == "stripe_reconciled"
    assert last.reason == "4 to look at"
    assert last.data["missed_events"] == 1
    assert last.data["missing_order_ids"] == [stripe_history["missed"]["id"]]
    assert last.data["unknown_order_ids"] == ["pi_phantom"]


def test_apply_records_the_missed_event_and_the_order_appears(stripe_history, rep_code):
    report = stripe_reconcile(since=since(), apply=True)

    missed_id = stripe_history["missed_event"]["id"]
    applied = {line.stripe_id: line.status for line in report.applied}
    assert applied[missed_id] == WebhookEvent.Status.PROCESSED
    assert WebhookEvent.objects.get(stripe_id=missed_id).status == WebhookEvent.Status.PROCESSED
    order = Order.objects.get(external_id=stripe_history["missed"]["id"])
    assert order.commissions.get().advocate == rep_code.advocate
    assert report.missing_orders == []
    # The refund still has no order to apply to: it stays open, and says why.
    [still_open] = report.events_open
    assert still_open.type == "charge.refunded"


def test_applying_twice_changes_nothing_more(stripe_history):
    stripe_reconcile(since=since(), apply=True)
    orders, commissions = Order.objects.count(), Commission.objects.count()

    again = stripe_reconcile(since=since(), apply=True)

    assert again.missed_events == []
    assert (Order.objects.count(), Commission.objects.count()) == (orders, commissions)


def test_the_command_prints_the_report_with_progress(stripe_history):
    out, err = io.StringIO(), io.StringIO()

    call_command("stripe_reconcile", "--since", f"{since():%Y-%m-%d}", stdout=out, stderr=err)

    printed = out.getvalue()
    assert "Events Stripe sent that never arrived here: 1" in printed
    assert stripe_history["missed_event"]["id"] in printed
    assert "Paid in Stripe, no order here: 1" in printed
    assert "pi_phantom" in printed
    assert "4 thing(s) to look at." in printed
    assert "Reading events from Stripe" in err.getvalue()
    assert not Order.objects.filter(external_id=stripe_history["missed"]["id"]).exists()


def test_the_command_with_apply_fixes_what_it_can(stripe_history):
    out = io.StringIO()

    call_command(
        "stripe_reconcile",
        "--since",
        f"{since():%Y-%m-%d}",
        "--apply",
        stdout=out,
        stderr=io.StringIO(),
    )

    printed = out.getvalue()
    assert f"{stripe_history['missed_event']['id']}  payment_intent.succeeded  -> processed" in (
        printed
    )
    assert "Paid in Stripe, no order here: 0" in printed
    assert Order.objects.filter(external_id=stripe_history["missed"]["id"]).exists()


def test_the_command_refuses_a_bad_date_and_a_missing_key(settings):
    with pytest.raises(CommandError, match="--since must be a date like 2025-01-31"):
        call_command("stripe_reconcile", "--since", "yesterday")
    settings.STRIPE_SECRET_KEY = ""
    with pytest.raises(CommandError, match="The Stripe integration is off"):
        call_command("stripe_reconcile", "--since", "2025-01-01")
    assert not AuditEvent.objects.exists()


def test_the_daily_task_applies_and_stores_its_summary(stripe_history):
    summary = tasks.stripe_reconcile.delay().get()

    assert summary["missed_events"] == 1
    assert summary["missing_orders"] == 0  # applied, so the order is there now
    assert Order.objects.filter(external_id=stripe_history["missed"]["id"]).exists()
    assert stripe_reconcile_last().data == summary


def test_the_daily_task_does_nothing_with_the_integration_off(settings):
    settings.STRIPE_SECRET_KEY = ""

    assert tasks.stripe_reconcile.delay().get() == {"skipped": "Stripe integration is off"}
    assert stripe_reconcile_last() is None


def test_subscription_payments_are_matched_through_their_invoice(
    fake_stripe, django_capture_on_commit_callbacks
):
    pi = fake_stripe.add_payment_intent(amount=2_000)
    invoice = {
        "id": "in_sub_1",
        "object": "invoice",
        "amount_paid": 2_000,
        "billing_reason": "subscription_create",
        "currency": "eur",
        "created": int(time.time()),
        "parent": {"subscription_details": {"subscription": "sub_9", "metadata": {}}},
        "payments": {"data": [{"payment": {"type": "payment_intent", "payment_intent": pi["id"]}}]},
    }
    with django_capture_on_commit_callbacks(execute=True):
        stripe_event_record(fake_stripe.add_event("invoice.paid", invoice))

    report = stripe_reconcile(since=since())

    assert Order.objects.get(external_id="in_sub_1").subscription_id == "sub_9"
    assert report.missing_orders == []
    assert report.unknown_orders == []


@pytest.mark.parametrize("linked_by", ["invoice_payment.paid", "payment_intent.succeeded"])
def test_basil_subscription_payments_are_matched_through_the_links_events_made(
    fake_stripe, django_capture_on_commit_callbacks, rep_code, linked_by
):
    # API 2025-03-31.basil: neither the invoice nor the PaymentIntent names the other.
    pi = fake_stripe.add_payment_intent(amount=2_000)
    invoice = fx.invoice(subscription="sub_9", amount_paid=2_000)
    payment = fake_stripe.add_object(
        fx.invoice_payment(invoice=invoice["id"], payment_intent=pi["id"], amount=2_000)
    )
    sent = [fake_stripe.add_event("invoice.paid", invoice, api_version=fx.CURRENT)]
    if linked_by == "invoice_payment.paid":
        sent.append(fake_stripe.add_event(linked_by, payment, api_version=fx.CURRENT))
    else:
        sent.append(fake_stripe.add_event(linked_by, pi, api_version=fx.CURRENT))
    with django_capture_on_commit_callbacks(execute=True):
        for event in sent:
            stripe_event_record(event)

    report = stripe_reconcile(since=since())

    assert Order.objects.get().external_id == invoice["id"]
    assert report.missing_orders == []
    assert report.unknown_orders == []
