"""Read-only queries shared by views, the dashboard, the API and reports."""

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Q, Sum
from django.db.models.functions import TruncWeek
from django.utils import timezone

from advocacy.models import Advocate, Programme, RepCode
from advocacy.offers import offer_summary

from .cookies import referral_from_request
from .landing import landing_url
from .models import Click, Commission, Order
from .services.codes import repcode_find, repcode_unusable_reason


@dataclass(frozen=True)
class ReferralTarget:
    rep_code_id: int
    advocate_id: int
    code: str
    url: str
    window_days: int


def referral_target(code: str) -> ReferralTarget | None:
    """Where a click on /r/<code> goes, or None when the code can't be used (friendly 404)."""
    rep = repcode_find(code)
    if repcode_unusable_reason(rep) is not None:
        return None
    programme = rep.advocate.programme
    return ReferralTarget(
        rep_code_id=rep.pk,
        advocate_id=rep.advocate_id,
        code=rep.code,
        url=landing_url(programme, rep.code),
        window_days=programme.attribution_window_days,
    )


@dataclass(frozen=True)
class Greeting:
    code: str
    advocate_first_name: str
    offer: str
    programme: Programme


def referral_greeting(request, programme: Programme | None = None) -> Greeting | None:
    """Who referred the shopper looking at this page: from ?ref= first, then the cookie."""
    candidates = [request.GET.get("ref", "")]
    link = referral_from_request(request)
    if link:
        candidates.append(link.code)
    for candidate in candidates:
        rep = repcode_find(candidate) if candidate else None
        if repcode_unusable_reason(rep) is not None:
            continue
        if programme is not None and rep.advocate.programme_id != programme.pk:
            continue
        return Greeting(
            code=rep.code,
            advocate_first_name=rep.advocate.user.display_name,
            offer=offer_summary(rep.advocate.programme),
            programme=rep.advocate.programme,
        )
    return None


@dataclass(frozen=True)
class AdvocateStats:
    currency: str
    clicks: int
    orders: int
    pending: int
    approved: int
    paid: int
    reversed: int

    @property
    def conversion_percent(self) -> int:
        return round(100 * self.orders / self.clicks) if self.clicks else 0


def advocate_stats(advocate: Advocate) -> AdvocateStats:
    """The dashboard's numbers, in three queries whatever the volume."""
    clicks = Click.objects.filter(advocate=advocate).count()
    orders = Order.objects.filter(advocate=advocate).count()
    sums = Commission.objects.filter(advocate=advocate).aggregate(
        **{
            status: Sum("amount", filter=Q(status=status), default=0)
            for status in ("pending", "approved", "paid", "reversed")
        }
    )
    return AdvocateStats(currency=advocate.programme.currency, clicks=clicks, orders=orders, **sums)


def advocate_recent_referrals(advocate: Advocate, limit: int = 10) -> list[Order]:
    return list(
        Order.objects.filter(advocate=advocate)
        .select_related("rep_code")
        .prefetch_related("commissions")
        .order_by("-placed_at")[:limit]
    )


def advocate_weekly_earnings(advocate: Advocate, weeks: int = 12) -> list[tuple]:
    """(week start, commission total) by the week of the sale, for the last `weeks` weeks,
    empty weeks included; reversed and rejected commissions don't count."""
    now = timezone.now()
    start = (now - timedelta(weeks=weeks - 1)).date()
    start -= timedelta(days=start.weekday())
    rows = (
        Commission.objects.filter(advocate=advocate, order__placed_at__date__gte=start)
        .exclude(status__in=["reversed", "rejected"])
        .annotate(week=TruncWeek("order__placed_at"))
        .values("week")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    by_week = {row["week"].date(): row["total"] for row in rows}
    return [
        (start + timedelta(weeks=i), by_week.get(start + timedelta(weeks=i), 0))
        for i in range(weeks)
    ]


def advocate_codes(advocate: Advocate) -> list[RepCode]:
    return list(advocate.codes.filter(is_active=True).order_by("created_at"))
