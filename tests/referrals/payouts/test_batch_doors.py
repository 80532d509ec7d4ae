"""Issue #16, mutation testing of `batches.py`: each refusal of approve, cancel and execute by
its code and field (the contract the console and the API read), who the audit names, and which
payouts an executed batch sends to the queue."""

import pytest
from django.contrib.auth.models import Permission

from kernel.errors import ServiceError
from referrals.models import AuditEvent, Payout, PayoutBatch
from referrals.payouts import services as payouts
from referrals.payouts.services import batches
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def refused(call, **kwargs) -> ServiceError:
    with pytest.raises(ServiceError) as caught:
        call(**kwargs)
    return caught.value


def treasurer(with_permission: bool):
    """Staff, not a superuser (who has every permission): the payout permission or nothing."""
    user = UserFactory(is_staff=True, is_superuser=False)
    if with_permission:
        user.user_permissions.add(
            Permission.objects.get(
                content_type__app_label="referrals", codename="approve_payoutbatch"
            )
        )
    return type(user).objects.get(pk=user.pk)  # permissions are cached per object


def approve(batch, actor, password=PASSWORD):
    return payouts.payout_batch_approve(batch_id=batch.pk, actor=actor, password=password)


def test_staff_without_the_payout_permission_may_neither_approve_nor_execute(build):
    batch = build()
    clerk = treasurer(with_permission=False)

    error = refused(approve, batch=batch, actor=clerk)
    assert (error.code, error.field) == ("permission_denied", None)
    error = refused(payouts.payout_batch_execute, batch_id=batch.pk, actor=clerk)
    assert (error.code, error.field) == ("permission_denied", None)


def test_staff_given_only_the_payout_permission_may_approve_and_execute(build):
    batch = build()
    holder = treasurer(with_permission=True)

    approve(batch, holder)
    payouts.payout_batch_execute(batch_id=batch.pk, actor=holder)

    batch.refresh_from_db()
    assert batch.status == PayoutBatch.Status.EXECUTING
    assert batch.approved_by == holder


def test_a_wrong_password_is_refused_on_the_password_field(build, manager):
    batch = build()

    for password in ("not-the-password", ""):
        error = refused(approve, batch=batch, actor=manager, password=password)
        assert (error.code, error.field) == ("password_invalid", "password")
    batch.refresh_from_db()
    assert (batch.status, batch.approved_by) == (PayoutBatch.Status.DRAFT, None)


def test_a_batch_not_awaiting_approval_is_neither_approved_nor_cancelled(build, manager):
    batch = build()
    approve(batch, manager)

    error = refused(approve, batch=batch, actor=manager)
    assert (error.code, error.field) == ("batch_not_draft", None)
    error = refused(payouts.payout_batch_cancel, batch_id=batch.pk, actor=manager, reason="x")
    assert (error.code, error.field) == ("batch_not_draft", None)


def test_only_an_approved_batch_is_executed(build, manager):
    batch = build()

    error = refused(payouts.payout_batch_execute, batch_id=batch.pk, actor=manager)
    assert (error.code, error.field) == ("batch_not_approved", None)


def test_a_single_approval_is_audited_as_batch_approved_with_its_approver(build, manager):
    batch = build()

    approve(batch, manager)

    event = AuditEvent.objects.exclude(action="batch_built").get(
        object_id=batch.pk, object_type="payoutbatch"
    )
    assert (event.action, event.actor, event.data["total"]) == ("batch_approved", manager, 800)


def test_the_first_of_two_approvals_is_audited_with_its_approver_and_total(
    build, manager, rep_code
):
    rep_code.advocate.programme.dual_approval_above = 100
    rep_code.advocate.programme.save(update_fields=["dual_approval_above"])
    batch = build()

    approve(batch, manager)

    batch.refresh_from_db()
    assert (batch.status, batch.approved_by) == (PayoutBatch.Status.DRAFT, manager)
    event = AuditEvent.objects.exclude(action="batch_built").get(
        object_id=batch.pk, object_type="payoutbatch"
    )
    assert (event.action, event.actor, event.data["total"]) == ("batch_approved", manager, 800)
    error = refused(approve, batch=batch, actor=manager)
    assert (error.code, error.field) == ("second_approver_required", None)


def test_cancelling_audits_the_manager_and_the_reason_on_the_batch_and_its_payouts(build, manager):
    batch = build()
    payout = batch.payouts.get()
    reason = "Wrong month " + "x" * 400

    payouts.payout_batch_cancel(batch_id=batch.pk, actor=manager, reason=reason)

    payout.refresh_from_db()
    assert payout.failure_reason == f"Batch cancelled: {reason}"[:300]
    on_payout = AuditEvent.objects.get(action="payout_cancelled", object_id=payout.pk)
    assert (on_payout.actor, on_payout.reason) == (manager, f"Batch cancelled: {reason}"[:500])
    on_batch = AuditEvent.objects.get(action="batch_cancelled", object_id=batch.pk)
    assert (on_batch.actor, on_batch.reason) == (manager, reason[:500])


def test_executing_is_audited_with_the_manager(build, manager):
    batch = build()
    approve(batch, manager)

    payouts.payout_batch_execute(batch_id=batch.pk, actor=manager)

    assert AuditEvent.objects.get(action="batch_executed", object_id=batch.pk).actor == manager


@pytest.fixture
def queued(monkeypatch):
    sent = []
    monkeypatch.setattr(batches, "enqueue_on_commit", lambda name, *args: sent.append((name, args)))
    return sent


def test_a_stripe_batch_sends_each_pending_payout_to_the_queue_once(
    build, manager, queued, other_rep_code
):
    batch = build()
    approve(batch, manager)
    PayoutBatch.objects.filter(pk=batch.pk).update(backend=PayoutBatch.Backend.STRIPE_CONNECT)
    pending = batch.payouts.get()
    done = Payout.objects.create(
        batch=batch,
        advocate=other_rep_code.advocate,
        currency=pending.currency,
        amount=100,
        status=Payout.Status.PAID,
    )

    payouts.payout_batch_execute(batch_id=batch.pk, actor=manager)

    assert queued == [("referrals.tasks.payout_execute", (pending.pk,))]
    assert done.pk != pending.pk


def test_a_manual_batch_sends_nothing_to_the_queue(build, manager, queued):
    batch = build()
    approve(batch, manager)

    payouts.payout_batch_execute(batch_id=batch.pk, actor=manager)

    assert queued == []
