"""Where /r/<CODE> sends a shopper.

The programme's own landing URL (a merchant page) when set; otherwise its campaign page, which the
cms app knows how to find and registers here at start-up (cms depends on referrals, not the other
way round). The target never comes from the request, so the link can't be an open redirect.
"""

from collections.abc import Callable
from urllib.parse import urlencode, urlsplit, urlunsplit

from django.utils.http import url_has_allowed_host_and_scheme

from advocacy.models import Programme

_campaign_resolver: Callable[[Programme], str | None] | None = None


def register_campaign_resolver(resolver: Callable[[Programme], str | None]) -> None:
    global _campaign_resolver
    _campaign_resolver = resolver


def _with_ref(url: str, code: str) -> str:
    parts = urlsplit(url)
    query = f"{parts.query}&" if parts.query else ""
    return urlunsplit(parts._replace(query=query + urlencode({"ref": code})))


def landing_url(programme: Programme, code: str) -> str:
    if programme.landing_url:
        host = urlsplit(programme.landing_url).netloc
        if url_has_allowed_host_and_scheme(
            programme.landing_url, allowed_hosts={host}, require_https=False
        ):
            return _with_ref(programme.landing_url, code)
    path = _campaign_resolver(programme) if _campaign_resolver else None
    return _with_ref(path or "/", code)
