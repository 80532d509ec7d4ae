"""The merchant REST API: every endpoint, and every kind of bad input answered with a 4xx JSON
error of one shape that changes nothing."""

from datetime import timedelta
from io import StringIO
from unittest.mock import patch

import pytest
from django.core.management import call_command
from django.urls import resolve
from django.utils import timezone

from referrals.api.keys import api_key_create, api_key_revoke
from referrals.api.routes import code_lookup_route
from referrals.links.clicks import clicks_drain
from referrals.links.cookies import visitor_id_sign
from referrals.models import ApiKey, Click, Commission, IdempotencyKey, Order, Refund
from referrals.services.stores import store_update
from tests.factories import AdvocateFactory, ProgrammeFactory, RepCodeFactory, StoreFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def key(programme):
    _, plaintext = api_key_create(name="Test store", programmes=[programme])
    return plaintext


@pytest.fixture
def api(client, key):
    """A client that talks to /api/v1 with the merchant key."""

    class Api:
        def get(self, path, **params):
            return client.get(f"/api/v1{path}", params, HTTP_AUTHORIZATION=f"Bearer {key}")

        def post(self, path, body, **headers):
            return client.post(
                f"/api/v1{path}",
                body,
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {key}",
                **{f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()},
            )

    return Api()


def order_body(**overrides):
    body = {
        "external_id": "shop-1001",
        "currency": "EUR",
        "gross_amount": 10000,
        "discount_amount": 2000,
        "customer_email": "friend@example.net",
    }
    body.update(overrides)
    return body


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert isinstance(body["error"]["fields"], dict)
    return body["error"]


# ------------------------------------------------------------------------------------ keys


def test_a_request_without_a_key_is_401_json(client, rep_code):
    assert_error(client.get(f"/api/v1/codes/{rep_code.code}"), 401, "unauthorized")


def test_a_wrong_key_is_401(client, rep_code, key):
    forged = key[:-4] + "abcd"
    response = client.get(f"/api/v1/codes/{rep_code.code}", HTTP_AUTHORIZATION=f"Bearer {forged}")
    assert_error(response, 401, "unauthorized")


def test_a_revoked_key_is_401(client, rep_code, key):
    api_key_revoke(api_key=ApiKey.objects.get())
    response = client.get(f"/api/v1/codes/{rep_code.code}", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert_error(response, 401, "unauthorized")


def test_only_a_hash_of_the_key_is_stored(key):
    stored = ApiKey.objects.get()
    secret = key.split("_", 2)[2]
    assert secret not in stored.secret_hash
    assert key.startswith(f"st_{stored.prefix}_")


def test_create_api_key_command_prints_the_key_once(programme):
    out = StringIO()
    call_command("create_api_key", "Shopify", "--programme", programme.slug, stdout=out)
    plaintext = out.getvalue().strip().splitlines()[-1]
    key = ApiKey.objects.get(name="Shopify")
    assert plaintext.startswith(f"st_{key.prefix}_")
    assert list(key.programmes.all()) == [programme]


# ----------------------------------------------------------------------------------- codes


def test_code_lookup_prices_the_cart_in_any_letter_case(api, rep_code):
    response = api.get(f"/codes/{rep_code.code.lower()}", amount=10000, currency="EUR")
    assert response.status_code == 200
    body = response.json()
    assert body["valid"] is True
    assert body["code"] == rep_code.code
    assert body["discount"] == {
        "kind": "percent",
        "percent": "20",
        "amount": None,
        "minimum_order": 0,
    }
    assert body["discount_amount"] == 2000
    assert body["net_amount"] == 8000
    assert body["advocate_first_name"] == rep_code.advocate.user.first_name


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"amount": 10000, "currency": "USD"}, 422, "currency_mismatch"),
        ({"amount": -5, "currency": "EUR"}, 422, "amount_invalid"),
        ({"amount": "lots", "currency": "EUR"}, 422, "invalid_request"),
        ({"amount": "12.5"}, 422, "invalid_request"),
        ({"amount": ""}, 422, "invalid_request"),
        ({"amount": "9" * 40}, 422, "invalid_request"),
    ],
)
def test_code_lookup_bad_cart_is_a_json_error(api, rep_code, params, status, code):
    assert_error(api.get(f"/codes/{rep_code.code}", **params), status, code)


def test_a_cart_amount_that_is_not_a_number_names_the_field(api, rep_code):
    error = assert_error(api.get(f"/codes/{rep_code.code}", amount="lots"), 422, "invalid_request")
    assert list(error["fields"]) == ["amount"]


def test_the_cart_parameters_are_documented(api):
    document = api.get("/openapi.json").json()
    parameters = document["paths"]["/api/v1/codes/{code}"]["get"]["parameters"]
    assert {(p["in"], p["name"]) for p in parameters} == {
        ("path", "code"),
        ("query", "amount"),
        ("query", "currency"),
        ("query", "email"),
    }


def test_the_code_lookup_is_served_by_its_own_route_as_documented(api, rep_code):
    # config.urls sends GET /codes/{code} past ninja's per-call dispatch; it must stay the
    # documented operation, not a second one beside it.
    assert resolve(f"/api/v1/codes/{rep_code.code}").func is code_lookup_route
    document = api.get("/openapi.json").json()
    assert set(document["paths"]["/api/v1/codes/{code}"]) == {"get"}


def test_the_code_lookup_answers_other_methods_as_the_rest_of_the_api(client, key, rep_code):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    lookup = client.post(f"/api/v1/codes/{rep_code.code}", {}, **auth)
    stats = client.post(f"/api/v1/advocates/{rep_code.advocate_id}/stats", {}, **auth)
    assert lookup.status_code == stats.status_code == 405
    assert lookup["Allow"] == stats["Allow"] == "GET"
    assert lookup.content == stats.content


def test_an_unexpected_failure_in_the_code_lookup_is_a_server_error(client, key, rep_code):
    # Only the API's own exceptions become JSON answers; anything else goes to Django's 500
    # handler, as it does behind ninja's dispatch.
    client.raise_request_exception = False
    with patch("referrals.api.routes.card_load", side_effect=RuntimeError("boom")):
        response = client.get(f"/api/v1/codes/{rep_code.code}", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 500


def test_unknown_and_deactivated_codes_are_404(api, rep_code):
    assert_error(api.get("/codes/NOSUCHCODE"), 404, "code_unknown")
    rep_code.is_active = False
    rep_code.save()
    assert_error(api.get(f"/codes/{rep_code.code}"), 404, "code_unknown")


def test_a_paused_advocates_code_is_refused(api, rep_code):
    rep_code.advocate.status = "paused"
    rep_code.advocate.save()
    assert_error(api.get(f"/codes/{rep_code.code}"), 422, "advocate_inactive")


def test_a_key_scoped_to_another_programme_cannot_see_the_code(client, rep_code):
    _, other_key = api_key_create(name="Other shop", programmes=[ProgrammeFactory()])
    response = client.get(
        f"/api/v1/codes/{rep_code.code}", HTTP_AUTHORIZATION=f"Bearer {other_key}"
    )
    assert_error(response, 404, "code_unknown")


def test_failed_code_lookups_are_rate_limited_per_ip(api, rep_code, settings):
    settings.STREETTEAM_RATE_LIMITS = {"code_lookup": "3/600", "redirect_miss": "3/600"}
    for _ in range(3):
        assert api.get("/codes/GUESS123").status_code == 404
    response = api.get("/codes/GUESS124")
    assert_error(response, 429, "rate_limited")
    assert int(response["Retry-After"]) > 0
    # Even a real code waits: guessing must not pay off.
    assert api.get(f"/codes/{rep_code.code}").status_code == 429


def test_redirect_misses_are_rate_limited_with_a_friendly_page(client, settings):
    settings.STREETTEAM_RATE_LIMITS = {"code_lookup": "3/600", "redirect_miss": "2/600"}
    assert client.get("/r/GUESS1234").status_code == 404
    assert client.get("/r/GUESS1235").status_code == 404
    response = client.get("/r/GUESS1236")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert b"Too many tries" in response.content


# ---------------------------------------------------------------------------------- orders


def test_post_order_attributes_it_and_answers_the_commission(api, rep_code):
    response = api.post("/orders", order_body(code=rep_code.code.lower()))
    assert response.status_code == 201
    body = response.json()
    assert body["created"] is True
    assert body["attribution"] == "code"
    assert body["net_amount"] == 8000
    assert body["commission_amount"] == 800
    assert body["commission_status"] == "pending"
    assert Order.objects.get().source == "api"


def test_the_same_order_posted_twice_is_one_order(api, rep_code):
    first = api.post("/orders", order_body(code=rep_code.code))
    second = api.post("/orders", order_body(code=rep_code.code))
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["created"] is False
    assert Order.objects.count() == 1
    assert Commission.objects.count() == 1


def test_an_idempotency_key_replays_the_first_answer(api, rep_code):
    first = api.post("/orders", order_body(code=rep_code.code), idempotency_key="abc-1")
    replay = api.post("/orders", order_body(code=rep_code.code), idempotency_key="abc-1")
    assert first.status_code == 201
    assert replay.status_code == 200
    assert replay.json()["external_id"] == first.json()["external_id"]
    assert Order.objects.count() == 1
    assert IdempotencyKey.objects.count() == 1


def test_an_idempotency_key_reused_for_another_order_is_409(api, rep_code):
    api.post("/orders", order_body(code=rep_code.code), idempotency_key="abc-2")
    response = api.post(
        "/orders", order_body(code=rep_code.code, external_id="shop-2"), idempotency_key="abc-2"
    )
    assert_error(response, 409, "idempotency_key_reused")
    assert Order.objects.count() == 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"gross_amount": -100}, "gross_amount"),
        ({"gross_amount": 0}, "gross_amount"),
        ({"discount_amount": -1}, "discount_amount"),
        ({"currency": "EURO"}, "currency"),
        ({"external_id": ""}, "external_id"),
        ({"gross_amount": "ten"}, "gross_amount"),
        ({"gross_amount": 262409052016171024384}, "gross_amount"),
    ],
)
def test_bad_order_fields_are_422_with_the_field_named(api, rep_code, overrides, field):
    error = assert_error(
        api.post("/orders", order_body(code=rep_code.code, **overrides)), 422, "invalid_request"
    )
    assert field in error["fields"]
    assert Order.objects.count() == 0


def test_a_missing_field_is_named(api):
    body = order_body()
    del body["currency"]
    error = assert_error(api.post("/orders", body), 422, "invalid_request")
    assert "currency" in error["fields"]


def test_an_order_in_another_currency_than_the_programme_is_refused(api, rep_code):
    assert_error(
        api.post("/orders", order_body(code=rep_code.code, currency="USD")),
        422,
        "currency_mismatch",
    )
    assert Order.objects.count() == 0


def test_an_unknown_code_on_an_order_is_recorded_unattributed_with_the_code_noted(api):
    response = api.post("/orders", order_body(code="NOSUCH99"))
    assert response.status_code == 201
    assert response.json()["attributed"] is False
    assert Order.objects.get().rejected_code == "NOSUCH99"


def test_a_key_scoped_to_another_programme_records_its_code_as_unknown(client, rep_code):
    _, other_key = api_key_create(name="Other", programmes=[ProgrammeFactory()])
    response = client.post(
        "/api/v1/orders",
        order_body(code=rep_code.code),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {other_key}",
    )
    assert response.status_code == 201
    assert response.json()["attributed"] is False
    order = Order.objects.get()
    assert (order.rep_code, order.rejected_code) == (None, rep_code.code)
    assert not Commission.objects.exists()


def test_a_discount_larger_than_the_order_is_refused(api, rep_code):
    body = order_body(code=rep_code.code, gross_amount=1000, discount_amount=2000)
    assert_error(api.post("/orders", body), 422, "amount_invalid")
    assert Order.objects.count() == 0


def test_an_order_from_a_link_visitor_is_attributed_to_their_click(api, rep_code):
    Click.objects.create(
        rep_code=rep_code,
        advocate=rep_code.advocate,
        created_at=timezone.now() - timedelta(days=2),
        visitor_id="abc123visitor",
    )
    body = order_body(visitor_id=visitor_id_sign("abc123visitor"), discount_amount=0)
    response = api.post("/orders", body)
    assert response.status_code == 201
    assert response.json()["attribution"] == "link"
    assert response.json()["code"] == rep_code.code


@pytest.mark.parametrize(
    "sent",
    [
        pytest.param(lambda: "abc123visitor", id="bare id"),
        pytest.param(
            lambda: visitor_id_sign("someoneelse").replace("someoneelse", "abc123visitor"),
            id="another id's signature",
        ),
        pytest.param(lambda: "abc123visitor." + "A" * 43, id="made-up signature"),
        pytest.param(lambda: visitor_id_sign("abc123visitor") + "x", id="signature changed"),
    ],
)
def test_an_order_with_an_unsigned_visitor_id_attributes_nothing(api, rep_code, sent):
    # Whoever learns a shopper's id can't send it in an order: only the id as we signed it
    # counts. The order is still recorded, with the answer an unknown visitor gets.
    Click.objects.create(
        rep_code=rep_code,
        advocate=rep_code.advocate,
        created_at=timezone.now() - timedelta(days=2),
        visitor_id="abc123visitor",
    )
    forged = api.post(
        "/orders", order_body(external_id="o-forged", visitor_id=sent(), discount_amount=0)
    )
    assert forged.status_code == 201
    assert forged.json()["attributed"] is False
    assert Order.objects.get(external_id="o-forged").advocate_id is None
    nobody = visitor_id_sign("nobody")
    unknown = api.post(
        "/orders", order_body(external_id="o-unknown", visitor_id=nobody, discount_amount=0)
    )
    assert {**forged.json(), "external_id": None} == {**unknown.json(), "external_id": None}


def test_a_click_through_to_a_merchant_shop_attributes_its_order(client, api, rep_code):
    # The honest path end to end: /r/ hands the merchant page the signed st_vid, the merchant
    # script sends it back as visitor_id, and the order goes to the click.
    programme = rep_code.advocate.programme
    programme.landing_url = "https://shop.example.com/welcome"
    programme.save()
    location = client.get(f"/r/{rep_code.code}")["Location"]
    assert clicks_drain() == 1
    st_vid = location.rsplit("st_vid=", 1)[1]
    response = api.post("/orders", order_body(visitor_id=st_vid, discount_amount=0))
    assert response.status_code == 201
    assert response.json()["attribution"] == "link"
    assert response.json()["code"] == rep_code.code


def test_a_link_visitor_outside_the_window_is_not_attributed(api, rep_code):
    Click.objects.create(
        rep_code=rep_code,
        advocate=rep_code.advocate,
        created_at=timezone.now() - timedelta(days=31),
        visitor_id="oldvisitor",
    )
    body = order_body(visitor_id=visitor_id_sign("oldvisitor"), discount_amount=0)
    response = api.post("/orders", body)
    assert response.json()["attributed"] is False


def test_a_self_referral_through_the_api_is_recorded_without_commission(api, rep_code):
    body = order_body(code=rep_code.code, customer_email=rep_code.advocate.user.email)
    response = api.post("/orders", body)
    assert response.status_code == 201
    assert response.json()["commission_amount"] is None
    assert response.json()["notes"]


# --------------------------------------------------------------------------------- refunds


def test_a_refund_reverses_in_proportion_and_is_idempotent(api, rep_code):
    api.post("/orders", order_body(code=rep_code.code))
    first = api.post("/orders/shop-1001/refunds", {"refund_id": "re_1", "amount": 4000})
    again = api.post("/orders/shop-1001/refunds", {"refund_id": "re_1", "amount": 4000})
    assert first.status_code == again.status_code == 200
    assert first.json()["order_status"] == "partially_refunded"
    assert Refund.objects.count() == 1
    commission = Commission.objects.get()
    assert sum(commission.ledger.values_list("amount", flat=True)) == 800 - 400


def test_refund_errors_are_json(api, rep_code):
    assert_error(
        api.post("/orders/nope/refunds", {"refund_id": "r", "amount": 1}), 404, "order_unknown"
    )
    api.post("/orders", order_body(code=rep_code.code))
    assert_error(
        api.post("/orders/shop-1001/refunds", {"refund_id": "r", "amount": 0}),
        422,
        "invalid_request",
    )
    assert_error(
        api.post("/orders/shop-1001/refunds", {"refund_id": "r", "amount": 999999}),
        422,
        "refund_too_large",
    )
    assert Refund.objects.count() == 0


# ------------------------------------------------------------------------------- advocates


def test_advocate_stats(api, rep_code):
    api.post("/orders", order_body(code=rep_code.code))
    response = api.get(f"/advocates/{rep_code.advocate_id}/stats")
    assert response.status_code == 200
    body = response.json()
    assert body["orders"] == 1
    assert (body["held"], body["payable"], body["paid_out"]) == (800, 0, 0)


def test_another_programmes_advocate_is_404(api):
    stranger = AdvocateFactory(programme=ProgrammeFactory())
    RepCodeFactory(advocate=stranger)
    assert_error(api.get(f"/advocates/{stranger.pk}/stats"), 404, "advocate_unknown")
    assert_error(api.get("/advocates/999999/stats"), 404, "advocate_unknown")


# ----------------------------------------------------------------------------- docs, links


def test_openapi_and_docs_are_served(client):
    schema = client.get("/api/v1/openapi.json")
    assert schema.status_code == 200
    assert "/api/v1/orders" in schema.json()["paths"]
    assert client.get("/api/v1/docs").status_code == 200


def test_a_merchant_landing_gets_the_code_and_visitor_id(client, rep_code):
    programme = rep_code.advocate.programme
    programme.landing_url = "https://shop.example.com/welcome"
    programme.save()
    response = client.get(f"/r/{rep_code.code}")
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith(
        f"https://shop.example.com/welcome?st_code={rep_code.code}&st_win=30&st_vid="
    )
    assert location.rsplit("st_vid=", 1)[1] == response.cookies["st_vid"].value


def test_the_link_script_is_served(client):
    from django.contrib.staticfiles import finders

    path = finders.find("streetteam-merchant.js")
    assert path is not None
    source = open(path).read()  # noqa: PTH123
    assert "window.Streetteam" in source
    assert "data-streetteam-code" in source


def test_the_link_scripts_old_name_serves_the_same_script():
    # Stores that installed /static/streetteam.js before the rename keep working: a plain copy
    # (a loader would run after DOMContentLoaded and lose the tag's data-window-days), pinned here.
    from django.contrib.staticfiles import finders

    current, old = finders.find("streetteam-merchant.js"), finders.find("streetteam.js")
    assert old is not None
    assert open(old, "rb").read() == open(current, "rb").read()  # noqa: PTH123


# ------------------------------------------------------------------------------- customers


@pytest.fixture
def shop_key(db):
    _, plaintext = api_key_create(name="Whole shop")
    return plaintext


def post_customers(client, key, customers):
    return client.post(
        "/api/v1/customers",
        {"customers": customers},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )


def test_customers_are_imported_and_updated_by_email(client, shop_key):
    from advocacy.models import Customer

    first = post_customers(
        client,
        shop_key,
        [
            {"email": "Ann@Example.com", "currency": "EUR", "order_count": 3, "total_spent": 9000},
            {"email": "bo@example.com", "currency": "EUR", "order_count": 1, "total_spent": 1200},
        ],
    )
    assert first.status_code == 200
    assert first.json() == {"created": 2, "updated": 0}
    again = post_customers(
        client,
        shop_key,
        [{"email": "ann@example.com", "currency": "EUR", "order_count": 4, "total_spent": 12000}],
    )
    assert again.json() == {"created": 0, "updated": 1}
    ann = Customer.objects.get(email="ann@example.com")
    assert (ann.order_count, ann.total_spent) == (4, 12000)
    assert Customer.objects.count() == 2


def test_one_bad_customer_rejects_the_batch_and_names_it(client, shop_key):
    from advocacy.models import Customer

    response = post_customers(
        client,
        shop_key,
        [
            {"email": "ok@example.com", "currency": "EUR"},
            {"email": "not-an-email", "currency": "EUR"},
        ],
    )
    error = assert_error(response, 422, "customer_invalid")
    assert "Customer 1" in error["message"]
    assert Customer.objects.count() == 0


@pytest.mark.parametrize(
    "customer",
    [
        {"email": "a@example.com", "currency": "EUR", "total_spent": -1},
        {"email": "a@example.com", "currency": "EURO"},
        {"email": "a@example.com"},
    ],
)
def test_bad_customer_fields_are_422(client, shop_key, customer):
    assert_error(post_customers(client, shop_key, [customer]), 422, "invalid_request")


def test_an_empty_customer_batch_is_422(client, shop_key):
    assert_error(post_customers(client, shop_key, []), 422, "invalid_request")


def test_a_programme_scoped_key_cannot_import_customers(client, key):
    response = post_customers(client, key, [{"email": "a@example.com", "currency": "EUR"}])
    assert_error(response, 403, "forbidden")


def test_a_key_of_a_store_limited_to_some_programmes_cannot_import_customers_either(
    client, programme
):
    # Customers are one row per email shared by every programme (an upsert from one shop
    # overwrites what another sent), so a key limited in either place may not write them; the
    # answer says why, whichever side limits it.
    store = StoreFactory()
    _, plaintext = api_key_create(name="Till", store=store)
    rows = [{"email": "a@example.com", "currency": "EUR"}]
    assert post_customers(client, plaintext, rows).status_code == 200

    store_update(store=store, name=store.name, programmes=[programme], actor=None)
    refused = post_customers(client, plaintext, rows)

    assert assert_error(refused, 403, "forbidden")["message"] == (
        "Importing customers needs a key that acts for all programmes, in a store that does "
        "too: customers are shared by every programme."
    )
    store_update(store=store, name=store.name, programmes=[], actor=None)
    assert post_customers(client, plaintext, rows).status_code == 200
