"""The stripe_connect payout backend against the fake Stripe server (tests/fakes/stripe_server.py):
the real `stripe` client, real HTTP, Stripe's request and error shapes."""

from datetime import timedelta

import pytest
from django.utils import timezone

from referrals import ledger_selectors as ledger
from referrals.models import AuditEvent, LedgerEntry, Payout, PayoutBatch
from referrals.payouts import services as payouts
from referrals.services import commissions
from referrals.services.orders import order_ingest
from tests.factories import PASSWORD, UserFactory, received_ago

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(db):
    return UserFactory(is_staff=True, is_superuser=True)


def executing_payout(rep_code, manager, *, account: str) -> Payout:
    """Two approved EUR 10.00 commissions, gathered into an approved stripe_connect batch that is
    executing, its one payout still pending."""
    advocate = rep_code.advocate
    advocate.stripe_account_id = account
    advocate.stripe_payouts_enabled = True  # onboarding done (see test_stripe_connect.py)
    advocate.save(update_fields=["stripe_account_id", "stripe_payouts_enabled"])
    for n in range(2):
        result = order_ingest(
            source="api",
            external_id=f"connect-{n}",
            currency="EUR",
            gross_amount=10_000,
            code=rep_code.code,
            placed_at=timezone.now() - timedelta(days=45),
        )
        commissions.commission_approve(
            commission_id=received_ago(result.commission, timedelta(days=45)).pk, actor=manager
        )
    batch = payouts.payout_batch_build(
        programme_id=advocate.programme_id,
        actor=manager,
        backend=PayoutBatch.Backend.STRIPE_CONNECT,
    )
    payouts.payout_batch_approve(batch_id=batch.pk, actor=manager, password=PASSWORD)
    # The test transaction never commits, so the queued payout task doesn't run: we run it.
    payouts.payout_batch_execute(batch_id=batch.pk, actor=manager)
    return batch.payouts.get()


def test_payout_to_connected_account_creates_one_stripe_transfer(fake_stripe, rep_code, manager):
    payout = executing_payout(rep_code, manager, account="acct_1Good")

    payout = payouts.payout_execute(payout_id=payout.pk)

    [transfer] = fake_stripe.transfers
    assert payout.status == Payout.Status.PAID
    assert payout.external_ref == transfer["id"]
    assert transfer["amount"] == payout.amount == 2_000
    assert transfer["currency"] == "eur"
    assert transfer["destination"] == "acct_1Good"
    assert transfer["metadata"] == {
        "payout_id": str(payout.pk),
        "batch_id": str(payout.batch_id),
    }
    [request] = fake_stripe.requests_to("POST", "/v1/transfers")
    assert request.idempotency_key == payout.idempotency_key
    assert ledger.payable_balance(rep_code.advocate, "EUR") == 0
    assert PayoutBatch.objects.get(pk=payout.batch_id).status == PayoutBatch.Status.DONE


def test_executing_a_paid_payout_again_sends_nothing(fake_stripe, rep_code, manager):
    payout = executing_payout(rep_code, manager, account="acct_1Good")
    payouts.payout_execute(payout_id=payout.pk)

    payouts.payout_execute(payout_id=payout.pk)

    assert len(fake_stripe.requests) == 1
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.PAID).count() == 1


def test_payout_to_a_bad_account_fails_and_restores_the_balance(fake_stripe, rep_code, manager):
    payout = executing_payout(rep_code, manager, account="acct_bad_closed")
    assert ledger.payable_balance(rep_code.advocate, "EUR") == 0  # reserved by the batch

    payout = payouts.payout_execute(payout_id=payout.pk)

    assert payout.status == Payout.Status.FAILED
    assert payout.failure_reason == "No such destination: 'acct_bad_closed'"
    assert fake_stripe.transfers == []
    [request] = fake_stripe.requests_to("POST", "/v1/transfers")
    assert request.status == 400
    assert request.response["error"]["type"] == "invalid_request_error"
    assert ledger.payable_balance(rep_code.advocate, "EUR") == 2_000
    assert ledger.balance(rep_code.advocate, "EUR") == 2_000
    assert LedgerEntry.objects.filter(
        kind=LedgerEntry.Kind.PAYOUT_FAILED, reference=f"payout:{payout.pk}", amount=2_000
    ).exists()
    assert AuditEvent.objects.filter(action="payout_failed", object_id=payout.pk).exists()
    # Its commissions are free for the next batch.
    assert not payout.commissions.exists()


def test_stripe_replays_the_first_transfer_for_a_repeated_idempotency_key(fake_stripe):
    from referrals.stripe import client as stripe_api

    first = stripe_api.transfer_create(
        amount=500, currency="EUR", destination="acct_1", idempotency_key="k-1", metadata={}
    )
    again = stripe_api.transfer_create(
        amount=500, currency="EUR", destination="acct_1", idempotency_key="k-1", metadata={}
    )

    assert again == first
    assert len(fake_stripe.transfers) == 1
    assert [r.replayed for r in fake_stripe.requests] == [False, True]
