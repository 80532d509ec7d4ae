"""order_ingest under real concurrency on PostgreSQL: the same order delivered by 20 workers at
once, and 20 orders racing for one shopper's one-use offer (an order at most once, one
discounted order per shopper)."""

import pytest

from kernel.errors import ServiceError
from referrals.models import Commission, DiscountRedemption, LedgerEntry, Order
from referrals.services.orders import order_ingest

from .conftest import THREADS

pytestmark = [pytest.mark.pg, pytest.mark.django_db(transaction=True)]


def test_the_same_order_arriving_twenty_times_at_once_is_recorded_once(threads, rep_code):
    def deliver(i):
        result = order_ingest(
            source="api",
            external_id="ord-concurrent-1",
            currency="EUR",
            gross_amount=10_000,
            code=rep_code.code,
            shopper_email="shopper@example.net",
        )
        return result.order.pk, result.created

    outcomes = threads(deliver)

    assert [o.error for o in outcomes] == [None] * THREADS
    order_ids = {o.result[0] for o in outcomes}
    assert order_ids == set(Order.objects.values_list("pk", flat=True))
    assert len(order_ids) == 1
    assert sum(o.result[1] for o in outcomes) == 1  # exactly one worker created it
    commission = Commission.objects.get()
    assert commission.amount == 1_000
    assert commission.advocate == rep_code.advocate
    earned = LedgerEntry.objects.get(kind=LedgerEntry.Kind.EARNED)
    assert earned.commission == commission
    assert earned.amount == 1_000


def test_twenty_orders_racing_for_one_shoppers_one_use_offer_record_only_one(threads, rep_code):
    programme = rep_code.advocate.programme
    assert programme.shopper_one_use

    def redeem(i):
        return order_ingest(
            source="api",
            external_id=f"ord-offer-{i}",
            currency="EUR",
            gross_amount=10_000,
            discount_amount=2_000,
            code=rep_code.code,
            shopper_email="Same.Shopper@example.net",
        ).order.pk

    outcomes = threads(redeem)

    winners = [o.result for o in outcomes if o.error is None]
    losers = [o.error for o in outcomes if o.error is not None]
    assert len(winners) == 1
    assert all(isinstance(e, ServiceError) for e in losers), losers
    assert {e.code for e in losers} == {"offer_already_used"}
    assert list(Order.objects.values_list("pk", flat=True)) == winners
    assert DiscountRedemption.objects.get().order_id == winners[0]
    assert Commission.objects.count() == 1
    assert LedgerEntry.objects.count() == 1
