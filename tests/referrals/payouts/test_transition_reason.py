"""Issue #16, mutation testing of `transitions.py`: a batch move given no reason is audited
with none (the history shows no reason line for it)."""

import pytest

from referrals.models import AuditEvent
from referrals.payouts import services as payouts
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_a_batch_move_without_a_reason_is_audited_without_one(build, manager):
    batch = build()
    payouts.payout_batch_approve(batch_id=batch.pk, actor=manager, password=PASSWORD)

    payouts.payout_batch_execute(batch_id=batch.pk, actor=manager)

    assert AuditEvent.objects.get(action="batch_executed", object_id=batch.pk).reason == ""
