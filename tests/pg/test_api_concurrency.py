"""The merchant API under real concurrency on PostgreSQL: the same order POSTed by 20 clients at
once (a store retrying on a timeout while the first request is still running)."""

import pytest
from django.test import Client

from referrals.api.keys import api_key_create
from referrals.models import Commission, IdempotencyKey, Order

from .conftest import THREADS

pytestmark = [pytest.mark.pg, pytest.mark.django_db(transaction=True)]

BODY = {
    "external_id": "web-4711",
    "currency": "EUR",
    "gross_amount": 10_000,
    "discount_amount": 2_000,
    "customer_email": "friend@example.net",
}


@pytest.mark.parametrize("with_idempotency_key", [False, True])
def test_the_same_order_posted_concurrently_is_one_order(threads, rep_code, with_idempotency_key):
    _, key = api_key_create(name="Store")
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    if with_idempotency_key:
        headers["HTTP_IDEMPOTENCY_KEY"] = "retry-4711"

    def post(i):
        response = Client().post(
            "/api/v1/orders",
            {**BODY, "code": rep_code.code},
            content_type="application/json",
            **headers,
        )
        return response.status_code, response.json()

    outcomes = threads(post)

    assert [o.error for o in outcomes] == [None] * THREADS
    statuses = sorted(o.result[0] for o in outcomes)
    assert statuses.count(201) == 1
    assert set(statuses) <= {200, 201}
    assert {o.result[1]["external_id"] for o in outcomes} == {"web-4711"}
    assert Order.objects.count() == 1
    assert Commission.objects.count() == 1
    assert {o.result[1]["commission_amount"] for o in outcomes} == {800}
    if with_idempotency_key:
        assert IdempotencyKey.objects.count() == 1
