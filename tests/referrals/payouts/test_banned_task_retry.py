"""Issue #16 leftover: the payout task, retried after a network error, called Stripe again
with the same idempotency key even when the advocate had been banned (or paused) meanwhile.
Execution checks the advocate every time: a payout of an advocate who may not be paid is sent
nothing more; if the first call's transfer did go out, that is the result (the money left),
otherwise the payout fails with the reason and its money returns to the balance."""

import pytest

from advocacy.models import Advocate
from referrals.ledger_selectors import balance
from referrals.models import AuditEvent, Payout, PayoutBatch
from referrals.payouts import services as payouts
from referrals.payouts import tasks
from referrals.payouts.services.transitions import payout_transition
from referrals.stripe import client as stripe_api
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def in_flight(build, manager, rep_code):
    """A stripe_connect payout of EUR 8.00 committed as processing: the task's first call to
    Stripe raised a network error, and the task will run again."""
    advocate = rep_code.advocate
    advocate.stripe_account_id = "acct_1Good"
    advocate.stripe_payouts_enabled = True
    advocate.save(update_fields=["stripe_account_id", "stripe_payouts_enabled"])
    batch = build(backend=PayoutBatch.Backend.STRIPE_CONNECT)
    payouts.payout_batch_approve(batch_id=batch.pk, actor=manager, password=PASSWORD)
    payouts.payout_batch_execute(batch_id=batch.pk, actor=manager)
    payout = Payout.objects.get(batch=batch)
    return payout_transition(payout=payout, to=Payout.Status.PROCESSING)


@pytest.mark.parametrize("status", [Advocate.Status.BANNED, Advocate.Status.PAUSED])
def test_a_task_retry_after_a_ban_sends_nothing_and_gives_the_money_back(
    fake_stripe, in_flight, rep_code, status
):
    Advocate.objects.filter(pk=rep_code.advocate_id).update(status=status)

    tasks.payout_execute.apply(args=[in_flight.pk])

    payout = Payout.objects.get(pk=in_flight.pk)
    assert fake_stripe.transfers == []
    assert payout.status == Payout.Status.FAILED
    assert status in payout.failure_reason
    assert balance(rep_code.advocate, "EUR") == 800
    refused = AuditEvent.objects.get(action="payout_refused", object_id=payout.pk)
    assert refused.data["operation"] == "execute"


def test_a_task_retry_after_a_ban_keeps_a_transfer_that_already_went_out(
    fake_stripe, in_flight, rep_code
):
    sent = stripe_api.transfer_create(
        amount=in_flight.amount,
        currency=in_flight.currency,
        destination="acct_1Good",
        idempotency_key=in_flight.idempotency_key,
        metadata={"payout_id": str(in_flight.pk), "batch_id": str(in_flight.batch_id)},
    )
    Advocate.objects.filter(pk=rep_code.advocate_id).update(status=Advocate.Status.BANNED)

    tasks.payout_execute.apply(args=[in_flight.pk])

    payout = Payout.objects.get(pk=in_flight.pk)
    assert (payout.status, payout.external_ref) == (Payout.Status.PAID, sent)
    assert len(fake_stripe.transfers) == 1
    assert balance(rep_code.advocate, "EUR") == 0


def test_an_active_advocates_task_retry_still_sends_with_the_same_key(
    fake_stripe, in_flight, rep_code
):
    tasks.payout_execute.apply(args=[in_flight.pk])

    payout = Payout.objects.get(pk=in_flight.pk)
    assert payout.status == Payout.Status.PAID
    assert [t["metadata"]["payout_id"] for t in fake_stripe.transfers] == [str(payout.pk)]
