"""Where /r/<CODE> sends a shopper.

The programme's own landing URL (a merchant page) when set; otherwise its campaign page, which the
cms app knows how to find and registers here at start-up (cms depends on referrals, not the other
way round). The target never comes from the request, so the link can't be an open redirect.

Our own pages get `?ref=CODE`. A merchant page gets parameters only Streetteam writes:
`st_code=CODE&st_win=DAYS` here, and `&st_vid=VISITOR` (the signed visitor id) from the view
(static/streetteam-merchant.js reads them). `ref` is a name many other tools use, so the merchant
script no longer trusts it on its own; see README "Connect any store".
"""

from collections.abc import Callable
from urllib.parse import urlencode, urlsplit, urlunsplit

from django.utils.http import url_has_allowed_host_and_scheme

from advocacy.models import Programme

_campaign_resolver: Callable[[Programme], str | None] | None = None


def register_campaign_resolver(resolver: Callable[[Programme], str | None]) -> None:
    global _campaign_resolver
    _campaign_resolver = resolver


# The merchant script's URL parameters (static/streetteam-merchant.js reads the same names).
MERCHANT_CODE_PARAM = "st_code"
MERCHANT_WINDOW_PARAM = "st_win"
MERCHANT_VISITOR_PARAM = "st_vid"


def _with_params(url: str, params: dict) -> str:
    parts = urlsplit(url)
    query = f"{parts.query}&" if parts.query else ""
    return urlunsplit(parts._replace(query=query + urlencode(params)))


def merchant_landing(programme: Programme) -> str | None:
    """The programme's merchant page as set (no parameters), or None when unset or not a safe
    http(s) URL."""
    if programme.landing_url:
        host = urlsplit(programme.landing_url).netloc
        if url_has_allowed_host_and_scheme(
            programme.landing_url, allowed_hosts={host}, require_https=False
        ):
            return programme.landing_url
    return None


def landing_url(programme: Programme, code: str) -> str:
    merchant = merchant_landing(programme)
    if merchant:
        return _with_params(
            merchant,
            {
                MERCHANT_CODE_PARAM: code,
                MERCHANT_WINDOW_PARAM: programme.attribution_window_days,
            },
        )
    path = _campaign_resolver(programme) if _campaign_resolver else None
    return _with_params(path or "/", {"ref": code})
