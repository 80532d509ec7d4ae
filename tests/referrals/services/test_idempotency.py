"""The Idempotency-Key protocol as a service (referrals.api.idempotency): the first answer to a
key is stored, a repeat replays it, the key reused with another body is refused; the HTTP
behaviour is tested in tests/referrals/test_api.py."""

import pytest

from kernel.errors import ServiceError
from referrals.api.idempotency import idempotency_claim
from referrals.api.keys import api_key_create
from referrals.models import IdempotencyKey

pytestmark = pytest.mark.django_db

BODY = {"external_id": "shop-1", "gross_amount": 1000, "placed_at": None}


@pytest.fixture
def api_key(db):
    return api_key_create(name="Shop")[0]


def test_a_first_request_is_answered_then_recorded(api_key):
    claim = idempotency_claim(api_key=api_key, key="  k-1  ", payload=BODY)
    assert claim.replay is None
    claim.record(status_code=201, response={"created": True, "amount": 100})

    stored = IdempotencyKey.objects.get()
    assert (stored.key, stored.status_code, stored.response) == (
        "k-1",
        201,
        {"created": True, "amount": 100},
    )


def test_a_repeat_replays_the_stored_answer_and_records_nothing_more(api_key):
    idempotency_claim(api_key=api_key, key="k-1", payload=BODY).record(
        status_code=201, response={"created": True}
    )
    again = idempotency_claim(api_key=api_key, key="k-1", payload=dict(reversed(BODY.items())))
    assert again.replay == {"created": True}
    again.record(status_code=200, response={"created": False})
    assert IdempotencyKey.objects.get().response == {"created": True}


def test_the_key_reused_with_another_body_is_refused(api_key):
    idempotency_claim(api_key=api_key, key="k-1", payload=BODY).record(status_code=201, response={})
    with pytest.raises(ServiceError) as caught:
        idempotency_claim(api_key=api_key, key="k-1", payload={**BODY, "external_id": "shop-2"})
    assert caught.value.code == "idempotency_key_reused"


def test_keys_belong_to_their_api_key(api_key):
    other = api_key_create(name="Other")[0]
    idempotency_claim(api_key=api_key, key="k-1", payload=BODY).record(status_code=201, response={})
    assert idempotency_claim(api_key=other, key="k-1", payload={}).replay is None


def test_without_a_key_nothing_is_stored(api_key):
    claim = idempotency_claim(api_key=api_key, key="  ", payload=BODY)
    claim.record(status_code=201, response={})
    assert claim.replay is None
    assert not IdempotencyKey.objects.exists()


def test_a_concurrent_twin_that_recorded_first_wins(api_key):
    first = idempotency_claim(api_key=api_key, key="k-1", payload=BODY)
    twin = idempotency_claim(api_key=api_key, key="k-1", payload=BODY)
    twin.record(status_code=201, response={"twin": True})
    first.record(status_code=201, response={"twin": False})  # no error, nothing overwritten
    assert IdempotencyKey.objects.get().response == {"twin": True}


def test_an_overlong_key_is_cut_to_the_column(api_key):
    idempotency_claim(api_key=api_key, key="k" * 300, payload=BODY).record(
        status_code=201, response={}
    )
    assert IdempotencyKey.objects.get().key == "k" * 255
