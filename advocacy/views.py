"""Advocate-facing pages: join a programme, the dashboard, payouts, payout details, exports.

Every query here is scoped to request.user: an advocate only ever reaches their own memberships
(`advocacies_for_user`), and everything else is read through one of them. The dashboard reads
referrals' selectors (allowed: views sit on top of both apps).
"""

import csv
import time
from urllib.parse import quote

from allauth.account import app_settings as account_settings
from allauth.account.decorators import reauthentication_required
from allauth.account.internal.flows.login import get_authentication_records
from csp.decorators import csp_update
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from advocacy.forms import JoinForm, PayoutDetailsForm
from advocacy.models import Advocate, Programme
from advocacy.offers import offer_summary
from advocacy.payout_details import payout_details_summary
from advocacy.qr import qr_svg
from advocacy.selectors import advocacies_for_user, repcode_for_user
from advocacy.services import (
    advocate_payout_details_update,
    programme_join,
    user_has_verified_email,
)
from advocacy.stripe_status import stripe_connect_status
from kernel.errors import ServiceError
from kernel.money import format_money, minor_to_decimal
from referrals import selectors as referral_selectors
from referrals.models import Commission, Order
from referrals.stripe.connect import (
    EXPRESS_COUNTRIES,
    stripe_connect_available,
    stripe_connect_onboarding_url,
    stripe_connect_refresh,
)

PAYOUTS_PER_PAGE = 25
# Pages whose form leads on to Stripe's onboarding: the POST answers with a redirect there, which
# the browser only follows when the page's form-action allows Stripe's origin.
STRIPE_ONBOARDING_ORIGIN = {"form-action": ["https://connect.stripe.com"]}


@require_http_methods(["GET", "POST"])
def programme_join_view(request, slug: str):
    programme = get_object_or_404(Programme, slug=slug)
    context = {
        "programme": programme,
        "offer": offer_summary(programme),
        "form": JoinForm(),
    }
    if not request.user.is_authenticated:
        return render(request, "advocacy/join.html", context)
    context["email_verified"] = user_has_verified_email(request.user)
    context["advocate"] = Advocate.objects.filter(user=request.user, programme=programme).first()
    if request.method == "GET":
        return render(request, "advocacy/join.html", context)

    form = JoinForm(request.POST)
    context["form"] = form
    if not form.is_valid():
        return render(request, "advocacy/join.html", context, status=400)
    try:
        programme_join(user=request.user, programme=programme, accept_terms=True)
    except ServiceError as exc:
        form.add_error(None, exc.message)
        return render(request, "advocacy/join.html", context, status=400)
    messages.success(request, f"Welcome to {programme.name}! Your code is ready to share.")
    return redirect("dashboard")


def _share_links(url: str, text: str) -> list[dict]:
    u, t = quote(url, safe=""), quote(text, safe="")
    return [
        {"name": "WhatsApp", "href": f"https://wa.me/?text={t}%20{u}"},
        {"name": "X", "href": f"https://x.com/intent/post?text={t}&url={u}"},
        {"name": "Facebook", "href": f"https://www.facebook.com/sharer/sharer.php?u={u}"},
        {"name": "LinkedIn", "href": f"https://www.linkedin.com/sharing/share-offsite/?url={u}"},
        {"name": "Email", "href": f"mailto:?subject={t}&body={u}"},
    ]


def _selected_advocacy(request) -> tuple[Advocate | None, list[Advocate]]:
    """The user's membership picked by ?programme=<slug> (else their first), and all of them.

    The only way these pages find an advocate: a slug that isn't one of the user's own
    memberships falls back to their first, so nobody can reach someone else's data by URL.
    """
    advocacies = advocacies_for_user(request.user)
    if not advocacies:
        return None, []
    slug = request.GET.get("programme")
    return next((a for a in advocacies if a.programme.slug == slug), advocacies[0]), advocacies


def _programme_query(advocate: Advocate) -> str:
    """The query string that keeps the selected programme on links between these pages."""
    return "?programme=" + quote(advocate.programme.slug, safe="")


# The dashboard's repeated cells (the chart's twelve weeks, the recent referrals) are formatted
# here rather than with template filters: the same text, at a fraction of the template's cost.
COMMISSION_WHEN = {
    Commission.Status.APPROVED: "In the next payout",
    Commission.Status.PAID: "Paid to you",
    Commission.Status.REVERSED: "Order refunded or disputed",
}


def _weekly_chart(weekly: list[tuple], currency: str) -> list[dict]:
    top = max((total for _, total in weekly), default=0)
    return [
        {
            "week": week,
            "total": total,
            "height": round(100 * total / top) if top else 0,
            "label": date_format(week, "j M"),
            "label_long": date_format(week, "j F"),
            "amount": format_money(total, currency),
        }
        for week, total in weekly
    ]


def _day(moment) -> str:
    # As the template's |date filter: in the current time zone. (dateformat.format is what
    # the filter ends in, without its look-up of named formats.)
    return date_format(timezone.localtime(moment), "j M Y")


def _recent_rows(referrals: list) -> list[dict]:
    """A row per commission of each recent order (the order's own cells on its first row only),
    or one row for an order without a commission."""
    rows = []
    for referral in referrals:
        order_cells = {
            "date": _day(referral.placed_at),
            "code": referral.code,
            "net": format_money(referral.net_amount, referral.currency),
        }
        if not referral.commissions:
            rows.append({**order_cells, "commission": None})
            continue
        order_cells["order_status"] = (
            referral.status_label if referral.status != Order.Status.PAID else ""
        )
        for i, commission in enumerate(referral.commissions):
            cells = order_cells if i == 0 else dict.fromkeys(order_cells, "")
            if commission.status == Commission.Status.PENDING:
                when = f"Held until {_day(commission.hold_until)}"
            else:
                when = COMMISSION_WHEN.get(commission.status, "Not eligible")
            rows.append(
                {
                    **cells,
                    "commission": commission,
                    "amount": format_money(commission.amount, commission.currency),
                    "status_label": commission.status_label,
                    "when": when,
                }
            )
    return rows


@login_required
def dashboard(request):
    advocate, advocacies = _selected_advocacy(request)
    if advocate is None:
        return render(request, "advocacy/dashboard_empty.html", {})
    programme = advocate.programme
    codes = referral_selectors.advocate_codes(advocate)
    primary = codes[0] if codes else None
    share_url = primary.get_share_url() if primary else ""
    offer = offer_summary(programme)
    stats, balance = referral_selectors.advocate_overview(advocate)
    weekly = _weekly_chart(referral_selectors.advocate_weekly_earnings(advocate), stats.currency)
    best_week = max((week["total"] for week in weekly), default=0)
    context = {
        "advocacies": advocacies,
        "advocate": advocate,
        "programme": programme,
        "codes": codes,
        "primary": primary,
        "share_url": share_url,
        "share_links": _share_links(share_url, f"{offer} at {programme.name} with my code")
        if primary
        else [],
        "qr_svg": qr_svg(share_url).decode() if primary else "",
        "stats": stats,
        "balance": balance,
        "payout_details": payout_details_summary(advocate),
        "stripe": stripe_connect_status(advocate),
        "programme_query": _programme_query(advocate),
        "recent": _recent_rows(referral_selectors.advocate_recent_referrals(advocate)),
        "weekly": weekly,
        "best_week": format_money(best_week, stats.currency) if best_week else "",
        "offer": offer,
    }
    return render(request, "advocacy/dashboard.html", context)


@login_required
def qr_download(request, code: str):
    rep = repcode_for_user(request.user, code)
    if rep is None:
        raise Http404("No such code.")
    response = HttpResponse(qr_svg(rep.get_share_url(), scale=10), content_type="image/svg+xml")
    response["Content-Disposition"] = f'attachment; filename="streetteam-{rep.code}.svg"'
    return response


@login_required
@require_GET
def payout_history(request):
    advocate, advocacies = _selected_advocacy(request)
    if advocate is None:
        return redirect("dashboard")
    paginator = Paginator(referral_selectors.advocate_payouts(advocate), PAYOUTS_PER_PAGE)
    context = {
        "advocacies": advocacies,
        "advocate": advocate,
        "programme": advocate.programme,
        "programme_query": _programme_query(advocate),
        "balance": referral_selectors.advocate_balance(advocate),
        "payout_details": payout_details_summary(advocate),
        "page": paginator.get_page(request.GET.get("page")),
    }
    return render(request, "advocacy/payouts.html", context)


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
    advocate, advocacies = _selected_advocacy(request)
    if advocate is None:
        return redirect("dashboard")
    current = payout_details_summary(advocate)
    masked_iban = current.destination if current.method == Advocate.PayoutMethod.BANK else ""
    context = {
        "advocacies": advocacies,
        "advocate": advocate,
        "programme": advocate.programme,
        "programme_query": _programme_query(advocate),
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
        return render(request, "advocacy/payout_settings.html", {**context, "form": form})

    form = PayoutDetailsForm(request.POST, masked_iban=masked_iban)
    context["form"] = form
    if not form.is_valid():
        return render(request, "advocacy/payout_settings.html", context, status=400)
    before = (advocate.payout_method, advocate.payout_details)
    try:
        updated = advocate_payout_details_update(advocate=advocate, **form.service_kwargs())
    except ServiceError as exc:
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        return render(request, "advocacy/payout_settings.html", context, status=400)
    if (updated.payout_method, updated.payout_details) == before:
        messages.info(request, "Nothing changed: your payout details are as they were.")
    else:
        messages.success(
            request,
            f"Your payout details are saved. We have emailed {request.user.email} to confirm "
            "the change.",
        )
    return redirect(reverse("payout_settings") + _programme_query(advocate))


def _stripe_context(advocate: Advocate) -> dict:
    return {
        "stripe": stripe_connect_status(advocate),
        "stripe_available": stripe_connect_available(),
        "stripe_countries": sorted(EXPRESS_COUNTRIES.items(), key=lambda item: item[1]),
    }


def _absolute(name: str, advocate: Advocate) -> str:
    """A URL of ours for Stripe to send the advocate back to (Stripe needs it absolute)."""
    return settings.SITE_URL + reverse(name) + _programme_query(advocate)


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
        return redirect(reverse("payout_settings") + _programme_query(advocate))
    return redirect(url)


@login_required
@reauthentication_required(enabled=lambda request: not _signed_in_recently(request))
@require_POST
def stripe_connect_start(request):
    """ "Set up payouts with Stripe": make the Express account on first use (the country is
    asked then), and send the advocate to Stripe's onboarding. Behind recent authentication,
    like the payout details: it changes where the money goes."""
    advocate, _ = _selected_advocacy(request)
    if advocate is None:
        return redirect("dashboard")
    return _to_stripe_onboarding(request, advocate, country=request.POST.get("country", ""))


@login_required
@reauthentication_required(enabled=lambda request: not _signed_in_recently(request))
@require_GET
def stripe_connect_refresh_view(request):
    """Stripe sends the advocate here when their onboarding link expired or was used: as
    Stripe asks, make a new link for the same account and go straight back."""
    advocate, _ = _selected_advocacy(request)
    if advocate is None:
        return redirect("dashboard")
    if not advocate.stripe_account_id:
        return redirect(reverse("payout_settings") + _programme_query(advocate))
    return _to_stripe_onboarding(request, advocate)


@login_required
@require_GET
@never_cache
@csp_update(STRIPE_ONBOARDING_ORIGIN)
def stripe_connect_return(request):
    """Back from Stripe's onboarding: read the account now (the webhook may come later) and
    say where the advocate stands."""
    advocate, advocacies = _selected_advocacy(request)
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
        "programme_query": _programme_query(advocate),
        **_stripe_context(advocate),
    }
    return render(request, "advocacy/stripe_connect_return.html", context)


class _Echo:
    """A file-like object whose write() hands back the line, for streaming csv.writer output."""

    def write(self, value: str) -> str:
        return value


def _csv_safe(text: str) -> str:
    """Text a spreadsheet won't run as a formula (order ids come from the merchant's store)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


COMMISSION_CSV_HEADER = [
    "date",
    "order_id",
    "order_net_amount",
    "commission",
    "currency",
    "status",
    "held_until",
]


def _commission_csv_lines(rows):
    writer = csv.writer(_Echo())
    yield writer.writerow(COMMISSION_CSV_HEADER)
    for placed_at, order_id, net, amount, currency, status, hold_until in rows:
        yield writer.writerow(
            [
                timezone.localtime(placed_at).date().isoformat(),
                _csv_safe(order_id),
                minor_to_decimal(net, currency),
                minor_to_decimal(amount, currency),
                currency,
                status,
                timezone.localtime(hold_until).date().isoformat(),
            ]
        )


@login_required
@require_GET
def commissions_csv(request):
    """The advocate's own commissions in the selected programme, streamed as CSV."""
    advocate, _ = _selected_advocacy(request)
    if advocate is None:
        raise Http404("You haven't joined a programme yet.")
    rows = referral_selectors.advocate_commissions_export(advocate)
    response = StreamingHttpResponse(
        _commission_csv_lines(rows), content_type="text/csv; charset=utf-8"
    )
    filename = (
        f"streetteam-{advocate.programme.slug}-commissions-{timezone.localdate():%Y-%m-%d}.csv"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response
