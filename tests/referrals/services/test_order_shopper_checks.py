"""order_ingest's checks of the shopper (issue #16): the advocate recognised by every address
and customer id that is theirs; the programme's one-use and first-order offers enforced when the
order is recorded, not only when a discount is quoted."""

import pytest
from allauth.account.models import EmailAddress

from advocacy.models import Customer, Programme
from kernel.errors import ServiceError
from referrals.models import DiscountRedemption, FraudSignal, Order

from .test_order_ingest import ingest

pytestmark = pytest.mark.django_db


def flagged(result, kind):
    return result.commission is None and set(
        FraudSignal.objects.filter(order=result.order).values_list("kind", flat=True)
    ) == {kind}


# ------------------------------------------------------------------------- self-referral


def test_the_advocates_second_verified_address_is_a_self_referral(rep_code):
    user = rep_code.advocate.user
    EmailAddress.objects.create(user=user, email="Second.Me@example.org", verified=True)
    result = ingest(code=rep_code.code, shopper_email="second.me@example.org")
    assert flagged(result, FraudSignal.Kind.SELF_REFERRAL)
    assert result.order.advocate_id is None


def test_the_advocates_own_customer_id_is_a_self_referral(rep_code):
    user = rep_code.advocate.user
    Customer.objects.create(email=user.email.lower(), external_id="cus_ME", currency="EUR")
    result = ingest(
        code=rep_code.code, shopper_email="someone.else@example.org", shopper_customer_id="cus_ME"
    )
    assert flagged(result, FraudSignal.Kind.SELF_REFERRAL)


def test_a_customer_id_of_the_advocates_earlier_self_referral_is_a_self_referral(rep_code):
    user = rep_code.advocate.user
    first = ingest(code=rep_code.code, shopper_email=user.email, shopper_customer_id="cus_X")
    assert flagged(first, FraudSignal.Kind.SELF_REFERRAL)
    again = ingest(
        external_id="order-2",
        code=rep_code.code,
        shopper_email="fresh.address@example.org",
        shopper_customer_id="cus_X",
    )
    assert flagged(again, FraudSignal.Kind.SELF_REFERRAL)


def test_another_shoppers_customer_id_earns(rep_code):
    Customer.objects.create(email="friend@example.org", external_id="cus_F", currency="EUR")
    result = ingest(
        code=rep_code.code, shopper_email="friend@example.org", shopper_customer_id="cus_F"
    )
    assert result.commission is not None
    assert not FraudSignal.objects.exists()


# ---------------------------------------------------------------------------- one-use offer


def test_a_one_use_offer_without_any_shopper_identity_earns_nothing_and_is_flagged(rep_code):
    for n in range(3):
        result = ingest(
            external_id=f"order-{n}", code=rep_code.code, shopper_email="", discount_amount=2000
        )
        assert result.created
        assert flagged(result, FraudSignal.Kind.OFFER_UNVERIFIABLE)
    assert Order.objects.count() == 3
    assert not DiscountRedemption.objects.exists()


def test_a_one_use_offer_is_kept_by_customer_id_when_there_is_no_email(rep_code):
    first = ingest(
        code=rep_code.code, shopper_email="", shopper_customer_id="cus_1", discount_amount=2000
    )
    assert first.commission is not None
    with pytest.raises(ServiceError) as exc:
        ingest(
            external_id="order-2",
            code=rep_code.code,
            shopper_email="",
            shopper_customer_id="cus_1",
            discount_amount=2000,
        )
    assert exc.value.code == "offer_already_used"


# ------------------------------------------------------------------------ first order only


@pytest.fixture
def first_order_only(rep_code):
    Programme.objects.filter(pk=rep_code.advocate.programme_id).update(
        shopper_first_order_only=True, shopper_one_use=False
    )
    return rep_code


def test_a_second_order_with_a_first_order_offer_is_refused_unpaid(first_order_only):
    rep_code = first_order_only
    assert ingest(code=rep_code.code, discount_amount=2000).commission is not None
    with pytest.raises(ServiceError) as exc:
        ingest(external_id="order-2", code=rep_code.code, discount_amount=2000)
    assert exc.value.code == "not_first_order"
    assert Order.objects.count() == 1


def test_a_paid_second_order_by_customer_id_is_kept_without_commission(first_order_only):
    rep_code = first_order_only
    ingest(code=rep_code.code, shopper_email="", shopper_customer_id="cus_9", discount_amount=10)
    again = ingest(
        external_id="order-2",
        code=rep_code.code,
        shopper_email="",
        shopper_customer_id="cus_9",
        discount_amount=2000,
        paid=True,
    )
    assert again.created
    assert flagged(again, FraudSignal.Kind.OFFER_REUSED)


def test_a_second_order_without_the_offer_still_earns(first_order_only):
    rep_code = first_order_only
    ingest(code=rep_code.code, discount_amount=2000)
    assert ingest(external_id="order-2", code=rep_code.code).commission is not None
