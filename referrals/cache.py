"""The code lookups of `/r/<CODE>`, cached so a warm redirect makes no database query.

Each entry is keyed by the targets generation (see advocacy.cache) and the normalised code, and
holds the code's ReferralTarget or MISS (unknown or unusable code). Anything that changes a code,
its advocate, its programme or a campaign page bumps the generation, which retires every entry at
once; entries also expire after STREETTEAM_TARGET_CACHE_SECONDS.
"""

from django.core.cache import cache

from advocacy.cache import targets_generation, targets_invalidate
from advocacy.codes import normalise_code

from .conf import app_settings
from .services.codes import _CODE_SHAPE

__all__ = ["MISS", "target_cache_key", "targets_generation", "targets_invalidate"]

MISS = "miss"  # a plain string: pickles small and compares equal after a round trip


def target_cache_key(code: str) -> str | None:
    """The key for `code`, or None when it can't be a code (answered without a query anyway)."""
    normalised = normalise_code(code)
    if not _CODE_SHAPE.match(normalised):
        return None
    return f"streetteam:target:{targets_generation()}:{normalised}"


def cached_target(key: str):
    """The ReferralTarget, MISS, or None when nothing is cached."""
    return cache.get(key)


def cache_target(key: str, target) -> None:
    cache.set(key, MISS if target is None else target, app_settings.TARGET_CACHE_SECONDS)
