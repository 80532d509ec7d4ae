"""Stores: the built-in ones (the sandbox, Stripe, the shared default API store) made on first
use, and the API stores a manager makes for each shop."""

import secrets

from django.db import IntegrityError, transaction
from django.utils.text import slugify

from advocacy.models import Programme
from kernel.errors import ServiceError
from referrals.models import Store
from referrals.services.audit import audit

# The built-in store of each order source. The default API store holds the keys and orders
# recorded before stores existed (migration 0014), and orders recorded without a store.
_BUILT_IN = {
    Store.Kind.API: ("api-default", "Default API store"),
    Store.Kind.SANDBOX: ("sandbox", "Sandbox store"),
    Store.Kind.STRIPE: ("stripe", "Stripe"),
}


def store_built_in(kind: str) -> Store:
    """The built-in store for `kind` ("api", "sandbox" or "stripe"), made on first use."""
    if kind not in _BUILT_IN:
        raise ServiceError("source_invalid", f"Unknown order source {kind!r}.")
    slug, name = _BUILT_IN[kind]
    store = Store.objects.filter(slug=slug).first()
    if store is not None:
        return store
    try:
        with transaction.atomic():
            return Store.objects.create(slug=slug, name=name, kind=kind)
    except IntegrityError:  # made concurrently
        return Store.objects.get(slug=slug)


@transaction.atomic
def store_create(*, name: str, programmes: list[Programme] | None = None) -> Store:
    """A new API store (a shop on the REST API): its own orders, its own keys."""
    name = (name or "").strip()
    if not name:
        raise ServiceError("name_required", "Give the store a name.", field="name")
    slug = f"{slugify(name)[:40] or 'store'}-{secrets.token_hex(3)}"
    store = Store.objects.create(name=name[:100], slug=slug, kind=Store.Kind.API)
    if programmes:
        store.programmes.set(programmes)
    return store


@transaction.atomic
def store_update(*, store: Store, name: str, programmes: list[Programme], actor=None) -> Store:
    """Rename a store and choose its programmes (none = all), audited as `store_updated`.

    The programmes bound what every key of the store can attribute to; setting them forgets
    the store's cached keys (receivers.forget_cached_api_keys_of_store), so the change shows
    on the next request."""
    name = (name or "").strip()
    if not name:
        raise ServiceError("name_required", "Give the store a name.", field="name")
    before = {"name": store.name, "programmes": _programme_names(store)}
    store.name = name[:100]
    store.save(update_fields=["name"])
    store.programmes.set(programmes)
    after = {"name": store.name, "programmes": _programme_names(store)}
    audit(actor=actor, action="store_updated", obj=store, before=before, after=after)
    return store


def _programme_names(store: Store) -> list[str]:
    return sorted(store.programmes.values_list("name", flat=True))
