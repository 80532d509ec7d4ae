"""The code lookups of `/r/<CODE>`, cached so a warm redirect makes no database query and one
cache round trip.

Each code has one entry, `streetteam:target:<CODE>`, holding `(generation, ReferralTarget or
MISS)` (MISS: unknown or unusable code), where generation is the targets generation (see
advocacy.cache) read before the database was. A lookup reads the entry and the current
generation together (one `get_many`, plus any keys the caller wants in the same trip, such as a
rate-limit counter); an entry from another generation is stale. Anything that changes a code, its
advocate, its programme or a campaign page bumps the generation, which retires every entry at
once; entries also expire after STREETTEAM_TARGET_CACHE_SECONDS.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.cache import cache

from advocacy.cache import GENERATION_KEY, targets_generation, targets_invalidate
from advocacy.codes import normalise_code
from referrals.conf import app_settings
from referrals.services.codes import CODE_SHAPE

__all__ = [
    "MISS",
    "TargetLookup",
    "target_lookup",
    "target_store",
    "targets_generation",
    "targets_invalidate",
]

MISS = "miss"  # a plain string: pickles small and compares equal after a round trip


@dataclass(frozen=True)
class TargetLookup:
    """What one round trip to the cache found for a code.

    `hit`: the answer is known without the database (`target`, None for an unusable code).
    Otherwise `key` and `generation` are what `target_store` needs to cache the answer.
    `extras`: the values of the caller's extra keys that were present.
    """

    hit: bool
    target: object = None
    key: str | None = None
    generation: int | None = None
    extras: dict = field(default_factory=dict)


def target_lookup(code: str, extra_keys: Iterable[str] = ()) -> TargetLookup:
    extra_keys = list(extra_keys)
    normalised = normalise_code(code)
    if not CODE_SHAPE.match(normalised):
        # Can't be a code: answered without a query, and without the cache unless asked.
        return TargetLookup(hit=True, extras=cache.get_many(extra_keys) if extra_keys else {})
    key = f"streetteam:target:{normalised}"
    found = cache.get_many([GENERATION_KEY, key, *extra_keys])
    extras = {k: found[k] for k in extra_keys if k in found}
    generation = found.get(GENERATION_KEY)
    if generation is None:
        # The cache lost the generation (or never had one): whatever is stored may predate a
        # bump, so start a new number and treat every entry as stale.
        return TargetLookup(hit=False, key=key, generation=targets_generation(), extras=extras)
    entry = found.get(key)
    if isinstance(entry, tuple) and len(entry) == 2 and entry[0] == generation:
        target = entry[1]
        return TargetLookup(hit=True, target=None if target == MISS else target, extras=extras)
    return TargetLookup(hit=False, key=key, generation=generation, extras=extras)


def target_store(lookup: TargetLookup, target) -> None:
    """Cache the answer found in the database after `lookup` missed.

    Stored with the generation read *before* the database: a change committed in between bumped
    it, so the entry is stale from the start rather than serving the old rows.
    """
    if lookup.hit or lookup.key is None:
        return
    entry = (lookup.generation, MISS if target is None else target)
    cache.set(lookup.key, entry, app_settings.TARGET_CACHE_SECONDS)
