"""A revoked API key is refused at once by every web process, also with the default per-process
cache (local memory), which a revocation made in one worker can't reach in the others."""

import pytest
from django.core.cache.backends.locmem import LocMemCache

from referrals.api import keys
from referrals.api.keys import api_key_create, api_key_revoke

pytestmark = pytest.mark.django_db


@pytest.fixture
def per_process_cache(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "worker-a",
        }
    }


def lookup(client, token, code):
    return client.get(f"/api/v1/codes/{code}", HTTP_AUTHORIZATION=f"Bearer {token}")


def test_a_key_revoked_in_another_worker_is_refused_by_this_one(
    per_process_cache, client, rep_code, monkeypatch
):
    api_key, token = api_key_create(name="Till", programmes=[rep_code.advocate.programme])
    # Worker A (this test's client) answers with the key: its own memory may hold it now.
    assert lookup(client, token, rep_code.code).status_code == 200

    # Worker B revokes it: whatever it forgets, it forgets in its own memory only.
    with monkeypatch.context() as worker_b:
        worker_b.setattr(keys, "cache", LocMemCache("worker-b", {}))
        api_key_revoke(api_key=api_key)

    response = lookup(client, token, rep_code.code)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


def test_with_a_per_process_cache_a_revoked_key_records_no_order(
    per_process_cache, client, rep_code, monkeypatch
):
    api_key, token = api_key_create(name="Till")
    body = {"external_id": "till-1", "currency": "EUR", "gross_amount": 1000}
    headers = {"content_type": "application/json", "HTTP_AUTHORIZATION": f"Bearer {token}"}
    assert client.post("/api/v1/orders", body, **headers).status_code == 201

    with monkeypatch.context() as worker_b:
        worker_b.setattr(keys, "cache", LocMemCache("worker-b", {}))
        api_key_revoke(api_key=api_key)

    body["external_id"] = "till-2"
    assert client.post("/api/v1/orders", body, **headers).status_code == 401
