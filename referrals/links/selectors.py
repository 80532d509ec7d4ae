"""Reads for the referral link: where /r/<CODE> leads, who referred the shopper on this page,
and a visitor's last click."""

from dataclasses import dataclass
from urllib.parse import urlsplit

from advocacy.models import Programme
from advocacy.offers import offer_summary
from referrals import ratelimit
from referrals.links.cache import CodeCard, card_load, card_lookup
from referrals.links.cookies import referral_from_request, visitor_id_verify
from referrals.links.landing import merchant_landing
from referrals.models import Click
from referrals.services.codes import repcode_find, repcode_unusable_reason


def referral_target(code: str) -> CodeCard | None:
    """Where a click on /r/<code> goes (its card), or None when the code can't be used (friendly
    404). From the cache when it can (no query on a warm cache); see referrals.links.cache."""
    card = card_load(card_lookup(code))
    return None if card is None or card.unusable else card


@dataclass(frozen=True)
class ShopOffer:
    url: str
    host: str


def shop_for_unusable_code(programme_id: int | None, hint: str = "") -> ShopOffer | None:
    """The merchant page a shopper whose link didn't work can still shop on, or None (our home
    page, then). An unknown code has no programme, so: the code's own programme when the code
    exists but can't be used; else the programme the link names with ?to=<slug>; else the only
    active programme with a landing URL. Only active programmes, only their landing URL as set
    (never from the request, so no open redirect)."""
    active = Programme.objects.filter(status=Programme.Status.ACTIVE).exclude(landing_url="")
    if programme_id is not None:
        candidates = active.filter(pk=programme_id)
    else:
        candidates = active
        if hint and len(hint) <= 60 and active.filter(slug=hint).exists():
            candidates = active.filter(slug=hint)
    programmes = list(candidates.only("pk", "landing_url")[:2])
    if len(programmes) != 1:
        return None
    url = merchant_landing(programmes[0])
    return ShopOffer(url=url, host=urlsplit(url).hostname or url) if url else None


@dataclass(frozen=True)
class Greeting:
    code: str
    advocate_first_name: str
    offer: str
    programme: Programme


def _greeting_for(code: str, programme: Programme | None) -> Greeting | None:
    rep = repcode_find(code) if code else None
    if repcode_unusable_reason(rep) is not None:
        return None
    if programme is not None and rep.advocate.programme_id != programme.pk:
        return None
    return Greeting(
        code=rep.code,
        advocate_first_name=rep.advocate.user.display_name,
        offer=offer_summary(rep.advocate.programme),
        programme=rep.advocate.programme,
    )


def referral_greeting(request, programme: Programme | None = None) -> Greeting | None:
    """Who referred the shopper looking at this page: from ?ref= first, then the cookie.

    A greeting confirms that a code exists, so ?ref= guesses count against the same limit as
    /r/ misses: once the address is over it, ?ref= is ignored (the page itself still renders,
    telling the guesser nothing either way). The signed cookie is not a guess.
    """
    ref = request.GET.get("ref", "")
    if ref:
        ip = ratelimit.client_ip(request)
        if ratelimit.blocked_for("redirect_miss", ip) is None:
            greeting = _greeting_for(ref, programme)
            if greeting is not None:
                return greeting
            ratelimit.record_miss("redirect_miss", ip)
    link = referral_from_request(request)
    return _greeting_for(link.code, programme) if link else None


def link_referral_for_visitor(signed_visitor_id: str):
    """The last link click by this visitor, as a LinkReferral; `signed_visitor_id` is the st_vid
    value (cookie or merchant link), the id with our signature. A bare, tampered or malformed
    one is no visitor (None), exactly as an unknown one: an id is trusted only when we minted it.

    Clicks reach the table through the click buffer, so one from the last few seconds may not
    be there yet; such a fast order is attributed by the code the shop passes instead.
    """
    from referrals.links.cookies import LinkReferral

    visitor_id = visitor_id_verify(signed_visitor_id)
    if visitor_id is None:
        return None
    click = (
        Click.objects.filter(visitor_id=visitor_id)
        .select_related("rep_code")
        .order_by("-created_at")
        .first()
    )
    if click is None:
        return None
    return LinkReferral(
        code=click.rep_code.code, visitor_id=visitor_id, clicked_at=click.created_at
    )
