"""Issue #17, finding 4: four-eyes sidestepped by a retry. Marking a payout failed and retrying
it paid the advocate's grown balance inside an already approved batch, above the two-approver
limit and without any approval; and the limit itself defaulted to "never". A retry pays what
was approved (the failed amount) at most; the growth waits for the next batch."""

from datetime import timedelta

import pytest
from django.utils import timezone

from referrals.conf import app_settings
from referrals.ledger_selectors import payable_balance
from referrals.models import Payout, PayoutBatch
from referrals.payouts import services as payouts
from referrals.services.commissions import commission_approve
from referrals.services.ledger import ledger_write
from tests.factories import PASSWORD, UserFactory, sale

pytestmark = pytest.mark.django_db

LONG_AGO = timezone.now() - timedelta(days=60)


def earn(rep_code, manager, external_id: str, gross: int) -> None:
    commission = sale(rep_code, external_id, gross, LONG_AGO).commission
    commission_approve(commission_id=commission.pk, actor=manager)


def failed_payout(build, manager) -> Payout:
    batch = build()
    payouts.payout_batch_approve(batch_id=batch.pk, actor=manager, password=PASSWORD)
    payouts.payout_batch_execute(batch_id=batch.pk, actor=manager)
    payout = batch.payouts.get()
    return payouts.payout_mark_failed(payout_id=payout.pk, actor=manager, reason="Bounced")


def test_a_retry_pays_the_failed_amount_and_the_growth_waits_for_the_next_batch(
    build, manager, rep_code
):
    failed = failed_payout(build, manager)
    earn(rep_code, manager, "grown", 50_000)
    grown = payable_balance(rep_code.advocate, "EUR")
    assert grown > failed.amount

    retry = payouts.payout_retry(payout_id=failed.pk, actor=manager)

    assert retry.amount == failed.amount
    assert payable_balance(rep_code.advocate, "EUR") == grown - failed.amount
    following = build()
    assert following.payouts.get().amount == grown - failed.amount


def test_a_retry_pays_less_when_a_refund_took_part_of_the_failed_amount(build, manager, rep_code):
    failed = failed_payout(build, manager)
    ledger_write(
        advocate_id=rep_code.advocate_id,
        currency="EUR",
        amount=-300,
        kind="adjustment",
        reference="test:clawback",
        memo="Clawback",
    )

    retry = payouts.payout_retry(payout_id=failed.pk, actor=manager)

    assert retry.amount == failed.amount - 300


def test_a_retry_in_an_approved_batch_never_passes_the_two_approver_limit(build, manager, rep_code):
    programme = rep_code.advocate.programme
    programme.dual_approval_above = 1_000  # EUR 10.00; the batch holds EUR 8.00: one approver
    programme.save(update_fields=["dual_approval_above"])
    failed = failed_payout(build, manager)
    earn(rep_code, manager, "grown", 50_000)

    retry = payouts.payout_retry(payout_id=failed.pk, actor=manager)

    batch = PayoutBatch.objects.get(pk=failed.batch_id)
    open_amount = sum(
        p.amount for p in batch.payouts.filter(status__in=["pending", "processing", "paid"])
    )
    assert retry.amount == failed.amount
    assert open_amount <= programme.dual_approval_above
    assert batch.second_approved_by is None


def test_the_two_approver_limit_has_a_safe_default_when_the_programme_sets_none(
    build, manager, rep_code, settings
):
    assert rep_code.advocate.programme.dual_approval_above == 0
    assert app_settings.PAYOUT_DUAL_APPROVAL_ABOVE == 50_000
    settings.STREETTEAM_PAYOUT_DUAL_APPROVAL_ABOVE = 500  # EUR 5.00: below the EUR 8.00 batch
    batch = build()

    payouts.payout_batch_approve(batch_id=batch.pk, actor=manager, password=PASSWORD)

    batch.refresh_from_db()
    assert payouts.payout_batch_needs_second_approval(batch)
    assert batch.status == PayoutBatch.Status.DRAFT
    second = UserFactory(is_staff=True, is_superuser=True)
    payouts.payout_batch_approve(batch_id=batch.pk, actor=second, password=PASSWORD)
    batch.refresh_from_db()
    assert batch.status == PayoutBatch.Status.APPROVED


def test_a_programmes_own_limit_wins_over_the_default(build, manager, rep_code, settings):
    settings.STREETTEAM_PAYOUT_DUAL_APPROVAL_ABOVE = 500
    programme = rep_code.advocate.programme
    programme.dual_approval_above = 10_000
    programme.save(update_fields=["dual_approval_above"])
    batch = build()

    payouts.payout_batch_approve(batch_id=batch.pk, actor=manager, password=PASSWORD)

    batch.refresh_from_db()
    assert batch.status == PayoutBatch.Status.APPROVED
