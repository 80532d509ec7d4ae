"""Issue #16, finding 1: a Stripe payout stuck in `processing` (the worker died around the
transfer, the task's retries ran out). Nobody may mark it failed or paid by hand: whether the
transfer went out is unknown, and marking it failed gave the money back even if it had gone,
for the next batch to pay again under a new idempotency key. Recovery asks Stripe instead."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from advocacy.models import Advocate
from kernel.errors import ServiceError
from referrals.ledger_selectors import balance
from referrals.models import AuditEvent, LedgerEntry, Payout, PayoutBatch
from referrals.payouts import services as payouts
from referrals.payouts.services.transitions import payout_transition
from referrals.stripe import client as stripe_api
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

HOURS_AGO = timezone.now() - timedelta(hours=3)


@pytest.fixture
def stuck(build, manager, rep_code):
    """A stripe_connect payout of EUR 8.00, committed as processing three hours ago; the worker
    never recorded what Stripe answered."""
    advocate = rep_code.advocate
    advocate.stripe_account_id = "acct_1Good"
    advocate.stripe_payouts_enabled = True
    advocate.save(update_fields=["stripe_account_id", "stripe_payouts_enabled"])
    batch = build(backend=PayoutBatch.Backend.STRIPE_CONNECT)
    payouts.payout_batch_approve(batch_id=batch.pk, actor=manager, password=PASSWORD)
    payouts.payout_batch_execute(batch_id=batch.pk, actor=manager)
    payout = batch.payouts.get()
    payout_transition(payout=payout, to=Payout.Status.PROCESSING)
    Payout.objects.filter(pk=payout.pk).update(processing_at=HOURS_AGO)
    return Payout.objects.get(pk=payout.pk)


def sent_before_the_crash(payout):
    """The transfer the dead worker made, as the backend makes it."""
    return stripe_api.transfer_create(
        amount=payout.amount,
        currency=payout.currency,
        destination="acct_1Good",
        idempotency_key=payout.idempotency_key,
        metadata={"payout_id": str(payout.pk), "batch_id": str(payout.batch_id)},
    )


def test_a_stripe_payout_in_processing_can_not_be_marked_failed(fake_stripe, stuck, manager):
    entries = LedgerEntry.objects.count()

    with pytest.raises(ServiceError) as refused:
        payouts.payout_mark_failed(payout_id=stuck.pk, actor=manager, reason="Looks stuck")

    assert refused.value.code == "payout_in_flight"
    assert "Stripe" in refused.value.message
    assert Payout.objects.get(pk=stuck.pk).status == Payout.Status.PROCESSING
    assert LedgerEntry.objects.count() == entries


def test_a_stripe_payout_in_processing_can_not_be_marked_paid_by_hand(fake_stripe, stuck, manager):
    with pytest.raises(ServiceError) as refused:
        payouts.payout_mark_paid(payout_id=stuck.pk, actor=manager, reference="bank-1")

    assert refused.value.code == "payout_in_flight"
    assert Payout.objects.get(pk=stuck.pk).status == Payout.Status.PROCESSING


def test_a_direct_post_to_mark_it_failed_shows_the_refusal(client, fake_stripe, stuck, manager):
    client.force_login(manager)

    response = client.post(reverse("payouts:payout_failed", args=[stuck.pk]), {"reason": "x"})

    assert response.status_code == 302
    assert any("Stripe" in str(m) for m in response.wsgi_request._messages)
    assert Payout.objects.get(pk=stuck.pk).status == Payout.Status.PROCESSING


def test_recovery_settles_a_payout_whose_transfer_went_out_as_paid(fake_stripe, stuck, rep_code):
    transfer = sent_before_the_crash(stuck)

    report = payouts.payout_recover_stuck()

    payout = Payout.objects.get(pk=stuck.pk)
    assert (payout.status, payout.external_ref) == (Payout.Status.PAID, transfer)
    assert len(fake_stripe.transfers) == 1
    assert fake_stripe.requests_to("POST", "/v1/transfers")[-1].idempotency_key == (
        stuck.idempotency_key
    )
    assert balance(rep_code.advocate, "EUR") == 0
    assert PayoutBatch.objects.get(pk=stuck.batch_id).status == PayoutBatch.Status.DONE
    assert (report.checked, report.paid, report.retried) == (1, 1, 0)
    assert AuditEvent.objects.get(action="payout_recovered").data["outcome"] == "paid"


def test_recovery_sends_a_missing_transfer_with_the_same_idempotency_key(fake_stripe, stuck):
    report = payouts.payout_recover_stuck()

    [transfer] = fake_stripe.transfers
    [request] = fake_stripe.requests_to("POST", "/v1/transfers")
    assert request.idempotency_key == stuck.idempotency_key
    assert transfer["metadata"]["payout_id"] == str(stuck.pk)
    payout = Payout.objects.get(pk=stuck.pk)
    assert (payout.status, payout.external_ref) == (Payout.Status.PAID, transfer["id"])
    assert (report.checked, report.paid, report.retried) == (1, 0, 1)

    payouts.payout_recover_stuck()  # nothing left to do
    assert len(fake_stripe.requests_to("POST", "/v1/transfers")) == 1


def test_recovery_leaves_payouts_processing_for_less_than_the_threshold(fake_stripe, stuck):
    Payout.objects.filter(pk=stuck.pk).update(processing_at=timezone.now())

    report = payouts.payout_recover_stuck(older_than=timedelta(minutes=30))

    assert report.checked == 0
    assert fake_stripe.requests == []
    assert Payout.objects.get(pk=stuck.pk).status == Payout.Status.PROCESSING


def test_recovery_sends_nothing_to_a_banned_advocate_and_keeps_the_money(
    fake_stripe, stuck, rep_code
):
    Advocate.objects.filter(pk=rep_code.advocate_id).update(status=Advocate.Status.BANNED)

    report = payouts.payout_recover_stuck()

    assert fake_stripe.transfers == []
    assert Payout.objects.get(pk=stuck.pk).status == Payout.Status.FAILED
    assert balance(rep_code.advocate, "EUR") == 800
    assert report.failed == 1


def test_the_management_command_recovers_and_says_what_it_did(fake_stripe, stuck):
    sent_before_the_crash(stuck)
    out = StringIO()

    call_command("payouts_recover_stuck", "--minutes", "60", stdout=out)

    assert Payout.objects.get(pk=stuck.pk).status == Payout.Status.PAID
    assert "1 stuck payout checked: 1 paid (the transfer had gone out)" in out.getvalue()


def test_the_beat_task_runs_on_the_payouts_queue(fake_stripe, stuck):
    from config.celery import app
    from referrals.payouts.tasks import payouts_recover_stuck

    name = "referrals.tasks.payouts_recover_stuck"
    assert app.conf.task_routes[name] == {"queue": "payouts"}
    assert name in {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert payouts_recover_stuck.name == name

    payouts_recover_stuck()

    assert Payout.objects.get(pk=stuck.pk).status == Payout.Status.PAID
