"""The shopper's address, as every rate limit and every IP hash sees it.

Behind a TLS proxy, REMOTE_ADDR is the proxy's own address: keyed on it, every shopper would
share one rate-limit bucket. Each trusted proxy appends the address it received the request
from to X-Forwarded-For, so with N trusted proxies (STREETTEAM_TRUSTED_PROXY_HOPS) the client is
the Nth address from the right. Anything further left was written by the client and is ignored,
so a prepended address can't pick someone else's bucket. With 0 hops (the default: the app
serves the Internet directly) the header is ignored altogether.
"""

import ipaddress

from django.conf import settings


def client_ip(request) -> str:
    """The client's address: REMOTE_ADDR, or the address the trusted proxies vouch for."""
    remote = request.META.get("REMOTE_ADDR", "") or "unknown"
    hops = getattr(settings, "STREETTEAM_TRUSTED_PROXY_HOPS", 0)
    if hops <= 0:
        return remote
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
    if len(forwarded) < hops:
        # Fewer entries than proxies: the request didn't come through all of them (or the
        # setting is wrong). The last sender is all we know.
        return remote
    candidate = forwarded[-hops].strip()
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote
