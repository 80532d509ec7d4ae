"""Fixtures for the payout edges of issue #16: a built batch of one advocate's approved money."""

from datetime import timedelta

import pytest
from django.utils import timezone

from referrals.payouts import services as payouts
from referrals.services.commissions import commission_approve
from tests.factories import UserFactory, sale

LONG_AGO = timezone.now() - timedelta(days=60)


@pytest.fixture
def manager(db):
    return UserFactory(is_staff=True, is_superuser=True)


@pytest.fixture
def approved(rep_code, manager):
    """Two approved commissions of the advocate (EUR 5.00 and 3.00)."""
    out = []
    for n, gross in enumerate((5_000, 3_000)):
        commission = sale(rep_code, f"i16-{n}", gross, LONG_AGO).commission
        out.append(commission_approve(commission_id=commission.pk, actor=manager))
    return out


@pytest.fixture
def build(rep_code, manager, approved):
    def _build(**kwargs):
        return payouts.payout_batch_build(
            programme_id=rep_code.advocate.programme_id, actor=manager, **kwargs
        )

    return _build
