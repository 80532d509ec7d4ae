"""Rep code generation: random, unambiguous, unguessable.

The alphabet leaves out characters people confuse when reading a code aloud or off a receipt
(0/O, 1/I/L). 31 symbols ** 9 characters = 2.6 * 10**13 codes, so guessing one is hopeless
within the rate limits, and collisions are rare enough that one retry nearly always succeeds.
"""

import shortuuid

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 9

_generator = shortuuid.ShortUUID(alphabet=ALPHABET)


def random_code() -> str:
    # ShortUUID.random draws from `secrets`, not `random`.
    return _generator.random(length=LENGTH)


def normalise_code(text: str) -> str:
    """What a shopper typed -> the stored form (upper-case, no surrounding spaces)."""
    return (text or "").strip().upper()
