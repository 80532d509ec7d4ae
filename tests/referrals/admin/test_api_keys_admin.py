"""Merchant API keys in the admin: a manager creates one, sees it once, scopes it to programmes
and revokes it; only a hash is stored, and there is no way to delete or edit a key."""

import hashlib
import io
import re

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.urls import NoReverseMatch, reverse

from referrals.api.keys import api_key_create
from referrals.api.wagtail_hooks import ApiKeyViewSet
from referrals.models import ApiKey, AuditEvent, Store
from tests.factories import AdvocateFactory, ProgrammeFactory, RepCodeFactory, StoreFactory

from .conftest import messages_of

pytestmark = pytest.mark.django_db

KEYS = reverse("api_keys:index")
NEW = reverse("api_keys:new")


def revoke_url(api_key):
    return reverse("api_keys:revoke", args=[api_key.pk])


def token_in(response) -> str:
    match = re.search(r'value="(st_[^"]+)"', response.content.decode())
    assert match, "no key on the page"
    return match.group(1)


def lookup(client, rep_code, token):
    return client.get(f"/api/v1/codes/{rep_code.code}", HTTP_AUTHORIZATION=f"Bearer {token}")


def grant(user, *codenames):
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="referrals", codename__in=codenames)
    )


def test_a_manager_creates_a_scoped_key_and_sees_it_once(client, manager, programme, rep_code):
    response = client.post(NEW, {"name": "Shopify store", "programmes": [programme.pk]})

    assert response.status_code == 200
    page = response.content.decode()
    assert "it will not be shown again" in page
    assert "Copy key" in page
    assert "no-store" in response["Cache-Control"]
    token = token_in(response)
    key = ApiKey.objects.get()
    assert token.startswith(f"st_{key.prefix}_")
    assert (key.name, key.created_by, key.revoked_at) == ("Shopify store", manager, None)
    assert list(key.programmes.all()) == [programme]
    # The token works against the API, within its programme only.
    assert lookup(client, rep_code, token).status_code == 200
    elsewhere = RepCodeFactory(advocate=AdvocateFactory(programme=ProgrammeFactory()))
    assert lookup(client, elsewhere, token).status_code == 404
    # Only a hash is stored: the plaintext (or its secret part) is in no field of the key.
    secret = token.split("_", 2)[2]
    key.refresh_from_db()
    assert key.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    for field in ApiKey._meta.concrete_fields:
        value = str(field.value_from_object(key))
        assert secret not in value, field.name
    # Nor in the session or a message waiting for the next page.
    assert not any(secret in str(value) for value in client.session.values())
    assert not any(secret in message for message in messages_of(response))
    assert AuditEvent.objects.get(action="api_key_created").object_id == key.pk


def test_a_key_without_programmes_acts_for_all(client, manager, rep_code):
    response = client.post(NEW, {"name": "Head office"})

    assert response.status_code == 200
    assert "All programmes" in response.content.decode()
    assert not ApiKey.objects.get().programmes.exists()
    assert lookup(client, rep_code, token_in(response)).status_code == 200


def test_a_key_needs_a_name(client, manager):
    response = client.post(NEW, {"name": "  "})

    assert response.status_code == 200
    assert "st_" not in response.content.decode()
    assert not ApiKey.objects.exists()


def test_the_listing_shows_the_prefix_never_the_secret(client, manager, programme):
    scoped, scoped_token = api_key_create(name="Shopify store", programmes=[programme])
    _, open_token = api_key_create(name="Head office", actor=manager)

    response = client.get(KEYS)

    page = response.content.decode()
    assert response.status_code == 200
    for token in (scoped_token, open_token):
        assert token.split("_", 2)[2] not in page
    assert f"st_{scoped.prefix}_…" in page
    assert programme.name in page
    assert "All programmes" in page
    assert manager.email in page
    assert "Never" in page  # not used yet
    assert "Active" in page
    assert "New API key" in page
    assert revoke_url(scoped) in page


def test_revoking_a_key_makes_the_api_refuse_it(client, manager, programme, rep_code):
    key, token = api_key_create(name="Old till", programmes=[programme])
    assert lookup(client, rep_code, token).status_code == 200

    confirm = client.get(revoke_url(key))
    revoked = client.post(revoke_url(key))

    assert confirm.status_code == 200
    assert "Yes, revoke" in confirm.content.decode()
    assert f"st_{key.prefix}_…" in confirm.content.decode()
    assert (revoked.status_code, revoked["Location"]) == (302, KEYS)
    assert any("revoked" in message for message in messages_of(revoked))
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert lookup(client, rep_code, token).status_code == 401
    assert AuditEvent.objects.get(action="api_key_revoked", actor=manager).object_id == key.pk
    listing = client.get(KEYS).content.decode()
    assert "Revoked" in listing
    assert revoke_url(key) not in listing
    # Revoking twice changes nothing.
    revoked_at = key.revoked_at
    client.post(revoke_url(key))
    key.refresh_from_db()
    assert key.revoked_at == revoked_at


def test_staff_without_the_key_permissions_can_neither_create_nor_revoke(
    client, support_user, programme, rep_code
):
    key, token = api_key_create(name="Shopify store", programmes=[programme])
    home = reverse("wagtailadmin_home")

    responses = [
        client.get(KEYS),
        client.get(NEW),
        client.post(NEW, {"name": "Sneaky"}),
        client.get(revoke_url(key)),
        client.post(revoke_url(key)),
    ]

    for response in responses:
        assert (response.status_code, response["Location"]) == (302, home)
    assert list(ApiKey.objects.all()) == [key]
    key.refresh_from_db()
    assert key.revoked_at is None
    assert lookup(client, rep_code, token).status_code == 200


def test_each_permission_opens_only_its_own_door(client, support_user, programme):
    key, _ = api_key_create(name="Shopify store", programmes=[programme])
    home = reverse("wagtailadmin_home")

    grant(support_user, "view_apikey")
    listing = client.get(KEYS)
    assert listing.status_code == 200
    assert "New API key" not in listing.content.decode()
    assert revoke_url(key) not in listing.content.decode()
    assert client.get(NEW)["Location"] == home

    grant(support_user, "add_apikey")
    assert client.post(NEW, {"name": "Till"}).status_code == 200
    assert client.post(revoke_url(key))["Location"] == home
    assert ApiKey.objects.get(pk=key.pk).revoked_at is None

    grant(support_user, "change_apikey")
    assert client.post(revoke_url(key))["Location"] == KEYS
    assert ApiKey.objects.get(pk=key.pk).revoked_at is not None


def test_keys_cannot_be_deleted_or_edited(client, manager, programme):
    key, _ = api_key_create(name="Shopify store", programmes=[programme])

    for url_name in ("delete", "edit", "add", "inspect", "history"):
        for args in ([], [key.pk]):
            with pytest.raises(NoReverseMatch):
                reverse(f"api_keys:{url_name}", args=args)
    for suffix in ("delete/", "edit/"):
        assert client.get(f"{KEYS}{key.pk}/{suffix}").status_code == 404
        assert client.post(f"{KEYS}{key.pk}/{suffix}").status_code == 404
    assert "Delete" not in client.get(KEYS).content.decode()
    assert ApiKey.objects.filter(pk=key.pk).exists()
    # Groups are offered view, add (create) and change (revoke); no "delete" box.
    offered = ApiKeyViewSet().get_permissions_to_register().values_list("codename", flat=True)
    assert set(offered) == {"view_apikey", "add_apikey", "change_apikey"}


def test_a_manager_makes_a_key_for_an_existing_store_or_a_new_one(client, manager):
    shop = StoreFactory(name="Berlin shop")
    form = client.get(NEW).content.decode()
    assert "Berlin shop" in form
    assert "A new store, named after the key" in form

    response = client.post(NEW, {"name": "Till 2", "store": shop.pk})
    assert response.status_code == 200
    assert "Berlin shop" in response.content.decode()
    assert ApiKey.objects.get(name="Till 2").store == shop

    client.post(NEW, {"name": "Hamburg shop"})
    new_store = ApiKey.objects.get(name="Hamburg shop").store
    assert (new_store.name, new_store.kind) == ("Hamburg shop", Store.Kind.API)
    assert new_store != shop


def test_the_create_api_key_command_makes_a_key_for_a_store():
    shop = StoreFactory(name="Berlin shop", slug="berlin")
    out = io.StringIO()
    call_command("create_api_key", "Till 3", "--store", "berlin", stdout=out)
    assert ApiKey.objects.get(name="Till 3").store == shop
    assert "of store 'Berlin shop'" in out.getvalue()
