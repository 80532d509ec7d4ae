"""The advocate's payout details page and the Stripe Connect onboarding round trip.

Every query is scoped to request.user: an advocate only reaches their own memberships."""

import time

from allauth.account import app_settings as account_settings
from allauth.account.decorators import reauthentication_required
from allauth.account.internal.flows.login import get_authentication_records
from csp.decorators import csp_update
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from advocacy.forms import PayoutDetailsForm
from advocacy.models import Advocate
from advocacy.payout_details import payout_details_summary
from advocacy.services import (
    advocate_payout_details_update,
)
from advocacy.stripe_status import stripe_connect_status
from kernel.errors import ServiceError
from referrals.dashboard.views import programme_query, selected_advocacy
from referrals.stripe.connect import (
    EXPRESS_COUNTRIES,
    stripe_connect_available,
    stripe_connect_onboarding_url,
    stripe_connect_refresh,
)

# Pages whose form leads on to Stripe's onboarding: the POST answers with a redirect there, which
# the browser only follows when the page's form-action allows Stripe's origin.
STRIPE_ONBOARDING_ORIGIN = {"form-action": ["https://connect.stripe.com"]}


def _signed_in_recently(request) -> bool:
    """A password login within the re-authentication window counts as recent authentication.

    allauth 65.21's `did_recently_reauthenticate` only counts an explicit re-authentication, so
    on its own it would ask for the password again a minute after logging in with it. The login
    record (allauth's `record_authentication`, kept in the session) proves the same thing.
    """
    window = account_settings.REAUTHENTICATION_TIMEOUT
    now = time.time()
    return any(
        record.get("method") == "password" and now - record.get("at", 0) < window
        for record in get_authentication_records(request, request.user)
    )


@login_required
@reauthentication_required(enabled=lambda request: not _signed_in_recently(request))
@require_http_methods(["GET", "POST"])
@never_cache
@csp_update(STRIPE_ONBOARDING_ORIGIN)
def payout_settings(request):
    """Choose how to be paid. Behind recent authentication: whoever changes where the money goes
    must have typed the password in the last few minutes (allauth's re-authentication)."""
    advocate, advocacies = selected_advocacy(request)
    if advocate is None:
        return redirect("dashboard")
    current = payout_details_summary(advocate)
    masked_iban = current.destination if current.method == Advocate.PayoutMethod.BANK else ""
    context = {
        "advocacies": advocacies,
        "advocate": advocate,
        "programme": advocate.programme,
        "programme_query": programme_query(advocate),
        "payout_details": current,
        **_stripe_context(advocate),
    }
    if request.method == "GET":
        details = advocate.payout_details or {}
        form = PayoutDetailsForm(
            masked_iban=masked_iban,
            initial={
                "method": advocate.payout_method or None,
                "account_holder": details.get("account_holder", ""),
                "paypal_email": details.get("email", ""),
            },
        )
        return render(request, "dashboard/payout_settings.html", {**context, "form": form})

    form = PayoutDetailsForm(request.POST, masked_iban=masked_iban)
    context["form"] = form
    if not form.is_valid():
        return render(request, "dashboard/payout_settings.html", context, status=400)
    before = (advocate.payout_method, advocate.payout_details)
    try:
        updated = advocate_payout_details_update(advocate=advocate, **form.service_kwargs())
    except ServiceError as exc:
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        return render(request, "dashboard/payout_settings.html", context, status=400)
    if (updated.payout_method, updated.payout_details) == before:
        messages.info(request, "Nothing changed: your payout details are as they were.")
    else:
        messages.success(
            request,
            "Your payout details are saved. We have emailed every confirmed address on your "
            "account about the change.",
        )
    return redirect(reverse("payout_settings") + programme_query(advocate))


def _stripe_context(advocate: Advocate) -> dict:
    return {
        "stripe": stripe_connect_status(advocate),
        "stripe_available": stripe_connect_available(),
        "stripe_countries": sorted(EXPRESS_COUNTRIES.items(), key=lambda item: item[1]),
    }


def _absolute(name: str, advocate: Advocate) -> str:
    """A URL of ours for Stripe to send the advocate back to (Stripe needs it absolute)."""
    return settings.SITE_URL + reverse(name) + programme_query(advocate)


def _to_stripe_onboarding(request, advocate: Advocate, *, country: str = ""):
    """Redirect to a fresh Account Link, or back to the payout details with the reason."""
    try:
        url = stripe_connect_onboarding_url(
            advocate_id=advocate.pk,
            country=country,
            refresh_url=_absolute("stripe_connect_refresh", advocate),
            return_url=_absolute("stripe_connect_return", advocate),
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect(reverse("payout_settings") + programme_query(advocate))
    return redirect(url)


@login_required
@reauthentication_required(enabled=lambda request: not _signed_in_recently(request))
@require_POST
def stripe_connect_start(request):
    """ "Set up payouts with Stripe": make the Express account on first use (the country is
    asked then), and send the advocate to Stripe's onboarding. Behind recent authentication,
    like the payout details: it changes where the money goes."""
    advocate, _ = selected_advocacy(request)
    if advocate is None:
        return redirect("dashboard")
    return _to_stripe_onboarding(request, advocate, country=request.POST.get("country", ""))


@login_required
@reauthentication_required(enabled=lambda request: not _signed_in_recently(request))
@require_GET
def stripe_connect_refresh_view(request):
    """Stripe sends the advocate here when their onboarding link expired or was used: as
    Stripe asks, make a new link for the same account and go straight back."""
    advocate, _ = selected_advocacy(request)
    if advocate is None:
        return redirect("dashboard")
    if not advocate.stripe_account_id:
        return redirect(reverse("payout_settings") + programme_query(advocate))
    return _to_stripe_onboarding(request, advocate)


@login_required
@require_GET
@never_cache
@csp_update(STRIPE_ONBOARDING_ORIGIN)
def stripe_connect_return(request):
    """Back from Stripe's onboarding: read the account now (the webhook may come later) and
    say where the advocate stands."""
    advocate, advocacies = selected_advocacy(request)
    if advocate is None:
        return redirect("dashboard")
    try:
        advocate = stripe_connect_refresh(advocate_id=advocate.pk)
    except ServiceError as exc:
        messages.warning(request, f"We couldn't check with Stripe just now. {exc.message}")
    context = {
        "advocacies": advocacies,
        "advocate": advocate,
        "programme": advocate.programme,
        "programme_query": programme_query(advocate),
        **_stripe_context(advocate),
    }
    return render(request, "dashboard/stripe_connect_return.html", context)
