"""Fixed-window rate limits in the cache, for guessing attempts (failed code lookups, /r/
misses). A limit is "N/SECONDS" in settings; the answer is how long to wait, or None."""

import time

from django.core.cache import cache

from kernel.client_ip import client_ip as kernel_client_ip
from referrals.conf import app_settings


def limit(scope: str) -> tuple[int, int]:
    """(misses allowed, window in seconds) for `scope`."""
    return app_settings.rate_limit(scope)


def bucket_key(scope: str, ident: str) -> str:
    """The cache key counting `ident`'s misses in `scope` in the current window."""
    _, window = limit(scope)
    return f"rl:{scope}:{ident}:{int(time.time()) // window}"


def wait_for(scope: str, count: int | None) -> int | None:
    """Seconds to wait when `count` misses (read from `bucket_key`) reach the limit, else None.

    For callers that read the counter in a round trip they make anyway (/r/ reads it with the
    cached code lookup); others use `blocked_for`.
    """
    allowed, window = limit(scope)
    if (count or 0) >= allowed:
        return window - int(time.time()) % window or 1
    return None


def blocked_for(scope: str, ident: str) -> int | None:
    """Seconds until `ident` may try again in `scope`, or None if it is under the limit."""
    return wait_for(scope, cache.get(bucket_key(scope, ident), 0))


def record_miss(scope: str, ident: str) -> None:
    _, window = limit(scope)
    key = bucket_key(scope, ident)
    if not cache.add(key, 1, timeout=window + 1):
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=window + 1)


# The one client-address function (trusted proxy hops included): every limit keys on it.
client_ip = kernel_client_ip
