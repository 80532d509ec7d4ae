"""The one cached code lookup, used by `/r/<CODE>` and by the API's GET /codes/{code}: what a
code leads to and what the API says about it, with no database query on a warm cache and one
cache round trip.

Each code has one entry, `streetteam:code:<CODE>`, holding `(generation, CodeCard or MISS)`
(MISS: no such code), where generation is the targets generation (advocacy.cache) read before
the database was. `card_lookup` reads the entry and the generation together (one `get_many`,
with any keys the caller wants in the same trip: a rate-limit counter, an API key's entry); an
entry from another generation is stale. Anything that changes what a card holds bumps the
generation, which retires every entry at once; entries also expire after
STREETTEAM_TARGET_CACHE_SECONDS. After a miss, `card_load` reads the database once and stores
the answer under the generation the lookup read, so a change committed in between leaves the
entry stale from the start.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.cache import cache

from advocacy.cache import GENERATION_KEY, targets_generation, targets_invalidate
from advocacy.codes import normalise_code
from referrals.conf import app_settings
from referrals.links.landing import landing_url
from referrals.services.codes import CODE_SHAPE, repcode_find, repcode_unusable_reason

__all__ = [
    "CardLookup",
    "CodeCard",
    "card_load",
    "card_lookup",
    "targets_generation",
    "targets_invalidate",
]

MISS = "miss"  # a plain string: pickles small and compares equal after a round trip


@dataclass(frozen=True)
class CodeCard:
    """A code's facts as plain values (cached, pickled small): where `/r/` sends a click on it
    and what the merchant API answers about it."""

    rep_code_id: int
    advocate_id: int
    code: str
    is_active: bool
    unusable: tuple[str, str] | None  # repcode_unusable_reason(), or None when usable
    # Where /r/ leads ("" when unusable) and how long its cookie attributes orders.
    url: str
    window_days: int
    external: bool  # the link leads to the merchant's own site (programme.landing_url)
    programme_id: int
    programme_slug: str
    currency: str
    advocate_first_name: str
    reward_kind: str
    reward_percent: Decimal
    reward_amount: int
    min_order: int


@dataclass(frozen=True)
class CardLookup:
    """What one round trip to the cache found for a code.

    `hit`: `card` is the answer (None: no such code, or not code-shaped). Otherwise `card_load`
    reads the database. `extras`: the values of the caller's extra keys that were present.
    """

    hit: bool
    card: CodeCard | None = None
    normalised: str = ""
    generation: int | None = None
    extras: dict = field(default_factory=dict)


def _key(normalised: str) -> str:
    return f"streetteam:code:{normalised}"


def card_lookup(code: str, extra_keys: Iterable[str] = ()) -> CardLookup:
    """The cached card for `code` (any letter case), read in one `get_many` with the targets
    generation and the caller's `extra_keys`."""
    extra_keys = list(extra_keys)
    normalised = normalise_code(code)
    if not CODE_SHAPE.match(normalised):
        # Can't be a code: answered without a query, and without the cache unless asked.
        return CardLookup(hit=True, extras=cache.get_many(extra_keys) if extra_keys else {})
    key = _key(normalised)
    found = cache.get_many([GENERATION_KEY, key, *extra_keys])
    extras = {k: found[k] for k in extra_keys if k in found}
    generation = found.get(GENERATION_KEY)
    if generation is None:
        # The cache lost the generation (or never had one): whatever is stored may predate a
        # bump, so start a new number and treat every entry as stale.
        return CardLookup(
            hit=False, normalised=normalised, generation=targets_generation(), extras=extras
        )
    entry = found.get(key)
    if isinstance(entry, tuple) and len(entry) == 2 and entry[0] == generation:
        card = None if entry[1] == MISS else entry[1]
        return CardLookup(hit=True, card=card, extras=extras)
    return CardLookup(hit=False, normalised=normalised, generation=generation, extras=extras)


def card_load(lookup: CardLookup) -> CodeCard | None:
    """The card `lookup` found, or after a miss the one read from the database (one read, then
    cached under the generation the lookup read before it)."""
    if lookup.hit:
        return lookup.card
    card = card_from_database(lookup.normalised)
    entry = (lookup.generation, MISS if card is None else card)
    cache.set(_key(lookup.normalised), entry, app_settings.TARGET_CACHE_SECONDS)
    return card


def card_from_database(code: str) -> CodeCard | None:
    """The card for `code` read from the database (no cache), or None for no such code."""
    rep = repcode_find(code)
    if rep is None:
        return None
    programme = rep.advocate.programme
    unusable = repcode_unusable_reason(rep)
    url = "" if unusable else landing_url(programme, rep.code)
    return CodeCard(
        rep_code_id=rep.pk,
        advocate_id=rep.advocate_id,
        code=rep.code,
        is_active=rep.is_active,
        unusable=unusable,
        url=url,
        window_days=programme.attribution_window_days,
        # Our own pages are relative paths; an absolute URL is the merchant's site.
        external=bool(url) and not url.startswith("/"),
        programme_id=programme.pk,
        programme_slug=programme.slug,
        currency=programme.currency,
        advocate_first_name=rep.advocate.user.display_name,
        reward_kind=programme.shopper_reward_kind,
        reward_percent=programme.shopper_reward_percent,
        reward_amount=programme.shopper_reward_amount,
        min_order=programme.shopper_min_order,
    )
