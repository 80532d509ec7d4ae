"""The bare baseline views, served by the same gunicorn process as the views they are compared
with (bench/urls.py; never part of config.urls).

Each does the least its counterpart's job needs: no cache, no database, no rate limit. They share
the counterpart's transaction handling (`/r/` skips the request transaction, the API doesn't), so
the ratio measures our view's own work and nothing else.
"""

from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@never_cache
@transaction.non_atomic_requests
@require_GET
def bare_redirect(request, code: str):
    """A 302 to a fixed page: what /r/<CODE> is compared with."""
    return HttpResponseRedirect(f"/?ref={code}")


@require_GET
def bare_json(request, code: str):
    """A JSON body of the API's shape with constant values: what GET /api/v1/codes/{code} is
    compared with (no key check, no lookup)."""
    return JsonResponse(
        {
            "valid": True,
            "code": code.upper(),
            "programme": "bench",
            "currency": "EUR",
            "advocate_first_name": "Bench",
            "discount": {"kind": "percent", "percent": "20", "amount": None, "minimum_order": 0},
            "discount_amount": None,
            "net_amount": None,
        }
    )


@login_required
def bare_page(request):
    """A signed-in page on the site's layout with nothing on it: the dashboard's baseline (the
    floor any signed-in page pays: session, user, base template)."""
    return render(request, "bench/bare_page.html")


@transaction.non_atomic_requests
def ping(request):
    return HttpResponse("ok", content_type="text/plain")
