"""The sandbox storefront: the whole loop from link to pending commission, through HTTP."""

import time

import pytest
from django.urls import reverse

from referrals.models import Attribution, Commission, LedgerEntry, Order
from tests.factories import AdvocateFactory, RepCodeFactory

pytestmark = pytest.mark.django_db

CHECKOUT = "/shop/checkout/"
TRAIL_RUNNERS = 12900  # referrals.sandbox.products.PRODUCTS[0]


def order_form(**overrides):
    data = {"product": "trail-runners", "quantity": "1", "email": "shopper@example.com"}
    data.update(overrides)
    return data


def preview(client, **overrides):
    response = client.post(CHECKOUT, order_form(**overrides))
    assert response.status_code == 200, response.context["form"].errors
    assert response.context["confirm"] is True
    return response


def confirmed_form(response):
    """What the hidden inputs of the 'Review and pay' form post back."""
    data = {k: v for k, v in response.context["form"].data.items() if k != "csrfmiddlewaretoken"}
    assert data["checkout_token"]
    assert data["checkout_token"] in response.text
    return data


def test_shop_lists_the_products(client):
    response = client.get("/shop/")
    assert response.status_code == 200
    assert "Trail Runners" in response.text


def test_checkout_prefills_the_code_from_the_referral_cookie(client, rep_code):
    client.get(f"/r/{rep_code.code.lower()}")
    response = client.get(CHECKOUT, {"product": "trail-runners"})
    assert response.status_code == 200
    assert response.context["form"].initial["code"] == rep_code.code
    assert f'value="{rep_code.code}"' in response.text


def test_checkout_without_a_referral_has_an_empty_code(client, rep_code):
    response = client.get(CHECKOUT)
    assert response.context["form"].initial["code"] == ""


def test_discount_is_shown_before_paying(client, rep_code):
    response = preview(client, code=rep_code.code)
    assert response.context["gross"] == TRAIL_RUNNERS
    assert response.context["discount"] == 2580
    assert response.context["shipping"] == 0  # over the free-shipping threshold
    assert response.context["total"] == 10320
    assert "€25.80" in response.text
    assert "Pay €103.20" in response.text
    assert rep_code.advocate.user.first_name in response.text
    assert not Order.objects.exists()


def test_small_order_pays_shipping_after_the_discount(client, rep_code):
    response = preview(client, product="trail-socks", code=rep_code.code)  # 1800 - 360
    assert response.context["shipping"] == 490
    assert response.context["total"] == 1800 - 360 + 490


def test_paying_creates_one_order_and_one_pending_commission(client, rep_code):
    client.get(f"/r/{rep_code.code}")
    data = confirmed_form(preview(client, code=rep_code.code))
    response = client.post(CHECKOUT, data)

    assert response.status_code == 302
    order = Order.objects.get()
    assert response["Location"] == f"{reverse('sandbox_thanks')}?order={order.external_id}"
    assert order.source == Order.Source.SANDBOX
    assert order.attribution == Attribution.CODE
    assert (order.gross_amount, order.discount_amount, order.net_amount) == (12900, 2580, 10320)
    commission = Commission.objects.get()
    assert commission.status == Commission.Status.PENDING
    assert commission.advocate == rep_code.advocate
    assert commission.amount == 1032
    assert LedgerEntry.objects.get().amount == 1032

    thanks = client.get(response["Location"])
    assert thanks.status_code == 200


def test_commission_shows_on_that_advocates_dashboard_only(client, login, rep_code):
    other = RepCodeFactory(advocate=AdvocateFactory(programme=rep_code.advocate.programme))
    client.post(CHECKOUT, confirmed_form(preview(client, code=rep_code.code)))
    client.cookies.clear()

    login(rep_code.advocate.user)
    mine = client.get(reverse("dashboard"))
    assert mine.context["balance"].held == 1032
    assert mine.context["stats"].orders == 1
    assert "€10.32" in mine.text

    client.logout()
    login(other.advocate.user)
    theirs = client.get(reverse("dashboard"))
    assert theirs.context["balance"].held == 0
    assert theirs.context["stats"].orders == 0
    assert "€10.32" not in theirs.text


def test_double_submit_creates_no_second_order(client, rep_code):
    data = confirmed_form(preview(client, code=rep_code.code))
    first = client.post(CHECKOUT, data)
    second = client.post(CHECKOUT, data)
    assert Order.objects.count() == 1
    assert Commission.objects.count() == 1
    assert first.status_code == 302
    assert second.status_code == 302
    assert second["Location"] == first["Location"]


def test_double_submit_without_a_code_creates_no_second_order(client):
    data = confirmed_form(preview(client))
    first = client.post(CHECKOUT, data)
    second = client.post(CHECKOUT, data)
    assert Order.objects.count() == 1
    assert second["Location"] == first["Location"]


def test_order_from_a_link_without_a_typed_code_is_attributed_to_the_link(
    client, rep_code, monkeypatch
):
    # The shopper followed the link a minute ago: an order seconds after its click is flagged
    # (services/fraud.py), so the click is stamped earlier than the checkout.
    a_minute_ago = time.time() - 60
    with monkeypatch.context() as earlier:
        earlier.setattr(time, "time", lambda: a_minute_ago)
        client.get(f"/r/{rep_code.code}")
    data = confirmed_form(preview(client, code=""))
    client.post(CHECKOUT, data)
    order = Order.objects.get()
    assert order.attribution == Attribution.LINK
    assert order.discount_amount == 0
    assert Commission.objects.get().advocate == rep_code.advocate


def test_bad_code_is_a_400_with_the_field_error(client, rep_code):
    response = client.post(CHECKOUT, order_form(code="NOSUCHCODE"))
    assert response.status_code == 400
    assert response.context["form"].errors["code"] == [
        "We don't recognise that code. Check the spelling and try again."
    ]
    assert "recognise that code" in response.text
    assert not Order.objects.exists()


def test_offer_already_used_is_a_400_with_the_field_error(client, rep_code):
    client.post(CHECKOUT, confirmed_form(preview(client, code=rep_code.code)))
    response = client.post(CHECKOUT, order_form(code=rep_code.code))
    assert response.status_code == 400
    assert "already used" in response.context["form"].errors["code"][0]
    assert Order.objects.count() == 1


def test_invalid_form_is_a_400(client):
    response = client.post(CHECKOUT, order_form(product="no-such-thing", email="not-an-email"))
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"product", "email"}
    assert not Order.objects.exists()


def test_forged_checkout_token_is_refused(client, rep_code):
    data = confirmed_form(preview(client, code=rep_code.code))
    data["checkout_token"] = "forged-token"
    response = client.post(CHECKOUT, data)
    assert response.status_code == 400
    assert "expired" in response.text
    assert not Order.objects.exists()


def test_thanks_for_an_unknown_order_is_404(client):
    assert client.get("/shop/thanks/", {"order": "nope"}).status_code == 404


@pytest.mark.parametrize("path", ["/shop/", CHECKOUT, "/shop/thanks/?order=x"])
def test_store_is_404_when_the_sandbox_is_off(client, settings, path):
    settings.STREETTEAM_SANDBOX_STORE = False
    assert client.get(path).status_code == 404


def test_paying_is_404_when_the_sandbox_is_off(client, settings, rep_code):
    data = confirmed_form(preview(client, code=rep_code.code))
    settings.STREETTEAM_SANDBOX_STORE = False
    assert client.post(CHECKOUT, data).status_code == 404
    assert not Order.objects.exists()
