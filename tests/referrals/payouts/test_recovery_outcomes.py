"""Issue #16, mutation testing of `recovery.py`: which payouts count as stuck, what the report
counts when there are several, and what each `payout_recovered` audit row says."""

from datetime import timedelta

import pytest
import stripe
from django.utils import timezone

from advocacy.models import Advocate
from referrals.models import AuditEvent, Payout, PayoutBatch
from referrals.payouts import backends
from referrals.payouts import services as payouts
from referrals.payouts.services import recovery
from referrals.payouts.services.transitions import payout_transition
from referrals.services.commissions import commission_approve
from referrals.stripe import client as stripe_api
from tests.factories import PASSWORD, sale

pytestmark = pytest.mark.django_db

HOURS_AGO = timezone.now() - timedelta(hours=3)


def stripe_ready(advocate):
    advocate.stripe_account_id = "acct_1Good"
    advocate.stripe_payouts_enabled = True
    advocate.save(update_fields=["stripe_account_id", "stripe_payouts_enabled"])


def stuck_batch(rep_code, manager, backend=PayoutBatch.Backend.STRIPE_CONNECT):
    """The programme's batch, approved and executed, every payout committed as processing three
    hours ago."""
    batch = payouts.payout_batch_build(
        programme_id=rep_code.advocate.programme_id, actor=manager, backend=backend
    )
    payouts.payout_batch_approve(batch_id=batch.pk, actor=manager, password=PASSWORD)
    payouts.payout_batch_execute(batch_id=batch.pk, actor=manager)
    for payout in batch.payouts.all():
        payout_transition(payout=payout, to=Payout.Status.PROCESSING)
    batch.payouts.update(processing_at=HOURS_AGO)
    return list(batch.payouts.order_by("pk"))


@pytest.fixture
def one_stuck(rep_code, manager, approved):
    stripe_ready(rep_code.advocate)
    [payout] = stuck_batch(rep_code, manager)
    return payout


@pytest.fixture
def two_stuck(rep_code, other_rep_code, manager, approved):
    """Two advocates' payouts, both stuck."""
    commission = sale(other_rep_code, "i16-other", 4_000, HOURS_AGO - timedelta(days=60))
    commission_approve(commission_id=commission.commission.pk, actor=manager)
    stripe_ready(rep_code.advocate)
    stripe_ready(other_rep_code.advocate)
    return stuck_batch(rep_code, manager)


def sent(payout):
    return stripe_api.transfer_create(
        amount=payout.amount,
        currency=payout.currency,
        destination="acct_1Good",
        idempotency_key=payout.idempotency_key,
        metadata={"payout_id": str(payout.pk), "batch_id": str(payout.batch_id)},
    )


def recovered(payout) -> dict:
    return AuditEvent.objects.get(action="payout_recovered", object_id=payout.pk).data


def test_the_report_counts_every_payout_found_paid(fake_stripe, two_stuck):
    transfers = [sent(payout) for payout in two_stuck]

    report = payouts.payout_recover_stuck()

    assert (report.checked, report.paid, report.retried, report.failed) == (2, 2, 0, 0)
    assert [recovered(p) for p in two_stuck] == [
        {"outcome": "paid", "reference": transfer} for transfer in transfers
    ]


def test_the_report_counts_every_payout_sent_again(fake_stripe, two_stuck):
    report = payouts.payout_recover_stuck()

    assert (report.checked, report.paid, report.retried, report.failed) == (2, 0, 2, 0)
    assert [recovered(p)["outcome"] for p in two_stuck] == ["retried", "retried"]


def test_the_report_counts_every_payout_refused(fake_stripe, two_stuck):
    Advocate.objects.update(status=Advocate.Status.BANNED)

    report = payouts.payout_recover_stuck()

    assert (report.checked, report.paid, report.retried, report.failed) == (2, 0, 0, 2)
    assert fake_stripe.transfers == []
    for payout in two_stuck:
        assert recovered(payout) == {"outcome": "refused"}
        refusal = AuditEvent.objects.get(action="payout_refused", object_id=payout.pk)
        assert refusal.data["operation"] == "recover"
        assert Payout.objects.get(pk=payout.pk).status == Payout.Status.FAILED


def test_a_payout_sent_again_that_fails_is_counted_failed(fake_stripe, one_stuck, monkeypatch):
    def execute_fails(*, payout_id):
        payout = Payout.objects.get(pk=payout_id)
        payout.status = Payout.Status.FAILED
        return payout

    monkeypatch.setattr(recovery, "payout_execute", execute_fails)

    report = payouts.payout_recover_stuck()

    assert (report.checked, report.retried, report.failed) == (1, 0, 1)
    assert recovered(one_stuck) == {"outcome": "failed"}


def test_an_unreachable_backend_leaves_that_payout_and_goes_on_with_the_next(
    fake_stripe, two_stuck, monkeypatch
):
    first, second = two_stuck
    real = backends.get_backend

    class Flaky:
        def __init__(self, name):
            self.backend = real(name)

        def find_sent(self, payout):
            if payout.pk == first.pk:
                raise backends.PayoutError("Stripe is down")
            return self.backend.find_sent(payout)

        def __getattr__(self, name):
            return getattr(self.backend, name)

    monkeypatch.setattr(backends, "get_backend", Flaky)

    report = payouts.payout_recover_stuck()

    assert (report.checked, report.retried, report.unreachable) == (2, 1, [first.pk])
    assert Payout.objects.get(pk=first.pk).status == Payout.Status.PROCESSING
    assert Payout.objects.get(pk=second.pk).status == Payout.Status.PAID


def test_a_failed_resend_leaves_that_payout_and_goes_on_with_the_next(
    fake_stripe, two_stuck, monkeypatch
):
    first, second = two_stuck
    real = recovery.payout_execute

    def execute(*, payout_id):
        if payout_id == first.pk:
            raise stripe.APIConnectionError("Stripe is down")
        return real(payout_id=payout_id)

    monkeypatch.setattr(recovery, "payout_execute", execute)

    report = payouts.payout_recover_stuck()

    assert (report.checked, report.retried, report.unreachable) == (2, 1, [first.pk])
    assert Payout.objects.get(pk=second.pk).status == Payout.Status.PAID


def test_recovery_measures_the_threshold_from_the_given_now(fake_stripe, one_stuck):
    report = payouts.payout_recover_stuck(older_than=timedelta(minutes=30), now=HOURS_AGO)

    assert report.checked == 0
    assert Payout.objects.get(pk=one_stuck.pk).status == Payout.Status.PROCESSING


def stuck_ids():
    return list(recovery.payouts_stuck(older_than=timedelta(minutes=30)).values_list("pk"))


def test_a_payout_is_stuck_by_when_it_went_processing_not_when_it_was_created(one_stuck):
    Payout.objects.filter(pk=one_stuck.pk).update(
        processing_at=timezone.now(), created_at=HOURS_AGO
    )
    assert stuck_ids() == []


def test_a_payout_from_before_processing_at_is_stuck_by_its_creation(one_stuck):
    Payout.objects.filter(pk=one_stuck.pk).update(processing_at=None, created_at=HOURS_AGO)
    assert stuck_ids() == [(one_stuck.pk,)]

    Payout.objects.filter(pk=one_stuck.pk).update(created_at=timezone.now())
    assert stuck_ids() == []


def test_a_manual_payout_in_processing_is_never_stuck(rep_code, manager, approved):
    stuck_batch(rep_code, manager, backend=PayoutBatch.Backend.MANUAL)

    assert stuck_ids() == []
