"""Merchant API keys: made once, shown once, stored as a hash, revoked not deleted."""

import hashlib
import hmac
import secrets

from django.db import transaction
from django.utils import timezone

from advocacy.errors import ServiceError
from advocacy.models import Programme

from ..models import ApiKey

_PREFIX_BYTES = 6  # 8 url-safe characters
_SECRET_BYTES = 24  # 32 url-safe characters, 192 bits


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def api_key_create(
    *, name: str, programmes: list[Programme] | None = None, actor=None
) -> tuple[ApiKey, str]:
    """A new key and its plaintext (the only time it exists outside the caller's hands)."""
    name = (name or "").strip()
    if not name:
        raise ServiceError("name_required", "Give the key a name.", field="name")
    for _ in range(5):
        prefix = secrets.token_urlsafe(_PREFIX_BYTES).replace("-", "x").replace("_", "y")
        if not ApiKey.objects.filter(prefix=prefix).exists():
            break
    secret = secrets.token_urlsafe(_SECRET_BYTES)
    key = ApiKey.objects.create(
        name=name[:100], prefix=prefix, secret_hash=_hash(secret), created_by=actor
    )
    if programmes:
        key.programmes.set(programmes)
    return key, f"st_{prefix}_{secret}"


def api_key_authenticate(token: str) -> ApiKey | None:
    """The active key behind a bearer token, or None. Constant-time on the secret."""
    if not token or not token.startswith("st_") or token.count("_") < 2:
        return None
    prefix, _, secret = token[3:].partition("_")
    key = ApiKey.objects.filter(prefix=prefix, revoked_at__isnull=True).first()
    if key is None or not hmac.compare_digest(key.secret_hash, _hash(secret)):
        return None
    now = timezone.now()
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
        # At most one write a minute per key: the API's hot path stays read-only.
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    return api_key


def api_key_allows(api_key: ApiKey, programme_id: int | None) -> bool:
    """A key with no programmes may act for all of them; otherwise only for its own."""
    scoped = list(api_key.programmes.values_list("pk", flat=True))
    return not scoped or (programme_id is not None and programme_id in scoped)
