"""Issue #16, mutation testing of `batches.py`: the second of two approvals (who, when, its own
audit action) and the dual-approval limit itself (a total at the limit needs one approval)."""

import pytest

from kernel.errors import ServiceError
from referrals.models import AuditEvent, PayoutBatch
from referrals.payouts import services as payouts
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def limit(rep_code, amount):
    programme = rep_code.advocate.programme
    programme.dual_approval_above = amount
    programme.save(update_fields=["dual_approval_above"])


def approve(batch, actor):
    return payouts.payout_batch_approve(batch_id=batch.pk, actor=actor, password=PASSWORD)


def test_a_second_manager_completes_the_approval_with_its_own_audit_action(
    build, manager, rep_code
):
    limit(rep_code, 100)
    batch = build()
    approve(batch, manager)
    second = UserFactory(is_staff=True, is_superuser=True)

    approve(batch, second)

    batch.refresh_from_db()
    assert batch.status == PayoutBatch.Status.APPROVED
    assert (batch.approved_by, batch.second_approved_by) == (manager, second)
    assert batch.second_approved_at is not None
    event = AuditEvent.objects.get(object_id=batch.pk, action="batch_second_approval")
    assert (event.actor, event.data["total"], event.data["after"]) == (second, 800, "approved")


def test_the_approver_can_not_be_the_second_approver(build, manager, rep_code):
    limit(rep_code, 100)
    batch = build()
    approve(batch, manager)

    with pytest.raises(ServiceError) as caught:
        approve(batch, manager)

    assert (caught.value.code, caught.value.field) == ("second_approver_required", None)
    batch.refresh_from_db()
    assert (batch.status, batch.second_approved_by) == (PayoutBatch.Status.DRAFT, None)


def test_a_total_at_the_limit_needs_one_approval(build, manager, rep_code):
    limit(rep_code, 800)
    batch = build()
    assert batch.total_amount == 800

    approve(batch, manager)

    batch.refresh_from_db()
    assert batch.status == PayoutBatch.Status.APPROVED
    event = AuditEvent.objects.get(object_id=batch.pk, action="batch_approved")
    assert (event.actor, event.data["total"], event.data["after"]) == (manager, 800, "approved")
