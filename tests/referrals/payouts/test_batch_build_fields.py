"""Issue #16, mutation testing of `build.py`: the batch's author and currency, the smallest
payable amount (a threshold of 0 still means at least one minor unit), and an unknown backend
refused by its code."""

import pytest

from kernel.errors import ServiceError
from referrals.payouts import services as payouts
from referrals.services import ledger
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_threshold_of_zero_pays_a_balance_of_one_minor_unit(advocate):
    programme = advocate.programme
    programme.payout_threshold = 0
    programme.save(update_fields=["payout_threshold"])
    ledger.ledger_write(
        advocate_id=advocate.pk,
        currency=programme.currency,
        kind="adjustment",
        amount=1,
        reference="adjustment:1",
    )
    manager = UserFactory(is_staff=True, is_superuser=True)

    batch = payouts.payout_batch_build(programme_id=programme.pk, actor=manager)

    assert batch is not None
    assert (batch.total_amount, batch.payout_count) == (1, 1)
    batch.refresh_from_db()
    assert (batch.created_by, batch.currency) == (manager, programme.currency)


def test_an_unknown_backend_is_refused_by_code(advocate):
    with pytest.raises(ServiceError) as caught:
        payouts.payout_batch_build(programme_id=advocate.programme_id, backend="carrier-pigeon")
    assert (caught.value.code, caught.value.field) == ("backend_invalid", None)
