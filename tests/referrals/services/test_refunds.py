"""refund_record: what a sequence of refunds reverses (issue #16), checked against an expectation
computed here with Fraction arithmetic, not with the service's helpers."""

from datetime import timedelta
from decimal import Decimal
from fractions import Fraction
from math import floor

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from kernel.errors import ServiceError
from referrals.models import AuditEvent, Commission, LedgerEntry
from referrals.services.orders import order_ingest
from referrals.services.refunds import dispute_close, dispute_open, refund_record

pytestmark = pytest.mark.django_db

# A recent order time (shops may not send orders older than STREETTEAM_ORDER_MAX_AGE_DAYS).
PLACED = (timezone.now() - timedelta(days=2)).replace(microsecond=0)


def referred_order(rep_code, *, gross=10000, tax=0, shipping=0, external_id="order-1"):
    result = order_ingest(
        source="api",
        external_id=external_id,
        currency="EUR",
        gross_amount=gross,
        tax_amount=tax,
        shipping_amount=shipping,
        code=rep_code.code,
        placed_at=PLACED,
    )
    return result.order, result.commission


def reversed_total(commission: Commission) -> int:
    return -sum(
        commission.ledger.filter(kind=LedgerEntry.Kind.REVERSED).values_list("amount", flat=True)
    )


def half_up(value: Fraction) -> int:
    return floor(value + Fraction(1, 2))


def test_many_small_partial_refunds_reverse_the_refunded_share_not_zero(rep_code):
    """250 refunds of 4 cents on a 100.00 order (10% of it) reverse 10% of the 10.00
    commission: each on its own rounds to 0 (0.4 cent), so they used to reverse nothing."""
    order, commission = referred_order(rep_code)
    assert commission is not None
    assert commission.amount == 1000
    for n in range(250):
        refund_record(order=order, external_id=f"re_{n}", amount=4)
    assert reversed_total(commission) == 100


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    gross=st.integers(min_value=1, max_value=50_000),
    tax=st.integers(min_value=0, max_value=5_000),
    shipping=st.integers(min_value=0, max_value=2_000),
    percent=st.sampled_from(["10", "7.5", "33.33", "1", "99"]),
    cuts=st.lists(st.floats(min_value=0, max_value=1), min_size=1, max_size=12),
    finish=st.booleans(),
)
def test_any_refund_sequence_reverses_commission_times_refunded_share_rounded_once(
    rep_code, gross, tax, shipping, percent, cuts, finish
):
    programme = rep_code.advocate.programme
    programme.advocate_reward_percent = Decimal(percent)
    programme.save(update_fields=["advocate_reward_percent"])
    with transaction.atomic():
        order, commission = referred_order(rep_code, gross=gross, tax=tax, shipping=shipping)
        assume(commission is not None)
        paid = gross + tax + shipping
        # Refund amounts from cut points: each a positive share of what is left.
        refunded = 0
        amounts = []
        for cut in cuts:
            amount = int((paid - refunded) * cut)
            if amount <= 0:
                continue
            amounts.append(amount)
            refunded += amount
        if finish and refunded < paid:
            amounts.append(paid - refunded)
        refunded = 0
        for n, amount in enumerate(amounts):
            refund_record(order=order, external_id=f"re_{n}", amount=amount)
            refunded += amount
            expected = half_up(Fraction(commission.amount) * Fraction(refunded, paid))
            assert reversed_total(commission) == expected, (n, amounts)
        if refunded == paid:
            assert sum(commission.ledger.values_list("amount", flat=True)) == 0
        transaction.set_rollback(True)


def test_a_refund_id_reused_with_another_amount_is_refused_not_dropped(rep_code):
    order, commission = referred_order(rep_code)
    refund_record(order=order, external_id="re_1", amount=4000)
    assert refund_record(order=order, external_id="re_1", amount=4000).amount == 4000
    with pytest.raises(ServiceError) as caught:
        refund_record(order=order, external_id="re_1", amount=5000)
    assert (caught.value.code, caught.value.field) == ("refund_id_reused", "refund_id")
    assert reversed_total(commission) == 400


def test_a_refund_names_its_currency_in_any_case_and_must_be_the_orders(rep_code):
    order, _ = referred_order(rep_code)
    with pytest.raises(ServiceError) as caught:
        refund_record(order=order, external_id="re_1", amount=100, currency="usd")
    assert caught.value.code == "refund_currency_mismatch"
    assert refund_record(order=order, external_id="re_1", amount=100, currency="eur").amount == 100


# ------------------------------------------------------------------ what a refund is refused


@pytest.mark.parametrize("external_id", ["", "   ", None, "r" * 256])
def test_a_refund_needs_an_id_of_1_to_255_characters(rep_code, external_id):
    order, _ = referred_order(rep_code)
    with pytest.raises(ServiceError) as caught:
        refund_record(order=order, external_id=external_id, amount=100)
    assert caught.value.code == "refund_id_invalid"


def test_a_refund_id_of_255_characters_and_spaces_around_is_kept_stripped(rep_code):
    order, _ = referred_order(rep_code)
    refund = refund_record(order=order, external_id=f" {'r' * 255} ", amount=100)
    assert refund.external_id == "r" * 255


@pytest.mark.parametrize("amount", [0, -1, True, 1.5, "100", 10**15 + 1])
def test_a_refund_amount_is_a_positive_whole_number(rep_code, amount):
    order, _ = referred_order(rep_code)
    with pytest.raises(ServiceError) as caught:
        refund_record(order=order, external_id="re_1", amount=amount)
    assert caught.value.code == "amount_invalid"


def test_the_largest_amount_is_an_amount_and_refused_only_as_more_than_paid(rep_code):
    order, _ = referred_order(rep_code)
    with pytest.raises(ServiceError) as caught:
        refund_record(order=order, external_id="re_1", amount=10**15)
    assert caught.value.code == "refund_too_large"


def test_refunds_may_total_what_was_paid_with_tax_and_shipping_and_not_a_cent_more(rep_code):
    order, commission = referred_order(rep_code, gross=10_000, tax=1_900, shipping=500)
    refund_record(order=order, external_id="re_1", amount=12_000)
    with pytest.raises(ServiceError) as caught:
        refund_record(order=order, external_id="re_2", amount=401)
    assert caught.value.code == "refund_too_large"

    refund_record(order=order, external_id="re_2", amount=400)

    order.refresh_from_db()
    commission.refresh_from_db()
    assert order.status == "refunded"
    assert (commission.status, reversed_total(commission)) == ("reversed", 1_000)


def test_a_partial_refund_marks_the_order_partly_refunded_and_says_so(rep_code):
    order, commission = referred_order(rep_code, gross=10_000, tax=2_000)
    refund = refund_record(order=order, external_id="re_1", amount=3_000)  # a quarter

    order.refresh_from_db()
    commission.refresh_from_db()
    assert order.status == "partially_refunded"
    assert commission.status == "pending"
    [entry] = commission.ledger.filter(kind=LedgerEntry.Kind.REVERSED)
    assert entry.amount == -250
    assert entry.reference == f"refund:{refund.pk}:commission:{commission.pk}"
    assert entry.memo == "Refund re_1 on order order-1"
    row = AuditEvent.objects.get(action="refund_recorded")
    assert (row.object_id, row.data) == (order.pk, {"amount": 3_000, "refund": "re_1"})


# ------------------------------------------------------------------------------- disputes


def test_a_dispute_freezes_the_commission_once(rep_code):
    order, commission = referred_order(rep_code)

    dispute = dispute_open(order=order, external_id="dp_1")
    dispute_open(order=order, external_id="dp_1")  # the same event again

    commission.refresh_from_db()
    assert (dispute.status, commission.frozen) == ("open", True)
    [row] = AuditEvent.objects.filter(action="commission_frozen")
    assert (row.object_id, row.reason) == (commission.pk, "Dispute dp_1 opened")


def test_a_won_dispute_unfreezes_and_reverses_nothing(rep_code):
    order, commission = referred_order(rep_code)
    dispute_open(order=order, external_id="dp_1")

    dispute = dispute_close(order=order, external_id="dp_1", won=True)

    commission.refresh_from_db()
    assert (dispute.status, commission.frozen, commission.status) == ("won", False, "pending")
    assert dispute.closed_at is not None
    assert reversed_total(commission) == 0
    assert AuditEvent.objects.get(action="commission_unfrozen").reason == "Dispute dp_1 won"


def test_a_lost_dispute_reverses_what_is_left_once(rep_code):
    order, commission = referred_order(rep_code)
    refund_record(order=order, external_id="re_1", amount=2_000)  # 200 of 1000 reversed
    dispute_open(order=order, external_id="dp_1")

    dispute = dispute_close(order=order, external_id="dp_1", won=False)
    dispute_close(order=order, external_id="dp_1", won=False)  # the same event again

    commission.refresh_from_db()
    assert (dispute.status, commission.frozen, commission.status) == ("lost", False, "reversed")
    lost = commission.ledger.get(reference=f"dispute:{dispute.pk}:commission:{commission.pk}")
    assert (lost.amount, lost.memo) == (-800, "Dispute dp_1 lost")
    assert reversed_total(commission) == 1_000
    assert AuditEvent.objects.get(action="commission_unfrozen").reason == "Dispute dp_1 lost"


def test_a_commission_stays_frozen_while_another_dispute_is_open(rep_code):
    order, commission = referred_order(rep_code)
    dispute_open(order=order, external_id="dp_1")
    dispute_open(order=order, external_id="dp_2")

    dispute_close(order=order, external_id="dp_1", won=True)
    commission.refresh_from_db()
    assert commission.frozen is True

    dispute_close(order=order, external_id="dp_2", won=True)
    commission.refresh_from_db()
    assert commission.frozen is False


def test_a_close_that_arrives_before_its_open_settles_at_once(rep_code):
    order, commission = referred_order(rep_code)

    dispute = dispute_close(order=order, external_id="dp_1", won=False)

    commission.refresh_from_db()
    assert (dispute.status, commission.status, commission.frozen) == ("lost", "reversed", False)
    assert reversed_total(commission) == 1_000
