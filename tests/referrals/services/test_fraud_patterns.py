"""The suspicious patterns recorded at ingestion and at a refund (services/fraud.py): each raised
when it should, not on an ordinary order; a flagged order earns nothing, as every flag does."""

from datetime import timedelta

import pytest

from referrals.links.cookies import LinkReferral
from referrals.models import Commission, FraudSignal, Order
from referrals.services.refunds import refund_record
from tests.factories import AdvocateFactory, OrderFactory, RepCodeFactory

from .test_order_ingest import PLACED, ingest

pytestmark = pytest.mark.django_db

Kind = FraudSignal.Kind


def signal_kinds(result) -> set[str]:
    return set(FraudSignal.objects.filter(order=result.order).values_list("kind", flat=True))


def link(rep_code, seconds_before_order):
    return LinkReferral(
        code=rep_code.code,
        visitor_id="v" * 32,
        clicked_at=PLACED - timedelta(seconds=seconds_before_order),
    )


# ------------------------------------------------------------------------- click to order


def test_an_order_nine_seconds_after_its_click_is_flagged_and_earns_nothing(rep_code):
    result = ingest(link=link(rep_code, 9))

    assert signal_kinds(result) == {Kind.FAST_ORDER}
    assert result.commission is None
    assert result.order.advocate_id is None
    assert not Commission.objects.exists()
    signal = FraudSignal.objects.get()
    assert signal.advocate_id == rep_code.advocate_id
    assert signal.detail == "The order was placed 9 seconds after the link was clicked."


def test_an_order_ten_seconds_after_its_click_earns_as_usual(rep_code):
    result = ingest(link=link(rep_code, 10))

    assert signal_kinds(result) == set()
    assert result.commission.amount == 1000
    assert result.order.advocate_id == rep_code.advocate_id


def test_an_order_stamped_before_its_click_is_clock_skew_not_a_fast_order(rep_code):
    result = ingest(link=link(rep_code, -60))

    assert signal_kinds(result) == set()
    assert result.commission is not None


def test_a_typed_code_is_not_timed_against_a_click(rep_code):
    result = ingest(code=rep_code.code, link=link(rep_code, 1))

    assert signal_kinds(result) == set()
    assert result.commission is not None


# ------------------------------------------------------------------------- one shopper, many orders


def test_the_third_order_of_one_shopper_with_one_code_in_a_day_is_flagged(rep_code):
    first = ingest(external_id="a", code=rep_code.code, placed_at=PLACED - timedelta(hours=20))
    second = ingest(external_id="b", code=rep_code.code, placed_at=PLACED - timedelta(hours=1))
    third = ingest(external_id="c", code=rep_code.code, placed_at=PLACED)

    assert first.commission is not None
    assert second.commission is not None
    assert signal_kinds(third) == {Kind.REPEAT_CUSTOMER}
    assert third.commission is None
    assert FraudSignal.objects.get().detail == (
        "The same shopper placed 3 orders with this code within 24 hours."
    )


def test_orders_of_one_customer_id_without_email_count_too(rep_code):
    for n, hours in enumerate([3, 2]):
        ingest(
            external_id=f"o{n}",
            code=rep_code.code,
            shopper_email="",
            shopper_customer_id="cus_1",
            placed_at=PLACED - timedelta(hours=hours),
        )
    third = ingest(
        external_id="o3", code=rep_code.code, shopper_email="", shopper_customer_id="cus_1"
    )

    assert signal_kinds(third) == {Kind.REPEAT_CUSTOMER}


def test_a_shopper_ordering_again_after_the_day_or_from_other_shoppers_is_ordinary(rep_code):
    ingest(external_id="old", code=rep_code.code, placed_at=PLACED - timedelta(hours=25))
    ingest(external_id="recent", code=rep_code.code, placed_at=PLACED - timedelta(hours=2))
    ingest(external_id="other", code=rep_code.code, shopper_email="someone@example.org")
    result = ingest(external_id="now", code=rep_code.code)

    assert signal_kinds(result) == set()
    assert result.commission is not None
    assert not FraudSignal.objects.exists()


# ------------------------------------------------------------------------- duplicate accounts


def test_a_shopper_who_is_another_advocate_of_the_programme_is_flagged(rep_code):
    other = AdvocateFactory(programme=rep_code.advocate.programme)

    result = ingest(code=rep_code.code, shopper_email=other.user.email.upper())

    assert signal_kinds(result) == {Kind.DUPLICATE_ACCOUNT}
    assert result.commission is None


def test_an_advocate_of_another_programme_shopping_is_ordinary(rep_code):
    elsewhere = AdvocateFactory()

    result = ingest(code=rep_code.code, shopper_email=elsewhere.user.email)

    assert signal_kinds(result) == set()
    assert result.commission is not None


# ------------------------------------------------------------------------- refund rate


def refunded_orders(advocate, count, *, prefix):
    for n in range(count):
        order = OrderFactory(
            external_id=f"{prefix}-{n}", programme=advocate.programme, advocate=advocate
        )
        refund_record(order=order, external_id=f"re-{prefix}-{n}", amount=order.gross_amount)


def test_a_fifth_refund_at_three_times_the_programme_rate_flags_the_advocate(programme):
    risky, steady = AdvocateFactory(programme=programme), AdvocateFactory(programme=programme)
    # The programme: 20 orders by others, 1 refunded; the advocate: 5 of 6 refunded.
    OrderFactory.create_batch(19, programme=programme, advocate=steady)
    refunded_orders(steady, 1, prefix="steady")
    OrderFactory(programme=programme, advocate=risky)
    refunded_orders(risky, 4, prefix="risky")
    assert not FraudSignal.objects.exists()

    refunded_orders(risky, 1, prefix="fifth")

    signal = FraudSignal.objects.get()
    assert (signal.kind, signal.advocate, signal.order.external_id) == (
        Kind.REFUND_RATE,
        risky,
        "fifth-0",
    )
    assert signal.detail == (
        "5 of the advocate's 6 orders were refunded, against 6 of 26 in the programme."
    )
    # A further refund while that signal is open raises no second one.
    refunded_orders(risky, 1, prefix="sixth")
    assert FraudSignal.objects.count() == 1


def test_five_refunds_at_the_programmes_own_rate_raise_nothing(programme):
    advocate, others = AdvocateFactory(programme=programme), AdvocateFactory(programme=programme)
    # Everyone refunds half their orders: the advocate's rate is not above the programme's.
    OrderFactory.create_batch(5, programme=programme, advocate=others)
    refunded_orders(others, 5, prefix="others")
    OrderFactory.create_batch(5, programme=programme, advocate=advocate)
    refunded_orders(advocate, 5, prefix="mine")

    assert not FraudSignal.objects.exists()


def test_four_refunds_are_too_few_to_judge(programme):
    advocate = AdvocateFactory(programme=programme)
    OrderFactory.create_batch(
        30, programme=programme, advocate=AdvocateFactory(programme=programme)
    )
    refunded_orders(advocate, 4, prefix="mine")

    assert not FraudSignal.objects.exists()
    assert Order.objects.filter(status=Order.Status.REFUNDED).count() == 4


def test_an_ordinary_order_raises_no_signal(rep_code):
    other_code = RepCodeFactory()
    result = ingest(code=rep_code.code, link=link(other_code, 3600))

    assert signal_kinds(result) == set()
    assert result.commission.amount == 1000
