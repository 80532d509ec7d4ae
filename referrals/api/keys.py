"""Merchant API keys: made once, shown once, stored as a hash, revoked not deleted.

A key belongs to one store (`Store`): it sees only that store's orders, and acts for the
programmes both it and its store allow (`api_key_scope`).

Authenticating is on every API request, so with a shared cache (Redis, as several web processes
need) a key's row and programme scope are cached by prefix for a minute (no query on a warm
cache). Revoking a key, or changing its programmes through `api_key_set_programmes`, forgets the
entry at once (see `api_key_forget`); edits that bypass the services are picked up when the
entry expires. A per-process cache (the default local memory) can't carry that forgetting to the
other workers, so there the key is read from the database on every request: a revoked key is
refused by every worker at once.

Creating, revoking and re-scoping a key each leave one audit row, whatever the door (admin
screen, `manage.py create_api_key`, shell): the actor is the manager, or None (shown as
"system") for a command.
"""

import hashlib
import hmac
import re
import secrets

from django.core.cache import cache, caches
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache
from django.db import connection, transaction
from django.utils import timezone

from advocacy.models import Programme
from kernel.errors import ServiceError
from referrals.models import ApiKey, Store
from referrals.services.audit import audit
from referrals.services.stores import store_create

_PREFIX_BYTES = 6  # 8 url-safe characters
_SECRET_BYTES = 24  # 32 url-safe characters, 192 bits

# How long a key's row stays cached; also how often last_used_at is written (at most once per
# expiry), so the hot path writes nothing in between.
KEY_CACHE_SECONDS = 60
# What api_key_create makes; anything else is looked up without the cache (and can't be a
# cache key that Django warns about).
_PREFIX_SHAPE = re.compile(r"^[A-Za-z0-9]{1,12}$")
# Left in place of a forgotten entry for longer than any lookup that read the row before the
# change can take: cache.add() can't put that stale row back over it.
_FORGOTTEN = "forgotten"
_FORGOTTEN_SECONDS = 2 * KEY_CACHE_SECONDS


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def api_key_create(
    *,
    name: str,
    programmes: list[Programme] | None = None,
    store: Store | None = None,
    actor=None,
) -> tuple[ApiKey, str]:
    """A new key and its plaintext (the only time it exists outside the caller's hands),
    audited as `api_key_created` (never with the secret). Without a `store`, the key gets a
    new store of its own, named after it: a key never sees orders it wasn't meant to."""
    name = (name or "").strip()
    if not name:
        raise ServiceError("name_required", "Give the key a name.", field="name")
    if store is None:
        store = store_create(name=name)
    elif store.kind != Store.Kind.API:
        raise ServiceError(
            "store_invalid", f"{store} takes no orders through the API.", field="store"
        )
    for _ in range(5):
        prefix = secrets.token_urlsafe(_PREFIX_BYTES).replace("-", "x").replace("_", "y")
        if not ApiKey.objects.filter(prefix=prefix).exists():
            break
    secret = secrets.token_urlsafe(_SECRET_BYTES)
    key = ApiKey.objects.create(
        name=name[:100], prefix=prefix, secret_hash=_hash(secret), store=store, created_by=actor
    )
    if programmes:
        key.programmes.set(programmes)
    audit(
        actor=actor,
        action="api_key_created",
        obj=key,
        prefix=key.prefix,
        store=store.name,
        programmes=api_key_scope_names(key),
    )
    return key, f"st_{prefix}_{secret}"


def api_key_scope_names(api_key: ApiKey) -> str:
    """The programmes a key may act for, by name, as the admin and the audit log show them."""
    names = [programme.name for programme in api_key.programmes.all()]
    return ", ".join(names) or "All programmes"


def _cache_key(prefix: str) -> str:
    return f"streetteam:apikey:{prefix}"


def _shared_cache() -> bool:
    """Whether every web process reads the same cache, so that forgetting a key reaches them
    all. A per-process cache doesn't: a revoked key would live on in the other workers."""
    return not isinstance(caches["default"], (LocMemCache, DummyCache))


def _scope_from_db(key: ApiKey) -> frozenset[int] | None:
    """What both the key and its store allow; None when neither limits (all programmes)."""
    own = set(key.programmes.values_list("pk", flat=True))
    store = set(
        Store.programmes.through.objects.filter(store_id=key.store_id).values_list(
            "programme_id", flat=True
        )
    )
    if own and store:
        return frozenset(own & store)  # empty when they share none: the key acts for none
    return frozenset(own or store) or None


def _key_from_db(prefix: str) -> tuple[ApiKey, frozenset[int] | None] | None:
    key = ApiKey.objects.filter(prefix=prefix, revoked_at__isnull=True).first()
    if key is None:
        return None
    scope = _scope_from_db(key)
    now = timezone.now()
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > KEY_CACHE_SECONDS:
        # At most one write per cache expiry (a minute) per key: the hot path stays read-only.
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key, scope


def _pack(key: ApiKey, scope: frozenset[int] | None) -> tuple:
    fields = [f.attname for f in ApiKey._meta.concrete_fields]
    return key._state.db, fields, [getattr(key, name) for name in fields], scope


def _unpack(entry: tuple) -> tuple[ApiKey, frozenset[int] | None]:
    db, fields, values, scope = entry
    return ApiKey.from_db(db, fields, values), scope


def _token_parts(token: str) -> tuple[str, str] | None:
    if not token or not token.startswith("st_") or token.count("_") < 2:
        return None
    prefix, _, secret = token[3:].partition("_")
    return prefix, secret


def api_key_cache_key(token: str) -> str | None:
    """Where the key behind `token` is cached, for a caller that reads it together with its
    own keys in one round trip (then `api_key_authenticate(token, prefetched=...)`); None when
    it isn't cached."""
    parts = _token_parts(token)
    if parts is None or not _PREFIX_SHAPE.match(parts[0]) or not _shared_cache():
        return None
    return _cache_key(parts[0])


def api_key_authenticate(token: str, prefetched: dict | None = None) -> ApiKey | None:
    """The active key behind a bearer token, or None. Constant-time on the secret.

    `prefetched`: what a `get_many` that included `api_key_cache_key(token)` found (a missing
    entry is read from the database, as without it)."""
    parts = _token_parts(token)
    if parts is None:
        return None
    prefix, secret = parts
    cache_key = _cache_key(prefix) if _PREFIX_SHAPE.match(prefix) and _shared_cache() else None
    if cache_key is None:
        entry = None
    elif prefetched is not None:
        entry = prefetched.get(cache_key)
    else:
        entry = cache.get(cache_key)
    if entry is not None and entry != _FORGOTTEN:
        found = _unpack(entry)
    else:
        found = _key_from_db(prefix)
        if found is not None and cache_key is not None and entry is None:
            # add, not set: a key forgotten meanwhile keeps its marker, not this row.
            cache.add(cache_key, _pack(*found), KEY_CACHE_SECONDS)
    if found is None:
        return None
    key, scope = found
    if not hmac.compare_digest(key.secret_hash, _hash(secret)):
        return None
    key._streetteam_scope = scope  # read by api_key_scope(), saves a query per request
    return key


def api_key_forget(api_key: ApiKey) -> None:
    """Drop the key's cached row now and again when the transaction commits, so the next
    request reads the database (a revoked key is refused at once)."""

    def forget():
        cache.set(_cache_key(api_key.prefix), _FORGOTTEN, _FORGOTTEN_SECONDS)

    forget()
    if connection.in_atomic_block:
        transaction.on_commit(forget)


def api_key_forget_if_cached(api_key: ApiKey) -> None:
    """api_key_forget() for a change made outside these services (admin, shell): a key with
    nothing cached (a new one) has nothing stale to forget, and stays cacheable."""
    if cache.get(_cache_key(api_key.prefix)) is not None:
        api_key_forget(api_key)


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey, actor=None) -> ApiKey:
    """Refuse the key from now on (audited as `api_key_revoked`); revoking a revoked key does
    nothing more."""
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
        audit(actor=actor, action="api_key_revoked", obj=api_key, prefix=api_key.prefix)
    api_key_forget(api_key)
    return api_key


@transaction.atomic
def api_key_set_programmes(*, api_key: ApiKey, programmes: list[Programme], actor=None) -> ApiKey:
    """Change what a key may act for (none = all programmes), effective on the next request;
    audited as `api_key_programmes_set`."""
    api_key.programmes.set(programmes)
    audit(
        actor=actor,
        action="api_key_programmes_set",
        obj=api_key,
        prefix=api_key.prefix,
        programmes=api_key_scope_names(api_key),
    )
    api_key_forget(api_key)
    return api_key


_UNREAD = object()


def api_key_scope(api_key: ApiKey) -> frozenset[int] | None:
    """The programme ids the key may act for: those both it and its store allow (none on
    either side: no limit from that side). None: all programmes."""
    scope = getattr(api_key, "_streetteam_scope", _UNREAD)
    if scope is _UNREAD:
        scope = api_key._streetteam_scope = _scope_from_db(api_key)
    return scope


def api_key_allows(api_key: ApiKey, programme_id: int | None) -> bool:
    """Whether the key may act for this programme (see api_key_scope)."""
    scope = api_key_scope(api_key)
    return scope is None or (programme_id is not None and programme_id in scope)
