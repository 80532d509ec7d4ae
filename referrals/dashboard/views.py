"""The advocate's dashboard: figures, codes and share links, recent referrals, payout history
and the commissions export.

Every query is scoped to request.user: an advocate only ever reaches their own memberships
(`advocacies_for_user`), and everything else is read through one of them."""

import csv
from urllib.parse import quote

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.views.decorators.http import require_GET

from advocacy.models import Advocate
from advocacy.offers import offer_summary
from advocacy.payout_details import payout_details_summary
from advocacy.qr import qr_svg
from advocacy.selectors import advocacies_for_user, repcode_for_user
from advocacy.stripe_status import stripe_connect_status
from kernel.money import format_money, minor_to_decimal
from kernel.spreadsheet import spreadsheet_safe
from referrals import selectors as referral_selectors
from referrals.models import Commission, Order

PAYOUTS_PER_PAGE = 25


def _share_links(url: str, text: str) -> list[dict]:
    u, t = quote(url, safe=""), quote(text, safe="")
    return [
        {"name": "WhatsApp", "href": f"https://wa.me/?text={t}%20{u}"},
        {"name": "X", "href": f"https://x.com/intent/post?text={t}&url={u}"},
        {"name": "Facebook", "href": f"https://www.facebook.com/sharer/sharer.php?u={u}"},
        {"name": "LinkedIn", "href": f"https://www.linkedin.com/sharing/share-offsite/?url={u}"},
        {"name": "Email", "href": f"mailto:?subject={t}&body={u}"},
    ]


def selected_advocacy(request) -> tuple[Advocate | None, list[Advocate]]:
    """The user's membership picked by ?programme=<slug> (else their first), and all of them.

    The only way these pages find an advocate: a slug that isn't one of the user's own
    memberships falls back to their first, so nobody can reach someone else's data by URL.
    """
    advocacies = advocacies_for_user(request.user)
    if not advocacies:
        return None, []
    slug = request.GET.get("programme")
    return next((a for a in advocacies if a.programme.slug == slug), advocacies[0]), advocacies


def programme_query(advocate: Advocate) -> str:
    """The query string that keeps the selected programme on links between these pages."""
    return "?programme=" + quote(advocate.programme.slug, safe="")


# The dashboard's repeated cells (the chart's twelve weeks, the recent referrals) are formatted
# here rather than with template filters: the same text, at a fraction of the template's cost.
COMMISSION_WHEN = {
    Commission.Status.APPROVED: "In the next payout",
    Commission.Status.PAID: "Paid to you",
}


def commission_when(commission) -> str:
    """What an advocate reads beside a commission's status: when it is paid, or why not."""
    status = commission.status
    if status == Commission.Status.PENDING:
        return f"Held until {_day(commission.hold_until)}"
    if status == Commission.Status.REVERSED:
        reason = commission.reason.lower()
        if reason.startswith("refund"):
            return "Taken back: the order was refunded"
        if reason.startswith("dispute"):
            return "Taken back: the payment was disputed"
        return "Taken back: the order was refunded or disputed"
    if status == Commission.Status.REJECTED:
        # The manager's words, as written: they are addressed to the advocate too.
        reason = commission.reason.strip()
        return f"Not approved: {reason}" if reason else "Not approved by the programme"
    return COMMISSION_WHEN.get(status, "")


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
            when = commission_when(commission)
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
    advocate, advocacies = selected_advocacy(request)
    if advocate is None:
        return render(request, "dashboard/dashboard_empty.html", {})
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
        "programme_query": programme_query(advocate),
        "recent": _recent_rows(referral_selectors.advocate_recent_referrals(advocate)),
        "weekly": weekly,
        "best_week": format_money(best_week, stats.currency) if best_week else "",
        "offer": offer,
    }
    return render(request, "dashboard/dashboard.html", context)


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
    advocate, advocacies = selected_advocacy(request)
    if advocate is None:
        return redirect("dashboard")
    paginator = Paginator(referral_selectors.advocate_payouts(advocate), PAYOUTS_PER_PAGE)
    context = {
        "advocacies": advocacies,
        "advocate": advocate,
        "programme": advocate.programme,
        "programme_query": programme_query(advocate),
        "balance": referral_selectors.advocate_balance(advocate),
        "payout_details": payout_details_summary(advocate),
        "page": paginator.get_page(request.GET.get("page")),
        "adjustments": referral_selectors.advocate_adjustments(advocate),
    }
    return render(request, "dashboard/payouts.html", context)


class _Echo:
    """A file-like object whose write() hands back the line, for streaming csv.writer output."""

    def write(self, value: str) -> str:
        return value


def _csv_safe(text: str) -> str:
    """Text a spreadsheet won't run as a formula (order ids come from the merchant's store)."""
    return spreadsheet_safe(text)


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
    advocate, _ = selected_advocacy(request)
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
