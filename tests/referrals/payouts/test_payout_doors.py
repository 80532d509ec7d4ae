"""Each door of one payout (execute, mark paid, mark failed, retry): what it refuses, by code,
and what it writes when it passes: the payout's status and fields, the ledger, the commissions,
the batch, the audit rows. Amounts are literal: the advocate's two approved commissions are
EUR 5.00 and EUR 3.00, one payout of EUR 8.00 (800 cents)."""

import pytest
from django.contrib.auth.models import Permission

from kernel.errors import ServiceError
from referrals.ledger_selectors import balance, payable_balance
from referrals.models import AuditEvent, Commission, LedgerEntry, Payout, PayoutBatch
from referrals.payouts import services as payouts
from referrals.payouts.services import payouts as payout_service
from referrals.payouts.services.transitions import payout_transition
from referrals.services.ledger import ledger_write
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def approved_batch(build, manager, **kwargs) -> PayoutBatch:
    batch = build(**kwargs)
    payouts.payout_batch_approve(batch_id=batch.pk, actor=manager, password=PASSWORD)
    return batch


def executing(build, manager, **kwargs) -> Payout:
    batch = approved_batch(build, manager, **kwargs)
    payouts.payout_batch_execute(batch_id=batch.pk, actor=manager)
    return Payout.objects.get(batch=batch)


def stripe_ready(advocate) -> None:
    advocate.stripe_account_id = "acct_1Good"
    advocate.stripe_payouts_enabled = True
    advocate.save(update_fields=["stripe_account_id", "stripe_payouts_enabled"])


def clawback(advocate, amount: int) -> None:
    """A refund or dispute landing after the batch was built."""
    ledger_write(
        advocate_id=advocate.pk,
        currency="EUR",
        amount=-amount,
        kind="adjustment",
        reference=f"test:clawback-{amount}",
        memo="Clawback",
    )


def refused(code: str, call, **kwargs) -> None:
    with pytest.raises(ServiceError) as caught:
        call(**kwargs)
    assert caught.value.code == code


@pytest.fixture
def queued(monkeypatch):
    """The tasks the payout services queue (after commit), in order: (name, *args)."""
    calls = []
    monkeypatch.setattr(payout_service, "enqueue_on_commit", lambda *call: calls.append(call))
    return calls


# ------------------------------------------------------------------------------ permission


def test_only_staff_with_the_payout_permission_settle_or_retry_a_payout(build, manager):
    payout = executing(build, manager)
    clerk = UserFactory(is_staff=True)
    refused("permission_denied", payouts.payout_mark_paid, payout_id=payout.pk, actor=clerk)
    mark_failed = payouts.payout_mark_failed
    refused("permission_denied", mark_failed, payout_id=payout.pk, actor=clerk, reason="x")
    refused("permission_denied", payouts.payout_retry, payout_id=payout.pk, actor=clerk)
    assert Payout.objects.get(pk=payout.pk).status == Payout.Status.PENDING

    # Not a superuser: the permission itself is what lets them.
    treasurer = UserFactory(is_staff=True, is_superuser=False)
    treasurer.user_permissions.add(
        Permission.objects.get(content_type__app_label="referrals", codename="approve_payoutbatch")
    )
    failed = payouts.payout_mark_failed(payout_id=payout.pk, actor=treasurer, reason="Bounced")
    retry = payouts.payout_retry(payout_id=failed.pk, actor=treasurer)
    paid = payouts.payout_mark_paid(payout_id=retry.pk, actor=treasurer, reference="BANK-2")
    assert (failed.status, paid.status, paid.amount) == ("failed", "paid", 800)


# ------------------------------------------------------------------------------- mark paid


def test_marking_paid_pays_its_commissions_and_closes_the_batch(
    build, manager, rep_code, approved, queued
):
    payout = executing(build, manager)

    paid = payouts.payout_mark_paid(payout_id=payout.pk, actor=manager, reference="BANK-7")

    paid.refresh_from_db()
    assert (paid.status, paid.external_ref) == (Payout.Status.PAID, "BANK-7")
    assert paid.paid_at is not None
    statuses = Commission.objects.filter(pk__in=[c.pk for c in approved]).values_list(
        "status", flat=True
    )
    assert list(statuses) == ["paid", "paid"]
    assert PayoutBatch.objects.get(pk=paid.batch_id).status == PayoutBatch.Status.DONE
    row = AuditEvent.objects.get(action="payout_paid", object_id=paid.pk)
    assert (row.actor, row.data["amount"], row.data["reference"]) == (manager, 800, "BANK-7")
    assert balance(rep_code.advocate, "EUR") == 0
    assert AuditEvent.objects.get(action="batch_done").actor == manager
    paid_rows = AuditEvent.objects.filter(action="commission_paid")
    assert {(r.actor, r.reason) for r in paid_rows} == {(manager, f"Payout {paid.pk}")}
    assert ("referrals.tasks.payout_email", paid.pk, "sent") in queued

    # Again: already paid, nothing more is written.
    payouts.payout_mark_paid(payout_id=payout.pk, actor=manager, reference="BANK-8")
    assert AuditEvent.objects.filter(action="payout_paid").count() == 1
    assert Payout.objects.get(pk=payout.pk).external_ref == "BANK-7"


def test_marking_paid_without_a_reference_stores_an_empty_one(build, manager):
    payout = executing(build, manager)

    payouts.payout_mark_paid(payout_id=payout.pk, actor=manager)

    payout.refresh_from_db()
    assert (payout.status, payout.external_ref) == (Payout.Status.PAID, "")


def test_only_a_pending_payout_of_an_executing_batch_is_marked_paid(build, manager):
    batch = approved_batch(build, manager)  # approved, not released yet
    payout = batch.payouts.get()
    refused("payout_not_payable", payouts.payout_mark_paid, payout_id=payout.pk, actor=manager)

    payouts.payout_batch_execute(batch_id=batch.pk, actor=manager)
    payouts.payout_mark_failed(payout_id=payout.pk, actor=manager, reason="Bounced")
    refused("payout_not_payable", payouts.payout_mark_paid, payout_id=payout.pk, actor=manager)
    assert Payout.objects.get(pk=payout.pk).status == Payout.Status.FAILED


def test_marking_paid_is_refused_once_a_refund_made_the_balance_negative(build, manager, rep_code):
    payout = executing(build, manager)
    clawback(rep_code.advocate, 100)  # after the batch reserved the EUR 8.00: -1.00 payable

    refused("balance_negative", payouts.payout_mark_paid, payout_id=payout.pk, actor=manager)

    assert Payout.objects.get(pk=payout.pk).status == Payout.Status.PENDING
    assert payable_balance(rep_code.advocate, "EUR") == -100


# ----------------------------------------------------------------------------- mark failed


def test_marking_failed_gives_the_money_back_and_frees_the_commissions(
    build, manager, rep_code, approved, queued
):
    payout = executing(build, manager)
    assert payable_balance(rep_code.advocate, "EUR") == 0

    failed = payouts.payout_mark_failed(payout_id=payout.pk, actor=manager, reason="x" * 400)

    failed.refresh_from_db()
    assert failed.status == Payout.Status.FAILED
    assert failed.failure_reason == "x" * 300
    entry = LedgerEntry.objects.get(kind=LedgerEntry.Kind.PAYOUT_FAILED)
    assert (entry.amount, entry.reference, entry.currency) == (800, f"payout:{payout.pk}", "EUR")
    assert payable_balance(rep_code.advocate, "EUR") == 800
    assert Commission.objects.filter(payout=payout).count() == 0
    assert Commission.objects.filter(status="approved", payout__isnull=True).count() == 2
    assert entry.memo == "x" * 200
    assert PayoutBatch.objects.get(pk=payout.batch_id).status == PayoutBatch.Status.DONE
    row = AuditEvent.objects.get(action="payout_failed")
    assert (row.actor, row.reason) == (manager, "x" * 400)
    assert AuditEvent.objects.get(action="batch_done").actor == manager
    assert ("referrals.tasks.payout_email", payout.pk, "failed") in queued


def test_a_manual_payout_in_processing_may_be_marked_failed(build, manager, rep_code):
    payout = executing(build, manager)
    payout_transition(payout=payout, to=Payout.Status.PROCESSING)

    failed = payouts.payout_mark_failed(payout_id=payout.pk, actor=manager, reason="Bounced")

    assert failed.status == Payout.Status.FAILED
    assert payable_balance(rep_code.advocate, "EUR") == 800


def test_a_settled_payout_is_not_marked_failed(build, manager):
    payout = executing(build, manager)
    payouts.payout_mark_paid(payout_id=payout.pk, actor=manager, reference="BANK-1")
    refused(
        "payout_final", payouts.payout_mark_failed, payout_id=payout.pk, actor=manager, reason="x"
    )
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.PAYOUT_FAILED).count() == 0


def test_a_failed_payout_is_not_marked_failed_twice(build, manager, rep_code):
    payout = executing(build, manager)
    payouts.payout_mark_failed(payout_id=payout.pk, actor=manager, reason="Bounced")

    refused(
        "payout_final", payouts.payout_mark_failed, payout_id=payout.pk, actor=manager, reason="x"
    )

    assert balance(rep_code.advocate, "EUR") == 800  # given back once


# ----------------------------------------------------------------------------------- retry


def test_a_retry_is_a_new_payout_reserving_the_failed_amount(build, manager, rep_code, approved):
    failed = executing(build, manager)
    payouts.payout_mark_failed(payout_id=failed.pk, actor=manager, reason="Bounced")
    batch = PayoutBatch.objects.get(pk=failed.batch_id)
    assert batch.status == PayoutBatch.Status.DONE

    retry = payouts.payout_retry(payout_id=failed.pk, actor=manager)

    assert (retry.amount, retry.currency, retry.status) == (800, "EUR", Payout.Status.PENDING)
    assert (retry.batch_id, retry.retry_of_id) == (failed.batch_id, failed.pk)
    entry = LedgerEntry.objects.get(reference=f"payout:{retry.pk}")
    assert (entry.kind, entry.amount, entry.memo) == (
        LedgerEntry.Kind.PAID,
        -800,
        f"Retry of payout {failed.pk}",
    )
    assert payable_balance(rep_code.advocate, "EUR") == 0
    assert set(Commission.objects.filter(payout=retry).values_list("amount", flat=True)) == {
        500,
        300,
    }
    batch.refresh_from_db()
    assert batch.status == PayoutBatch.Status.EXECUTING
    reopened = AuditEvent.objects.get(action="batch_reopened", object_id=batch.pk)
    assert (reopened.actor, reopened.reason) == (manager, f"Retry of payout {failed.pk}")
    retried = AuditEvent.objects.get(action="payout_retried", object_id=retry.pk)
    assert (retried.actor, retried.data) == (manager, {"retry_of": failed.pk})


def test_a_smaller_retry_links_only_the_oldest_commissions_that_fit(
    build, manager, rep_code, approved
):
    failed = executing(build, manager)
    payouts.payout_mark_failed(payout_id=failed.pk, actor=manager, reason="Bounced")
    clawback(rep_code.advocate, 100)  # EUR 7.00 payable: the EUR 5.00 fits, the 3.00 does not

    retry = payouts.payout_retry(payout_id=failed.pk, actor=manager)

    assert retry.amount == 700
    assert list(Commission.objects.filter(payout=retry).values_list("amount", flat=True)) == [500]


def test_a_retry_smaller_than_the_oldest_commission_links_none(build, manager, rep_code, approved):
    failed = executing(build, manager)
    payouts.payout_mark_failed(payout_id=failed.pk, actor=manager, reason="Bounced")
    clawback(rep_code.advocate, 400)  # EUR 4.00: the oldest (5.00) does not fit; none is taken

    retry = payouts.payout_retry(payout_id=failed.pk, actor=manager)

    assert retry.amount == 400
    assert Commission.objects.filter(payout=retry).count() == 0


def test_only_a_failed_payout_is_retried_and_only_once(build, manager):
    payout = executing(build, manager)
    refused("payout_not_failed", payouts.payout_retry, payout_id=payout.pk, actor=manager)

    payouts.payout_mark_failed(payout_id=payout.pk, actor=manager, reason="Bounced")
    payouts.payout_retry(payout_id=payout.pk, actor=manager)
    refused("already_retried", payouts.payout_retry, payout_id=payout.pk, actor=manager)
    assert Payout.objects.filter(retry_of=payout).count() == 1


def test_nothing_is_retried_when_a_refund_took_the_whole_failed_amount(build, manager, rep_code):
    payout = executing(build, manager)
    payouts.payout_mark_failed(payout_id=payout.pk, actor=manager, reason="Bounced")
    clawback(rep_code.advocate, 800)

    refused("nothing_payable", payouts.payout_retry, payout_id=payout.pk, actor=manager)

    assert Payout.objects.count() == 1


def test_a_retry_of_one_cent_is_still_a_retry(build, manager, rep_code):
    payout = executing(build, manager)
    payouts.payout_mark_failed(payout_id=payout.pk, actor=manager, reason="Bounced")
    clawback(rep_code.advocate, 799)

    retry = payouts.payout_retry(payout_id=payout.pk, actor=manager)

    assert retry.amount == 1


def test_a_stripe_retry_is_queued_for_sending_and_a_manual_one_is_not(
    build, manager, rep_code, queued
):
    manual = executing(build, manager)
    payouts.payout_mark_failed(payout_id=manual.pk, actor=manager, reason="Bounced")
    queued.clear()
    payouts.payout_retry(payout_id=manual.pk, actor=manager)
    assert [call for call in queued if call[0] == "referrals.tasks.payout_execute"] == []

    retry = Payout.objects.get(retry_of=manual)
    payouts.payout_mark_failed(payout_id=retry.pk, actor=manager, reason="Bounced again")
    stripe_ready(rep_code.advocate)
    batch = approved_batch(build, manager, backend=PayoutBatch.Backend.STRIPE_CONNECT)
    payouts.payout_batch_execute(batch_id=batch.pk, actor=manager)
    stripe = batch.payouts.get()
    payouts.payout_mark_failed(payout_id=stripe.pk, actor=manager, reason="Refused")
    queued.clear()
    retry = payouts.payout_retry(payout_id=stripe.pk, actor=manager)
    assert [call for call in queued if call[0] == "referrals.tasks.payout_execute"] == [
        ("referrals.tasks.payout_execute", retry.pk)
    ]


# --------------------------------------------------------------------------------- execute


def test_executing_before_the_batch_is_released_is_refused_and_sends_nothing(
    fake_stripe, build, manager, rep_code
):
    stripe_ready(rep_code.advocate)
    payout = approved_batch(build, manager, backend=PayoutBatch.Backend.STRIPE_CONNECT)
    payout = payout.payouts.get()

    refused("batch_not_executing", payouts.payout_execute, payout_id=payout.pk)

    assert fake_stripe.requests == []
    assert Payout.objects.get(pk=payout.pk).status == Payout.Status.PENDING


def test_executing_sets_when_it_was_sent_and_when_it_was_paid(
    fake_stripe, build, manager, rep_code
):
    stripe_ready(rep_code.advocate)
    payout = executing(build, manager, backend=PayoutBatch.Backend.STRIPE_CONNECT)

    paid = payouts.payout_execute(payout_id=payout.pk)

    paid.refresh_from_db()
    assert paid.status == Payout.Status.PAID
    assert paid.processing_at is not None
    assert paid.paid_at is not None
    assert paid.processing_at <= paid.paid_at
    assert [t["amount"] for t in fake_stripe.transfers] == [800]


def test_executing_a_failed_payout_again_sends_nothing(fake_stripe, build, manager, rep_code):
    stripe_ready(rep_code.advocate)
    payout = executing(build, manager, backend=PayoutBatch.Backend.STRIPE_CONNECT)
    payouts.payout_mark_failed(payout_id=payout.pk, actor=manager, reason="Bounced")

    again = payouts.payout_execute(payout_id=payout.pk)

    assert again.status == Payout.Status.FAILED
    assert fake_stripe.requests == []
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.PAYOUT_FAILED).count() == 1


def test_executing_after_a_refund_made_the_balance_negative_fails_and_sends_nothing(
    fake_stripe, build, manager, rep_code
):
    stripe_ready(rep_code.advocate)
    payout = executing(build, manager, backend=PayoutBatch.Backend.STRIPE_CONNECT)
    clawback(rep_code.advocate, 100)

    result = payouts.payout_execute(payout_id=payout.pk)

    result.refresh_from_db()
    assert result.status == Payout.Status.FAILED
    assert result.failure_reason == (
        "The balance fell after the batch was built (refund or dispute); the rest goes into "
        "the next batch."
    )
    assert fake_stripe.requests == []
    assert payable_balance(rep_code.advocate, "EUR") == 700
    assert PayoutBatch.objects.get(pk=payout.batch_id).status == PayoutBatch.Status.DONE


def test_executing_a_manual_payout_fails_it_with_the_backends_reason(build, manager, rep_code):
    payout = executing(build, manager)

    result = payouts.payout_execute(payout_id=payout.pk)

    assert result.status == Payout.Status.FAILED
    assert result.failure_reason == (
        "Manual payouts are marked paid by a manager after the bank transfer."
    )
    assert payable_balance(rep_code.advocate, "EUR") == 800


def test_a_retry_links_only_the_advocates_free_approved_unfrozen_commissions(
    rep_code, other_rep_code, manager
):
    """Older commissions that are not the advocate's, not approved, or frozen by a dispute come
    first by id; none of them is linked to the retry, only the failed payout's EUR 5.00 + 3.00."""
    from datetime import timedelta

    from django.utils import timezone

    from referrals.services.commissions import commission_approve
    from referrals.services.refunds import dispute_open
    from tests.factories import sale

    long_ago = timezone.now() - timedelta(days=60)

    def earn(code, external_id, gross, *, approve=True):
        commission = sale(code, external_id, gross, long_ago).commission
        if approve:
            commission_approve(commission_id=commission.pk, actor=manager)
        return commission

    earn(other_rep_code, "theirs", 1_000)  # 100, another advocate's
    earn(rep_code, "pending", 2_000, approve=False)  # 200, not approved
    frozen = earn(rep_code, "disputed", 4_000)  # 400, frozen below
    earn(rep_code, "five", 5_000)
    earn(rep_code, "three", 3_000)
    dispute_open(order=frozen.order, external_id="dp_1")
    batch = payouts.payout_batch_build(programme_id=rep_code.advocate.programme_id, actor=manager)
    payouts.payout_batch_approve(batch_id=batch.pk, actor=manager, password=PASSWORD)
    payouts.payout_batch_execute(batch_id=batch.pk, actor=manager)
    for payout in batch.payouts.all():  # both advocates' payouts fail: their commissions free
        payouts.payout_mark_failed(payout_id=payout.pk, actor=manager, reason="Bounced")
    failed = batch.payouts.get(advocate=rep_code.advocate)
    assert failed.amount == 800

    retry = payouts.payout_retry(payout_id=failed.pk, actor=manager)

    linked = Commission.objects.filter(payout=retry).values_list("amount", flat=True)
    assert sorted(linked) == [300, 500]


def test_a_retry_links_commissions_while_their_sum_fits(rep_code, manager):
    """Three EUR 3.00 commissions, a retry of EUR 7.00: two are linked (6.00), the third waits."""
    from datetime import timedelta

    from django.utils import timezone

    from referrals.services.commissions import commission_approve
    from tests.factories import sale

    for n in range(3):
        commission = sale(rep_code, f"three-{n}", 3_000, timezone.now() - timedelta(days=60))
        commission_approve(commission_id=commission.commission.pk, actor=manager)
    batch = payouts.payout_batch_build(programme_id=rep_code.advocate.programme_id, actor=manager)
    payouts.payout_batch_approve(batch_id=batch.pk, actor=manager, password=PASSWORD)
    payouts.payout_batch_execute(batch_id=batch.pk, actor=manager)
    failed = batch.payouts.get()
    payouts.payout_mark_failed(payout_id=failed.pk, actor=manager, reason="Bounced")
    clawback(rep_code.advocate, 200)

    retry = payouts.payout_retry(payout_id=failed.pk, actor=manager)

    assert retry.amount == 700
    assert Commission.objects.filter(payout=retry).count() == 2


def test_a_failed_payout_frees_its_own_commissions_not_those_of_the_advocates_retry(
    build, manager, rep_code
):
    """The advocate's retry (EUR 8.00, its commissions linked) and a later payout of new money
    (EUR 5.00) are open together; the later one failing frees only its own commission."""
    from datetime import timedelta

    from django.utils import timezone

    from referrals.services.commissions import commission_approve
    from tests.factories import sale

    failed = executing(build, manager)
    payouts.payout_mark_failed(payout_id=failed.pk, actor=manager, reason="Bounced")
    retry = payouts.payout_retry(payout_id=failed.pk, actor=manager)
    grown = sale(rep_code, "grown", 5_000, timezone.now() - timedelta(days=60)).commission
    commission_approve(commission_id=grown.pk, actor=manager)
    later = executing(build, manager)
    assert later.amount == 500

    payouts.payout_mark_failed(payout_id=later.pk, actor=manager, reason="Bounced")

    assert Commission.objects.filter(payout=retry).count() == 2
    assert Commission.objects.get(pk=grown.pk).payout_id is None
