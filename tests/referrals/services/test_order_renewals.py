"""Issue #16, mutation testing of `orders.py`: which order is a subscription's first (the
earliest placed, of that subscription, in that store), the renewal's credit, and the refusals
of a renewal by their code."""

from datetime import timedelta

import pytest
from django.utils import timezone

from kernel.errors import ServiceError
from referrals.models import Attribution, Commission
from referrals.services.orders import order_ingest
from tests.factories import OrderFactory, RepCodeFactory, StoreFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def recurring(programme):
    programme.advocate_recurring_months = 3
    programme.save(update_fields=["advocate_recurring_months"])
    return programme


def paid_first(rep_code, subscription_id, days_ago, *, credited=True, **fields):
    """A subscription's first payment, referred with `rep_code`, `days_ago` days ago."""
    return OrderFactory(
        programme=rep_code.advocate.programme,
        rep_code=rep_code,
        advocate=rep_code.advocate if credited else None,
        attribution=Attribution.CODE,
        subscription_id=subscription_id,
        placed_at=timezone.now() - timedelta(days=days_ago),
        **fields,
    )


def renew(subscription_id, external_id="renewal-1", **kwargs):
    return order_ingest(
        source="api",
        external_id=external_id,
        currency="EUR",
        gross_amount=10_000,
        subscription_id=subscription_id,
        renewal=True,
        **kwargs,
    )


def test_a_renewal_is_credited_to_the_advocate_of_the_earliest_placed_payment(recurring, rep_code):
    other = RepCodeFactory(advocate__programme=recurring)
    paid_first(other, "", 20)  # the store's earliest order, of no subscription
    paid_first(other, "sub_1", 5)  # recorded first, placed later
    paid_first(rep_code, "sub_1", 10)

    result = renew("sub_1")

    assert result.commission is not None
    assert (result.commission.advocate, result.commission.rule) == (rep_code.advocate, "recurring")
    assert Commission.objects.get(order=result.order) == result.commission
    result.order.refresh_from_db()
    assert result.order.advocate == rep_code.advocate


def test_a_renewal_is_credited_from_its_own_stores_first_payment(recurring, rep_code):
    elsewhere = StoreFactory()
    other = RepCodeFactory(advocate__programme=recurring)
    paid_first(other, "sub_1", 20, store=elsewhere)  # another shop's subscription of that id
    paid_first(rep_code, "sub_1", 10)

    result = renew("sub_1")

    assert result.commission.advocate == rep_code.advocate


def test_a_renewal_without_its_subscription_is_refused_by_code(recurring):
    with pytest.raises(ServiceError) as caught:
        renew("")
    assert (caught.value.code, caught.value.field) == ("subscription_missing", None)


def test_a_renewal_of_a_first_payment_that_earned_nothing_has_a_note(recurring, rep_code):
    paid_first(rep_code, "sub_1", 10, credited=False)

    result = renew("sub_1")

    assert result.commission is None
    [note] = result.notes
    assert isinstance(note, str)
    assert note


def test_a_renewal_past_the_recurring_months_has_a_note(recurring, rep_code):
    paid_first(rep_code, "sub_1", 200)

    result = renew("sub_1")

    assert result.commission is None
    [note] = result.notes
    assert isinstance(note, str)
    assert note
