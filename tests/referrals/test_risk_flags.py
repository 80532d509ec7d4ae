"""Risk flags are computed by selectors (the admin only labels them): a commission's in the
managers' queue, a payout line's in a batch under review."""

from datetime import timedelta

import pytest
from django.utils import timezone

from referrals.models import Commission, FraudSignal
from referrals.selectors import commission_queue, commission_risk_flags
from tests.factories import sale

pytestmark = pytest.mark.django_db


def test_a_commission_past_its_hold_is_ready(rep_code):
    commission = sale(rep_code, "o-1", 5000, timezone.now() - timedelta(days=60)).commission
    assert commission_risk_flags(commission_queue().get(pk=commission.pk)) == ["ready"]
    assert commission_risk_flags(commission, now=commission.hold_until - timedelta(seconds=1)) == []


def test_fraud_and_a_dispute_are_flagged_and_a_frozen_commission_is_not_ready(rep_code):
    result = sale(rep_code, "o-1", 5000, timezone.now() - timedelta(days=60))
    FraudSignal.objects.create(order=result.order, kind="self_referral", detail="Same email")
    Commission.objects.filter(pk=result.commission.pk).update(frozen=True)
    assert commission_risk_flags(commission_queue().get(pk=result.commission.pk)) == [
        "fraud",
        "frozen",
    ]
