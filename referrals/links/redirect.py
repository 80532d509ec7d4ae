"""What `/r/<CODE>` does before it answers: refuse an IP that keeps guessing codes, find where the
code leads, and queue the click.

One code path whatever the click buffer: the IP's miss counter is read in the same cache round
trip as the code's card (referrals.links.cache), the card is loaded from the database only after
a miss (once), and the click is pushed onto the buffer (referrals.links.buffer) only when the
redirect is answered. The limit holds for real codes too, or a blocked guesser would still learn
which of its guesses exist.
"""

from dataclasses import dataclass

from referrals import ratelimit
from referrals.links.cache import CodeCard, card_load, card_lookup
from referrals.links.clicks import click_record


@dataclass(frozen=True)
class Redirect:
    """The answer for one request: `wait` seconds when the IP is blocked (429), else `target`
    (None: unknown or unusable code, 404). A click was queued when there is a target.
    `programme_id`: for an unusable code, the programme it belongs to (the 404 page can still
    offer that programme's shop)."""

    target: CodeCard | None = None
    wait: int | None = None
    programme_id: int | None = None


def redirect_resolve(
    code: str, *, ip: str, visitor_id: str, user_agent: str, referrer: str
) -> Redirect:
    """Check the IP's misses, find where `code` leads and queue the click; count a miss for an
    unusable code."""
    miss_key = ratelimit.bucket_key("redirect_miss", ip)
    lookup = card_lookup(code, extra_keys=[miss_key])
    wait = ratelimit.wait_for("redirect_miss", lookup.extras.get(miss_key))
    if wait:
        return Redirect(wait=wait)
    card = card_load(lookup)
    if card is None or card.unusable:
        ratelimit.record_miss("redirect_miss", ip)
        return Redirect(programme_id=card.programme_id if card else None)
    click_record(
        rep_code_id=card.rep_code_id,
        advocate_id=card.advocate_id,
        landing=card.url,
        ip=ip,
        visitor_id=visitor_id,
        user_agent=user_agent,
        referrer=referrer,
    )
    return Redirect(target=card)
