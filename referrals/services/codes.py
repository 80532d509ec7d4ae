"""Finding the rep code behind what a shopper typed or clicked."""

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.cache import cache

from advocacy.cache import GENERATION_KEY, targets_generation
from advocacy.codes import normalise_code
from advocacy.models import RepCode

# What a stored code can look like; anything else is answered without a query (and junk such
# as NUL bytes, which PostgreSQL refuses, never reaches the database).
CODE_SHAPE = re.compile(r"^[A-Z0-9][A-Z0-9-]{2,31}$")


def repcode_find(code: str) -> RepCode | None:
    """The code (any letter case) with its advocate, user and programme, or None."""
    normalised = normalise_code(code)
    if not CODE_SHAPE.match(normalised):
        return None
    return (
        RepCode.objects.select_related("advocate__user", "advocate__programme")
        .filter(code=normalised)
        .first()
    )


def repcode_unusable_reason(rep: RepCode | None) -> tuple[str, str] | None:
    """Why a shopper can't use this code now (error code, message), or None if they can."""
    if rep is None:
        return "code_unknown", "We don't recognise that code. Check the spelling and try again."
    if not rep.is_active:
        return "code_inactive", "That code is no longer active."
    if not rep.advocate.programme.is_active:
        return "programme_inactive", "The programme behind that code isn't running right now."
    if not rep.advocate.is_active:
        return "advocate_inactive", "That code is no longer active."
    return None


# ------------------------------------------------------------------- the API's cached lookup

# How long GET /api/v1/codes/{code} answers from a cached card. Edits to the code, its advocate
# or its programme retire every card at once (they bump the targets generation, as /r/'s); an
# advocate's renamed account is the one thing that only shows once the card expires.
CARD_CACHE_SECONDS = 60
_NO_CARD = "none"  # cached for a code that doesn't exist, so guesses don't reach the database


@dataclass(frozen=True)
class CodeCard:
    """What the merchant API says about a code, as plain values (cached, pickled small)."""

    code: str
    is_active: bool
    programme_id: int
    programme_slug: str
    currency: str
    advocate_first_name: str
    reward_kind: str
    reward_percent: Decimal
    reward_amount: int
    min_order: int
    unusable: tuple[str, str] | None  # repcode_unusable_reason(), or None when usable


def _card(rep: RepCode) -> CodeCard:
    programme = rep.advocate.programme
    return CodeCard(
        code=rep.code,
        is_active=rep.is_active,
        programme_id=programme.pk,
        programme_slug=programme.slug,
        currency=programme.currency,
        advocate_first_name=rep.advocate.user.display_name,
        reward_kind=programme.shopper_reward_kind,
        reward_percent=programme.shopper_reward_percent,
        reward_amount=programme.shopper_reward_amount,
        min_order=programme.shopper_min_order,
        unusable=repcode_unusable_reason(rep),
    )


@dataclass(frozen=True)
class CardLookup:
    """What one round trip to the cache found for a code (see `repcode_card_lookup`).

    `hit`: `card` is the answer (None: no such code). Otherwise `repcode_card_load` reads the
    database. `extras`: the values of the caller's extra keys that were present.
    """

    hit: bool
    card: CodeCard | None = None
    normalised: str = ""
    generation: int | None = None
    extras: dict = field(default_factory=dict)


def _card_key(normalised: str) -> str:
    return f"streetteam:codecard:{normalised}"


def repcode_card_lookup(code: str, extra_keys: Iterable[str] = ()) -> CardLookup:
    """The cached card for `code` (any letter case), read in one `get_many` with the targets
    generation and the caller's `extra_keys` (e.g. a rate-limit counter).

    Each code's entry holds `(generation, card)` with the generation read before the database
    was; an entry from another generation is stale (a code, advocate or programme changed).
    """
    extra_keys = list(extra_keys)
    normalised = normalise_code(code)
    if not CODE_SHAPE.match(normalised):
        # Can't be a code: no query, and the cache only for what the caller asked.
        return CardLookup(hit=True, extras=cache.get_many(extra_keys) if extra_keys else {})
    key = _card_key(normalised)
    found = cache.get_many([GENERATION_KEY, key, *extra_keys])
    extras = {k: found[k] for k in extra_keys if k in found}
    generation = found.get(GENERATION_KEY)
    if generation is None:
        # The cache lost the generation: anything stored may predate a bump; start a new one.
        return CardLookup(
            hit=False, normalised=normalised, generation=targets_generation(), extras=extras
        )
    entry = found.get(key)
    if isinstance(entry, tuple) and len(entry) == 2 and entry[0] == generation:
        card = None if entry[1] == _NO_CARD else entry[1]
        return CardLookup(hit=True, card=card, extras=extras)
    return CardLookup(hit=False, normalised=normalised, generation=generation, extras=extras)


def repcode_card_load(lookup: CardLookup) -> CodeCard | None:
    """The card after a cache miss: read from the database and cached under the generation
    read before it (a change committed in between leaves the entry stale from the start)."""
    if lookup.hit:
        return lookup.card
    rep = repcode_find(lookup.normalised)
    card = None if rep is None else _card(rep)
    entry = (lookup.generation, _NO_CARD if card is None else card)
    cache.set(_card_key(lookup.normalised), entry, CARD_CACHE_SECONDS)
    return card
