"""Stores in the admin: a listing beside the API keys; a manager with "change store" renames a
store and chooses its programmes (audited, and the store's keys re-scoped on their next
request); nobody adds or deletes a store there; the orders listing shows and filters by store."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import NoReverseMatch, reverse

from referrals.api.keys import api_key_create
from referrals.models import AuditEvent, Store
from referrals.services.stores import store_built_in
from tests.factories import OrderFactory, ProgrammeFactory, RepCodeFactory, StoreFactory

pytestmark = pytest.mark.django_db

STORES = reverse("stores:index")
ORDERS = reverse("orders:index")


def edit_url(store):
    return reverse("stores:edit", args=[store.pk])


def grant(user, *codenames):
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="referrals", codename__in=codenames)
    )


def lookup(client, rep_code, token):
    return client.get(f"/api/v1/codes/{rep_code.code}", HTTP_AUTHORIZATION=f"Bearer {token}")


def test_the_listing_shows_kind_in_words_programmes_keys_and_orders(client, manager, programme):
    shop = StoreFactory(name="Berlin shop")
    shop.programmes.set([programme])
    api_key_create(name="Till 1", store=shop)
    api_key_create(name="Till 2", store=shop)
    OrderFactory.create_batch(3, store=shop)
    store_built_in("stripe")

    response = client.get(STORES)

    assert response.status_code == 200
    columns = response.context["view"].columns
    assert [c.label for c in columns] == ["Name", "Kind", "Programmes", "API keys", "Orders"]
    rows = {
        store.name: [column.get_value(store) for column in columns]
        for store in response.context["object_list"]
    }
    assert rows["Berlin shop"] == ["Berlin shop", "API", programme.name, 2, 3]
    assert rows["Stripe"] == ["Stripe", "Stripe", "All programmes", 0, 0]
    assert "Stores" in client.get(reverse("wagtailadmin_home")).content.decode()


def test_a_manager_renames_a_store_and_chooses_its_programmes_with_an_audit_row(
    client, manager, programme, rep_code
):
    other = ProgrammeFactory(name="Other programme")
    shop = StoreFactory(name="Shop")
    api_key, token = api_key_create(name="Till", store=shop)
    assert lookup(client, rep_code, token).status_code == 200  # the key is cached now

    response = client.post(edit_url(shop), {"name": "Berlin shop", "programmes": [other.pk]})

    assert response.status_code == 302
    shop.refresh_from_db()
    assert shop.name == "Berlin shop"
    assert list(shop.programmes.all()) == [other]
    event = AuditEvent.objects.get(action="store_updated")
    assert (event.actor, event.object_type, event.object_id) == (manager, "store", shop.pk)
    assert event.data == {
        "before": {"name": "Shop", "programmes": []},
        "after": {"name": "Berlin shop", "programmes": ["Other programme"]},
    }
    # The cached key follows its store at once: the code's programme is out of its scope now.
    assert lookup(client, rep_code, token).status_code == 404


def test_staff_without_change_store_can_look_but_not_edit(client, support_user):
    shop = StoreFactory(name="Shop")
    home = reverse("wagtailadmin_home")

    assert client.get(STORES)["Location"] == home
    grant(support_user, "view_store")
    listing = client.get(STORES)
    assert listing.status_code == 200
    assert edit_url(shop) not in listing.content.decode()

    for response in (client.get(edit_url(shop)), client.post(edit_url(shop), {"name": "Mine"})):
        assert (response.status_code, response["Location"]) == (302, home)
    assert Store.objects.get(pk=shop.pk).name == "Shop"
    assert not AuditEvent.objects.filter(action="store_updated").exists()

    grant(support_user, "change_store")
    assert client.post(edit_url(shop), {"name": "Berlin shop"}).status_code == 302
    assert Store.objects.get(pk=shop.pk).name == "Berlin shop"


def test_no_store_is_added_or_deleted_in_the_admin(client, manager):
    stripe = store_built_in("stripe")
    sandbox = store_built_in("sandbox")

    for url_name in ("stores:add", "stores:delete", "stores:history"):
        with pytest.raises(NoReverseMatch):
            reverse(url_name, args=[] if url_name.endswith("add") else [stripe.pk])
    page = client.get(edit_url(sandbox)).content.decode()
    assert "Delete" not in page
    offered = Permission.objects.filter(content_type__model="store").values_list(
        "codename", flat=True
    )
    assert {"view_store", "change_store"} <= set(offered)
    assert Store.objects.filter(pk__in=[stripe.pk, sandbox.pk]).count() == 2


def test_the_orders_listing_shows_the_store_and_filters_by_it(client, manager):
    berlin = StoreFactory(name="Berlin shop")
    paris = StoreFactory(name="Paris shop")
    OrderFactory(store=berlin, external_id="B-1")
    OrderFactory(store=paris, external_id="P-1")

    everything = client.get(ORDERS)
    only_berlin = client.get(ORDERS, {"store": berlin.pk})

    page = everything.content.decode()
    assert "Berlin shop" in page
    assert "Paris shop" in page
    assert [o.external_id for o in only_berlin.context["object_list"]] == ["B-1"]


@pytest.fixture
def rep_code(programme):
    return RepCodeFactory(advocate__programme=programme)
