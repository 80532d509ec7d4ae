"""The /r/<CODE> redirect: a signed referral cookie and a 302 to the programme's page."""

import functools
import time

from django.db import transaction
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import http_date
from django.views.decorators.http import require_http_methods

from kernel.durations import wait_in_words
from referrals import ratelimit
from referrals.conf import app_settings
from referrals.links.cookies import set_referral_cookie, visitor_id_mint, visitor_id_verify
from referrals.links.landing import MERCHANT_VISITOR_PARAM
from referrals.links.redirect import redirect_resolve
from referrals.links.selectors import shop_for_unusable_code

# What django.views.decorators.cache.never_cache sets, written directly: Django parses and
# re-sorts Cache-Control and formats the date on every call, and /r/ answers every click (what
# that buys is measured in bench/README.md; tests/referrals/test_redirect.py pins the headers to
# Django's).
_NEVER_CACHE = "max-age=0, no-cache, no-store, must-revalidate, private"
_expires = (0, "")  # (second, http_date(second)): formatted once a second


def _never_cache(view):
    @functools.wraps(view)
    def never_cached(request, *args, **kwargs):
        global _expires
        response = view(request, *args, **kwargs)
        now, expires = _expires
        if now != int(time.time()):
            now = int(time.time())
            expires = http_date(now)
            _expires = (now, expires)
        response.headers["Expires"] = expires
        response.headers["Cache-Control"] = _NEVER_CACHE
        return response

    return never_cached


@_never_cache
@transaction.non_atomic_requests
@require_http_methods(["GET", "HEAD"])
def referral_redirect(request, code: str):
    """302 to the programme's page with a signed referral cookie; a friendly 404 otherwise."""
    # Only an id we minted: a planted one (someone else's, or made up) gets a fresh id instead,
    # so no click is ever recorded under an id the browser chose.
    signed_visitor_id = request.COOKIES.get(app_settings.VISITOR_COOKIE_NAME, "")
    visitor_id = visitor_id_verify(signed_visitor_id)
    if visitor_id is None:
        visitor_id, signed_visitor_id = visitor_id_mint()
    redirect = redirect_resolve(
        code,
        ip=ratelimit.client_ip(request),
        visitor_id=visitor_id,
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
        referrer=request.META.get("HTTP_REFERER", ""),
    )
    if redirect.wait:
        response = render(request, "429.html", {"wait": wait_in_words(redirect.wait)}, status=429)
        response["Retry-After"] = str(redirect.wait)
        return response
    target = redirect.target
    if target is None:
        shop = shop_for_unusable_code(redirect.programme_id, request.GET.get("to", ""))
        return render(
            request,
            "referrals/code_not_found.html",
            {"code": code[:32], "merchant_shop": shop},
            status=404,
        )
    url = target.url
    if target.external:
        # The merchant's site can't read our cookie: hand it the signed visitor id, which its
        # checkout passes back to POST /api/v1/orders so the order is attributed to this click.
        # The programme's window is already there (st_win), so the script keeps the referral
        # exactly as long as the cookie below.
        url += f"&{MERCHANT_VISITOR_PARAM}={signed_visitor_id}"
    response = HttpResponseRedirect(url)
    set_referral_cookie(
        response,
        code=target.code,
        visitor_id=visitor_id,
        signed_visitor_id=signed_visitor_id,
        window_days=target.window_days,
        secure=request.is_secure(),
    )
    return response
