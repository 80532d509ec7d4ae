"""How an API request proves its key: the Bearer check every endpoint uses, and the code lookup's,
which reads the key in the same cache round trip as the code's card."""

from django.http import HttpRequest
from ninja.security import HttpBearer

from referrals import ratelimit
from referrals.api.keys import (
    api_key_authenticate,
    api_key_cache_key,
)
from referrals.links.cache import card_lookup


class ApiKeyAuth(HttpBearer):
    def __call__(self, request: HttpRequest):
        # HttpBearer's check, reading the one header from META: `request.headers` would build a
        # dict of every header first, on every API request.
        scheme, _, token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() != self.openapi_scheme:
            return None
        return self.authenticate(request, token)

    def authenticate(self, request: HttpRequest, token: str):
        return api_key_authenticate(token)


class CodeLookupAuth(ApiKeyAuth):
    """The key check of GET /codes/{code}, the API's hottest path, in the same cache round trip
    as the lookup itself: one `get_many` brings the key's entry, the IP's failed-lookup counter,
    the targets generation and the code's card (referrals.links.cache, as `/r/` reads it; left
    on the request for the view)."""

    def authenticate(self, request: HttpRequest, token: str):
        code = request.resolver_match.kwargs.get("code", "") if request.resolver_match else ""
        request.code_lookup_limit_key = limit_key = ratelimit.bucket_key(
            "code_lookup", ratelimit.client_ip(request)
        )
        key_entry = api_key_cache_key(token)
        extra_keys = [limit_key] if key_entry is None else [limit_key, key_entry]
        request.code_lookup = card_lookup(code, extra_keys=extra_keys)
        return api_key_authenticate(token, prefetched=request.code_lookup.extras)
