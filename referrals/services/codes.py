"""Finding the rep code behind what a shopper typed or clicked (cached for `/r/` and the API's
code lookup by referrals.links.cache)."""

import re

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
