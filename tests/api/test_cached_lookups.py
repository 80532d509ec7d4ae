"""GET /api/v1/codes/{code} answers a known key and a known code from the cache, and every change
that matters to the answer (revoking the key, changing its programmes, editing the code, its
advocate or its programme) shows on the very next request."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from advocacy.services import repcode_create_vanity, repcode_deactivate
from referrals.api.keys import api_key_create, api_key_revoke, api_key_set_programmes
from referrals.models import ApiKey
from tests.factories import ProgrammeFactory
from tests.redis_server import redis_commands

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def shared_cache(redis_cache):
    """A cache every web process shares, as in production: keys are cached only there (with a
    per-process cache they are read from the database, tests/api/test_key_revocation.py)."""
    return redis_cache


@pytest.fixture
def scoped(programme):
    api_key, token = api_key_create(name="Test store", programmes=[programme])
    return api_key, token


def lookup(client, token, code, **params):
    return client.get(f"/api/v1/codes/{code}", params, HTTP_AUTHORIZATION=f"Bearer {token}")


def table_queries(captured) -> list[str]:
    """The statements that read or write rows (transaction and savepoint bookkeeping aside)."""
    return [
        q["sql"]
        for q in captured.captured_queries
        if q["sql"].lstrip().upper().startswith(("SELECT", "INSERT", "UPDATE", "DELETE"))
    ]


def test_a_warm_lookup_of_a_valid_code_reads_no_rows(client, scoped, rep_code):
    _, token = scoped
    first = lookup(client, token, rep_code.code)
    with CaptureQueriesContext(connection) as captured:
        second = lookup(client, token, rep_code.code.lower())
    assert first.status_code == second.status_code == 200
    assert second.json() == first.json()
    assert first.json()["advocate_first_name"] == rep_code.advocate.user.display_name
    assert table_queries(captured) == []


def test_a_warm_lookup_is_one_cache_round_trip(redis_cache, client, scoped, rep_code):
    """The key's entry, the IP's failed-lookup counter, the targets generation and the code's
    card come back in one MGET (the key check shares the lookup's round trip)."""
    _, token = scoped
    assert lookup(client, token, rep_code.code).status_code == 200  # fills the entries
    redis_cache.config_resetstat()
    with CaptureQueriesContext(connection) as captured:
        answer = lookup(client, token, rep_code.code.lower())
    assert answer.status_code == 200
    assert answer.json()["code"] == rep_code.code
    assert redis_commands(redis_cache) == {"mget": 1}
    assert table_queries(captured) == []


def test_a_key_is_marked_used_once_per_cached_period_not_per_request(client, scoped, rep_code):
    api_key, token = scoped
    assert api_key.last_used_at is None
    lookup(client, token, rep_code.code)
    used_at = ApiKey.objects.get().last_used_at
    assert used_at is not None
    lookup(client, token, rep_code.code)
    assert ApiKey.objects.get().last_used_at == used_at


def test_a_revoked_key_is_refused_on_the_next_request_even_when_cached(client, scoped, rep_code):
    api_key, token = scoped
    assert lookup(client, token, rep_code.code).status_code == 200
    api_key_revoke(api_key=api_key)
    assert lookup(client, token, rep_code.code).status_code == 401
    assert lookup(client, token, rep_code.code).status_code == 401


def test_changing_a_keys_programmes_applies_on_the_next_request(client, scoped, rep_code):
    api_key, token = scoped
    assert lookup(client, token, rep_code.code).status_code == 200
    api_key_set_programmes(api_key=api_key, programmes=[ProgrammeFactory()])
    assert lookup(client, token, rep_code.code).status_code == 404
    api_key_set_programmes(api_key=api_key, programmes=[])  # none: every programme
    assert lookup(client, token, rep_code.code).status_code == 200


def test_a_deactivated_code_is_unknown_on_the_next_request(client, scoped, rep_code):
    _, token = scoped
    assert lookup(client, token, rep_code.code).status_code == 200
    repcode_deactivate(rep_code=rep_code)
    assert lookup(client, token, rep_code.code).json()["error"]["code"] == "code_unknown"


def test_a_paused_advocate_or_programme_shows_on_the_next_request(client, scoped, rep_code):
    _, token = scoped
    assert lookup(client, token, rep_code.code).status_code == 200
    advocate = rep_code.advocate
    advocate.status = "paused"
    advocate.save(update_fields=["status"])
    assert lookup(client, token, rep_code.code).json()["error"]["code"] == "advocate_inactive"
    advocate.status = "active"
    advocate.save(update_fields=["status"])
    programme = advocate.programme
    programme.status = "paused"
    programme.save()
    assert lookup(client, token, rep_code.code).json()["error"]["code"] == "programme_inactive"


def test_a_new_discount_is_quoted_on_the_next_request(client, scoped, rep_code):
    _, token = scoped
    assert lookup(client, token, rep_code.code).json()["discount"]["percent"] == "20"
    programme = rep_code.advocate.programme
    programme.shopper_reward_percent = Decimal("12.5")
    programme.save()
    answer = lookup(client, token, rep_code.code, amount=10000, currency="EUR").json()
    assert answer["discount"]["percent"] == "12.5"
    assert (answer["discount_amount"], answer["net_amount"]) == (1250, 8750)


def test_a_code_created_after_a_miss_was_cached_is_found(client, scoped, advocate):
    _, token = scoped
    assert lookup(client, token, "SUMMER-SAM").status_code == 404
    repcode_create_vanity(advocate=advocate, code="summer-sam")
    assert lookup(client, token, "SUMMER-SAM").json()["code"] == "SUMMER-SAM"


def test_programmes_changed_outside_the_service_apply_on_the_next_request(client, scoped, rep_code):
    api_key, token = scoped
    assert lookup(client, token, rep_code.code).status_code == 200
    api_key.programmes.set([ProgrammeFactory()])  # as the admin or a shell would
    assert lookup(client, token, rep_code.code).status_code == 404
    rep_code.advocate.programme.api_keys.add(api_key)  # from the programme's side
    assert lookup(client, token, rep_code.code).status_code == 200


def test_a_renamed_advocate_shows_on_the_next_request(client, scoped, rep_code):
    _, token = scoped
    assert lookup(client, token, rep_code.code).status_code == 200
    user = rep_code.advocate.user
    user.first_name = "Renamed"
    user.save()
    assert lookup(client, token, rep_code.code).json()["advocate_first_name"] == "Renamed"


def test_a_stores_programmes_bound_its_keys_from_the_next_request(client, rep_code):
    """A key acts only where both it and its store may: narrowing the store narrows its keys."""
    api_key, token = api_key_create(name="Till")  # all programmes, a store of its own
    assert lookup(client, token, rep_code.code).status_code == 200
    api_key.store.programmes.set([ProgrammeFactory()])
    assert lookup(client, token, rep_code.code).status_code == 404
    rep_code.advocate.programme.stores.add(api_key.store)  # from the programme's side
    assert lookup(client, token, rep_code.code).status_code == 200
