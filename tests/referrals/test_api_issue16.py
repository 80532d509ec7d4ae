"""The merchant API after issue #16: refunds that reuse an id or name another currency, orders
whose code is refused, one-use offers without a shopper, strict amounts and order times."""

from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.utils import timezone

from advocacy.models import Programme
from referrals.api.keys import api_key_create
from referrals.links.cookies import visitor_id_sign
from referrals.models import Click, Commission, FraudSignal, Order, Refund
from referrals.services.commissions import commissions_release_held
from tests.referrals.test_api import assert_error, order_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(client, programme):
    """A client that talks to /api/v1 with a merchant key for `programme`."""
    _, key = api_key_create(name="Test store", programmes=[programme])

    class Api:
        def get(self, path, **params):
            return client.get(f"/api/v1{path}", params, HTTP_AUTHORIZATION=f"Bearer {key}")

        def post(self, path, body):
            return client.post(
                f"/api/v1{path}",
                body,
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {key}",
            )

    return Api()


# --------------------------------------------------------------------------------- refunds


def test_a_refund_id_reused_with_another_amount_is_409_and_changes_nothing(api, rep_code):
    api.post("/orders", order_body(code=rep_code.code))
    first = api.post("/orders/shop-1001/refunds", {"refund_id": "re_1", "amount": 4000})
    assert first.status_code == 200
    assert_error(
        api.post("/orders/shop-1001/refunds", {"refund_id": "re_1", "amount": 6000}),
        409,
        "refund_id_reused",
    )
    assert list(Refund.objects.values_list("amount", flat=True)) == [4000]
    assert sum(Commission.objects.get().ledger.values_list("amount", flat=True)) == 800 - 400


@pytest.mark.parametrize("currency", ["EUR", "eur", "Eur"])
def test_a_refund_in_the_orders_currency_is_recorded_in_any_letter_case(api, rep_code, currency):
    api.post("/orders", order_body(code=rep_code.code))
    response = api.post(
        "/orders/shop-1001/refunds", {"refund_id": "re_1", "amount": 4000, "currency": currency}
    )
    assert response.status_code == 200, response.content
    assert Refund.objects.get().amount == 4000


def test_a_refund_in_another_currency_than_the_order_is_refused(api, rep_code):
    api.post("/orders", order_body(code=rep_code.code))
    error = assert_error(
        api.post(
            "/orders/shop-1001/refunds", {"refund_id": "re_1", "amount": 4000, "currency": "USD"}
        ),
        422,
        "refund_currency_mismatch",
    )
    assert "currency" in error["fields"]
    assert not Refund.objects.exists()


# ------------------------------------------------------------------- codes are only claims


def test_an_unknown_code_on_an_order_records_it_unattributed_with_a_warning(api, rep_code):
    response = api.post("/orders", order_body(code="NOSUCH99"))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["attributed"] is False
    assert body["attribution"] == "none"
    assert body["rejected_code"] == "NOSUCH99"
    assert "NOSUCH99" in body["warnings"][0]
    order = Order.objects.get()
    assert order.rejected_code == "NOSUCH99"
    assert order.advocate_id is None
    # A repeat answers the same.
    again = api.post("/orders", order_body(code="NOSUCH99"))
    assert again.status_code == 200
    assert again.json()["warnings"] == body["warnings"]


def test_an_unknown_code_falls_back_to_the_visitors_click(api, rep_code):
    Click.objects.create(
        rep_code=rep_code,
        advocate=rep_code.advocate,
        created_at=timezone.now() - timedelta(hours=1),
        visitor_id="abc123visitor",
    )
    sent = order_body(code="NOSUCH99", visitor_id=visitor_id_sign("abc123visitor"))
    response = api.post("/orders", sent)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["attribution"] == "link"
    assert body["code"] == rep_code.code
    assert body["commission_amount"] == 800
    assert body["rejected_code"] == "NOSUCH99"
    assert "link" in body["warnings"][0]


def test_the_code_lookup_still_refuses_an_unknown_code(api):
    assert_error(api.get("/codes/NOSUCH99"), 404, "code_unknown")


# ------------------------------------------------------------------------ shopper offers


def test_a_discounted_order_without_shopper_identity_is_recorded_without_commission(api, rep_code):
    body = order_body(code=rep_code.code)
    del body["customer_email"]
    response = api.post("/orders", body)
    assert response.status_code == 201, response.content
    assert response.json()["commission_amount"] is None
    assert response.json()["notes"]
    assert FraudSignal.objects.get().kind == FraudSignal.Kind.OFFER_UNVERIFIABLE


def test_a_first_order_offer_is_refused_on_a_second_order(api, rep_code):
    Programme.objects.filter(pk=rep_code.advocate.programme_id).update(
        shopper_first_order_only=True, shopper_one_use=False
    )
    assert api.post("/orders", order_body(code=rep_code.code)).status_code == 201
    assert_error(
        api.post("/orders", order_body(code=rep_code.code, external_id="shop-1002")),
        422,
        "not_first_order",
    )


def test_an_order_by_the_advocates_second_address_earns_nothing(api, rep_code):
    EmailAddress.objects.create(user=rep_code.advocate.user, email="me2@example.org")
    response = api.post("/orders", order_body(code=rep_code.code, customer_email="me2@example.org"))
    assert response.status_code == 201
    assert response.json()["commission_amount"] is None
    assert FraudSignal.objects.get().kind == FraudSignal.Kind.SELF_REFERRAL


# ------------------------------------------------------------------ strict amounts and times


@pytest.mark.parametrize("field", ["gross_amount", "discount_amount", "tax_amount"])
@pytest.mark.parametrize("value", [True, "100", 100.0])
def test_an_amount_that_is_not_an_integer_is_422(api, rep_code, field, value):
    error = assert_error(
        api.post("/orders", order_body(code=rep_code.code, **{field: value})),
        422,
        "invalid_request",
    )
    assert field in error["fields"]
    assert not Order.objects.exists()


def test_a_refund_amount_of_true_is_422(api, rep_code):
    api.post("/orders", order_body(code=rep_code.code))
    assert_error(
        api.post("/orders/shop-1001/refunds", {"refund_id": "r", "amount": True}),
        422,
        "invalid_request",
    )


@pytest.mark.parametrize("ahead", [timedelta(hours=1), timedelta(days=365 * 7000)])
def test_an_order_placed_in_the_future_is_422_naming_the_field(api, rep_code, ahead):
    placed = (timezone.now() + ahead).isoformat()
    error = assert_error(
        api.post("/orders", order_body(code=rep_code.code, placed_at=placed)),
        422,
        "placed_at_invalid",
    )
    assert "placed_at" in error["fields"]


def test_a_backdated_order_is_held_from_when_it_arrived_and_not_approved_at_once(api, rep_code):
    """Held 30 days (the programme's hold) from receipt: an order claiming to be 80 days old
    would otherwise skip the window in which its refund can still arrive."""
    placed = (timezone.now() - timedelta(days=80)).isoformat()
    response = api.post("/orders", order_body(code=rep_code.code, placed_at=placed))
    assert response.status_code == 201, response.content
    commission = Commission.objects.get()
    assert commission.hold_until > timezone.now() + timedelta(days=29)
    commissions_release_held()
    commission.refresh_from_db()
    assert commission.status == Commission.Status.PENDING


def test_an_order_placed_longer_ago_than_the_allowed_age_is_422_and_recorded_nowhere(api, rep_code):
    placed = (timezone.now() - timedelta(days=400)).isoformat()
    error = assert_error(
        api.post("/orders", order_body(code=rep_code.code, placed_at=placed)),
        422,
        "placed_at_invalid",
    )
    assert "90 days" in error["message"]
    assert "placed_at" in error["fields"]
    assert not Order.objects.exists()


def test_an_order_stamped_seconds_before_its_click_keeps_the_attribution(api, rep_code):
    clicked = timezone.now() - timedelta(minutes=1)
    Click.objects.create(
        rep_code=rep_code,
        advocate=rep_code.advocate,
        created_at=clicked,
        visitor_id="abc123visitor",
    )
    placed = (clicked - timedelta(seconds=2)).isoformat()
    body = order_body(visitor_id=visitor_id_sign("abc123visitor"), placed_at=placed)
    response = api.post("/orders", body)
    assert response.status_code == 201, response.content
    assert response.json()["attribution"] == "link"


def test_a_currency_in_lower_case_is_accepted_and_answered_upper_case(api, rep_code):
    response = api.post("/orders", order_body(code=rep_code.code, currency="eur"))
    assert response.status_code == 201, response.content
    assert response.json()["currency"] == "EUR"
    quote = api.get(f"/codes/{rep_code.code}", amount=10000, currency="eur")
    assert quote.status_code == 200, quote.content
    assert quote.json()["discount_amount"] == 2000
