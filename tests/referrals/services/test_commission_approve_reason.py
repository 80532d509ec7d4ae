"""Issue #16, mutation testing of `commissions.py`: an approval given no reason is audited
with none."""

from datetime import timedelta

import pytest

from referrals.models import AuditEvent
from referrals.services import commissions as svc
from tests.factories import received_ago, sale

pytestmark = pytest.mark.django_db


def test_an_approval_without_a_reason_is_audited_without_one(rep_code):
    commission = sale(rep_code, "o-1", 10_000).commission
    received_ago(commission, timedelta(days=rep_code.advocate.programme.hold_days + 1))

    svc.commission_approve(commission_id=commission.pk)

    event = AuditEvent.objects.get(action="commission_approved", object_id=commission.pk)
    assert event.reason == ""
