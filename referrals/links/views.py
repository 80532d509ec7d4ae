"""The /r/<CODE> redirect: a signed referral cookie and a 302 to the programme's page."""

import secrets

from django.db import transaction
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from referrals import ratelimit
from referrals.conf import app_settings
from referrals.links.cookies import set_referral_cookie
from referrals.links.redirect import redirect_resolve


@never_cache
@transaction.non_atomic_requests
@require_http_methods(["GET", "HEAD"])
def referral_redirect(request, code: str):
    """302 to the programme's page with a signed referral cookie; a friendly 404 otherwise."""
    visitor_id = request.COOKIES.get(app_settings.VISITOR_COOKIE_NAME, "")[:32]
    if not (visitor_id.isascii() and visitor_id.isalnum()):
        visitor_id = secrets.token_hex(16)
    redirect = redirect_resolve(
        code,
        ip=ratelimit.client_ip(request),
        visitor_id=visitor_id,
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
        referrer=request.META.get("HTTP_REFERER", ""),
    )
    if redirect.wait:
        response = render(request, "429.html", {"retry_after": redirect.wait}, status=429)
        response["Retry-After"] = str(redirect.wait)
        return response
    target = redirect.target
    if target is None:
        return render(request, "referrals/code_not_found.html", {"code": code[:32]}, status=404)
    url = target.url
    if target.external:
        # The merchant's site can't read our cookie: hand it the visitor id, which its checkout
        # passes back to POST /api/v1/orders so the order is attributed to this click.
        url += f"&st_vid={visitor_id}"
    response = HttpResponseRedirect(url)
    set_referral_cookie(
        response,
        code=target.code,
        visitor_id=visitor_id,
        window_days=target.window_days,
        secure=request.is_secure(),
    )
    return response
