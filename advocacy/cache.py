"""The "targets generation": one number in the cache that is part of every cached code lookup.

`referrals.links.cache` keeps each code's card (what `/r/<CODE>` and the API's code lookup need)
together with the number current when it was looked up, and reads this key beside it in one
round trip; an entry stored under another number is stale. So bumping it retires every cached
lookup at once, whatever changed: a code, an advocate, a programme or the campaign page a
programme lands on.
Old entries are overwritten or expire. It lives here, not in referrals, because advocacy's
services must bump it and advocacy does not import referrals.

Invalidate from services (and from referrals.receivers, for admin edits that bypass them), never
from a model's save(). Inside a transaction the number is bumped now and again after commit, so a
request that cached the old rows between the two can't keep them alive. `QuerySet.update()`
bypasses all of this: call `targets_invalidate()` after one.
"""

import time

from django.core.cache import cache
from django.db import connection, transaction

# Public: referrals.links.cache reads it in the same round trip as a cached lookup.
GENERATION_KEY = "streetteam:targets:generation"


def targets_generation() -> int:
    generation = cache.get(GENERATION_KEY)
    if generation is None:
        # First use, or the cache lost the key: start from the clock, so no generation number
        # handed out before can come back (that would revive entries cached under it).
        cache.add(GENERATION_KEY, time.time_ns(), timeout=None)
        generation = cache.get(GENERATION_KEY, 0)
    return generation


def _bump() -> None:
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:  # the key is missing: any new number will do
        cache.add(GENERATION_KEY, time.time_ns(), timeout=None)


def targets_invalidate() -> None:
    """Forget every cached code lookup (now, and again when the current transaction commits)."""
    _bump()
    if connection.in_atomic_block:
        transaction.on_commit(_bump)


# What a cached code card is made of, per model: a save that touches none of these fields
# (update_fields) leaves every cached lookup valid, e.g. an advocate's new payout details.
# (The advocate's user's name: referrals.receivers.)
_TARGET_FIELDS = {
    "programme": {
        "status",
        "landing_url",
        "attribution_window_days",
        "slug",
        "currency",
        "shopper_reward_kind",
        "shopper_reward_percent",
        "shopper_reward_amount",
        "shopper_min_order",
    },
    "advocate": {"status", "programme", "programme_id", "user", "user_id"},
    "repcode": {"code", "is_active", "advocate", "advocate_id"},
}


def targets_invalidate_after_save(model_name: str, update_fields=None) -> None:
    """targets_invalidate(), unless a save with `update_fields` changed nothing lookups use."""
    if update_fields is not None and not (
        set(update_fields) & _TARGET_FIELDS.get(model_name, set())
    ):
        return
    targets_invalidate()
