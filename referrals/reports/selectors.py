"""Reads for the manager's overview and the programme reports.

Every figure is for one programme (one currency) over a period of whole UTC days, the days
`ClickDaily` counts in. Each selector is a fixed number of grouped queries whatever the volume:
clicks come from the daily roll-up, orders and commissions from one GROUP BY each, and nothing
loops over rows in Python except to merge a few grouped results.

Definitions, the same on every screen:

- referred order: an order of the programme that came with one of its codes (typed, link,
  account or metadata), placed in the period, in the programme's currency; orders flagged as
  earning nothing (self-referral...) still count, their discount was still given;
- referred revenue: those orders' net amount (after the shopper's discount, before refunds);
- discount cost: their discount amount;
- commission cost: what their commissions credited advocates, net of reversals (the ledger's
  earned and reversed entries), so a partial refund lowers it by what it reversed;
- return on commissions: referred revenue / (commission cost + discount cost).
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, F, Q, QuerySet, Sum, Value
from django.db.models.functions import TruncDate, TruncWeek
from django.utils import timezone

from advocacy.models import Programme
from referrals.ledger_selectors import payable_balances
from referrals.models import Attribution, ClickDaily, Commission, LedgerEntry, Order
from referrals.payouts.selectors import NOT_PAYABLE

# Longer periods are charted by ISO week (Monday first) rather than by day.
DAILY_UP_TO_DAYS = 62
TOP_ADVOCATES = 5
COST_KINDS = (LedgerEntry.Kind.EARNED, LedgerEntry.Kind.REVERSED)


@dataclass(frozen=True)
class Period:
    """Whole UTC days from `start` to `end`, both included."""

    start: date
    end: date

    @classmethod
    def last_days(cls, days: int, *, today: date | None = None) -> "Period":
        today = today or timezone.now().date()
        return cls(start=today - timedelta(days=days - 1), end=today)

    @property
    def start_at(self) -> datetime:
        return datetime.combine(self.start, time.min, tzinfo=UTC)

    @property
    def end_at(self) -> datetime:
        """The first moment after the period (exclusive bound)."""
        return datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=UTC)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def by_week(self) -> bool:
        return self.days > DAILY_UP_TO_DAYS

    def buckets(self) -> list[date]:
        """The first day of every bucket of the chart: each day, or each week's Monday."""
        if not self.by_week:
            return [self.start + timedelta(days=n) for n in range(self.days)]
        monday = self.start - timedelta(days=self.start.weekday())
        return [monday + timedelta(weeks=n) for n in range((self.end - monday).days // 7 + 1)]


def ratio(numerator: int, denominator: int, places: int = 1) -> Decimal | None:
    """numerator / denominator rounded half-up, or None when there is nothing to divide by."""
    if not denominator:
        return None
    exponent = Decimal(1).scaleb(-places)
    return (Decimal(numerator) / Decimal(denominator)).quantize(exponent, ROUND_HALF_UP)


@dataclass(frozen=True)
class Totals:
    """Clicks, referred orders and their money, for one programme or one row of a report."""

    clicks: int = 0
    orders: int = 0
    revenue: int = 0
    discounts: int = 0
    commissions: int = 0

    @property
    def cost(self) -> int:
        return self.commissions + self.discounts

    @property
    def conversion_percent(self) -> Decimal | None:
        return ratio(100 * self.orders, self.clicks)

    @property
    def cost_per_order(self) -> int | None:
        """Commission and discount cost per referred order, in minor units rounded half-up."""
        per_order = ratio(self.cost, self.orders, places=0)
        return None if per_order is None else int(per_order)

    @property
    def return_on_cost(self) -> Decimal | None:
        """Referred revenue for each unit spent on commissions and discounts (4.2 = "4.2×")."""
        return ratio(self.revenue, self.cost)


@dataclass(frozen=True)
class StatusFigure:
    count: int = 0
    amount: int = 0


@dataclass(frozen=True)
class SeriesPoint:
    day: date  # the bucket's first day
    clicks: int = 0
    orders: int = 0
    revenue: int = 0
    discounts: int = 0
    commissions: int = 0


@dataclass(frozen=True)
class AdvocateRow:
    advocate_id: int
    email: str
    totals: Totals


@dataclass(frozen=True)
class Overview:
    programme: Programme
    period: Period
    totals: Totals
    # "held" (pending, hold running or frozen), "ready" (pending, hold over, not frozen),
    # "approved", "paid", "reversed" (reversed or rejected).
    commissions: dict[str, StatusFigure]
    due_advocates: int
    due_amount: int
    top_advocates: list[AdvocateRow]
    series: list[SeriesPoint] = field(default_factory=list)
    # What the review queue holds now, whatever the period: a sale's hold ends weeks after it.
    ready_now: StatusFigure = field(default_factory=lambda: StatusFigure())

    @property
    def currency(self) -> str:
        return self.programme.currency


def referred_orders(programme: Programme, period: Period) -> QuerySet[Order]:
    return Order.objects.filter(
        programme=programme,
        currency=programme.currency,
        rep_code__isnull=False,
        placed_at__gte=period.start_at,
        placed_at__lt=period.end_at,
    ).exclude(attribution=Attribution.NONE)


def _period_commissions(programme: Programme, period: Period) -> QuerySet[Commission]:
    return Commission.objects.filter(
        order__in=referred_orders(programme, period).values("pk"), currency=programme.currency
    )


def _period_cost_entries(programme: Programme, period: Period) -> QuerySet[LedgerEntry]:
    return LedgerEntry.objects.filter(
        commission__in=_period_commissions(programme, period).values("pk"),
        currency=programme.currency,
        kind__in=COST_KINDS,
    )


def _period_costs(programme: Programme, period: Period, group) -> dict:
    """Commission cost (earned minus reversed, in the programme's currency) of the period's
    referred orders, grouped by `group(prefix)`: an expression over the commission (prefix "")
    or its ledger entry (prefix "commission__"). Two grouped queries: each commission's earned
    entry is its stored amount (written once, with the commission), so the earned side reads
    commissions joined to orders, and only the few reversal entries are read from the ledger;
    the same figure as summing `_period_cost_entries`, without joining the whole ledger."""
    earned = (
        _period_commissions(programme, period)
        .annotate(key=group(""))
        .values("key")
        .annotate(total=Sum("amount"))
        .order_by()
        .values_list("key", "total")
    )
    reversed_ = (
        LedgerEntry.objects.filter(
            kind=LedgerEntry.Kind.REVERSED,
            currency=programme.currency,
            commission__in=_period_commissions(programme, period).values("pk"),
        )
        .annotate(key=group("commission__"))
        .values("key")
        .annotate(total=Sum("amount"))
        .order_by()
        .values_list("key", "total")
    )
    costs: dict = {}
    for key, total in (*earned, *reversed_):
        costs[key] = costs.get(key, 0) + (total or 0)  # a constant key: one row, even empty
    return costs


def _period_clicks(programme: Programme, period: Period) -> QuerySet[ClickDaily]:
    return ClickDaily.objects.filter(
        advocate__programme=programme, day__gte=period.start, day__lte=period.end
    )


def programme_totals(programme: Programme, period: Period) -> Totals:
    """The programme's clicks, referred orders, revenue and costs over the period: 4 queries."""
    clicks = _period_clicks(programme, period).aggregate(n=Sum("clicks", default=0))["n"]
    orders = referred_orders(programme, period).aggregate(
        orders=Count("pk"),
        revenue=Sum("net_amount", default=0),
        discounts=Sum("discount_amount", default=0),
    )
    commissions = sum(_period_costs(programme, period, lambda prefix: Value(0)).values())
    return Totals(clicks=clicks, commissions=commissions, **orders)


def commission_status_figures(
    programme: Programme, period: Period, *, now: datetime | None = None
) -> dict[str, StatusFigure]:
    """The period's commissions by where they stand today, count and amount earned: 1 query."""
    now = now or timezone.now()
    pending = Q(status=Commission.Status.PENDING)
    ready = pending & Q(hold_until__lte=now, frozen=False)
    buckets = {
        "held": pending & ~ready,
        "ready": ready,
        "approved": Q(status=Commission.Status.APPROVED),
        "paid": Q(status=Commission.Status.PAID),
        "reversed": Q(status__in=[Commission.Status.REVERSED, Commission.Status.REJECTED]),
    }
    aggregates = {}
    for name, condition in buckets.items():
        aggregates[f"{name}_count"] = Count("pk", filter=condition)
        aggregates[f"{name}_amount"] = Sum("amount", filter=condition, default=0)
    row = _period_commissions(programme, period).aggregate(**aggregates)
    return {
        name: StatusFigure(count=row[f"{name}_count"], amount=row[f"{name}_amount"])
        for name in buckets
    }


def ready_for_review_now(programme: Programme, *, now: datetime | None = None) -> StatusFigure:
    """The programme's commissions a manager can decide today (pending, hold over, not
    frozen), whenever their orders were placed: 1 query."""
    row = Commission.objects.filter(
        order__programme=programme,
        currency=programme.currency,
        status=Commission.Status.PENDING,
        hold_until__lte=now or timezone.now(),
        frozen=False,
    ).aggregate(count=Count("pk"), amount=Sum("amount", default=0))
    return StatusFigure(count=row["count"], amount=row["amount"])


def due_next_payout(programme: Programme) -> tuple[int, int]:
    """(advocates, amount) a payout batch built now would pay: payable balances at or above the
    programme's threshold of advocates who are not paused or banned (as the build decides). Today's
    figure, whatever the period: 1 query."""
    threshold = max(programme.payout_threshold, 1)
    balances = (
        payable_balances(programme_id=programme.pk, currency=programme.currency)
        .exclude(advocate__status__in=NOT_PAYABLE)
        .filter(total__gte=threshold)
    )
    row = balances.aggregate(advocates=Count("advocate_id"), amount=Sum("total", default=0))
    return row["advocates"], row["amount"]


def advocate_rows(
    programme: Programme, period: Period, *, limit: int | None = None
) -> list[AdvocateRow]:
    """Every advocate with a click or a referred order in the period, highest referred revenue
    first (then most orders, most clicks, email): 4 grouped queries, plus 1 for the emails."""
    orders = {
        row["advocate_id"]: row
        for row in referred_orders(programme, period)
        .filter(advocate__isnull=False)
        .values("advocate_id")
        .annotate(
            orders=Count("pk"),
            revenue=Sum("net_amount"),
            discounts=Sum("discount_amount"),
        )
        .order_by()
    }
    clicks = dict(
        _period_clicks(programme, period)
        .values("advocate_id")
        .annotate(n=Sum("clicks"))
        .order_by()
        .values_list("advocate_id", "n")
    )
    commissions = _period_costs(programme, period, lambda prefix: F("advocate_id"))
    ids = set(orders) | set(clicks)
    emails = dict(
        programme.advocates.filter(pk__in=ids).values_list("pk", "user__email").order_by()
    )
    rows = []
    for advocate_id in ids:
        row = orders.get(advocate_id, {})
        totals = Totals(
            clicks=clicks.get(advocate_id, 0),
            orders=row.get("orders", 0),
            revenue=row.get("revenue", 0),
            discounts=row.get("discounts", 0),
            commissions=commissions.get(advocate_id, 0),
        )
        rows.append(AdvocateRow(advocate_id, emails.get(advocate_id, ""), totals))
    rows.sort(key=lambda r: (-r.totals.revenue, -r.totals.orders, -r.totals.clicks, r.email))
    return rows[:limit] if limit else rows


def _series_maps(programme: Programme, period: Period) -> tuple[dict, dict, dict]:
    """bucket -> orders row, bucket -> clicks, bucket -> commission cost: 4 grouped queries."""
    if period.by_week:
        order_bucket, click_bucket = TruncWeek("placed_at", tzinfo=UTC), TruncWeek("day")
        trunc = TruncWeek
    else:
        order_bucket, click_bucket = TruncDate("placed_at", tzinfo=UTC), F("day")
        trunc = TruncDate
    orders = {
        _as_date(row["bucket"]): row
        for row in referred_orders(programme, period)
        .annotate(bucket=order_bucket)
        .values("bucket")
        .annotate(
            orders=Count("pk"),
            revenue=Sum("net_amount"),
            discounts=Sum("discount_amount"),
        )
        .order_by()
    }
    clicks = {
        _as_date(bucket): n
        for bucket, n in _period_clicks(programme, period)
        .annotate(bucket=click_bucket)
        .values("bucket")
        .annotate(n=Sum("clicks"))
        .order_by()
        .values_list("bucket", "n")
    }
    by_bucket = _period_costs(
        programme, period, lambda prefix: trunc(f"{prefix}order__placed_at", tzinfo=UTC)
    )
    costs = {_as_date(bucket): total for bucket, total in by_bucket.items()}
    return orders, clicks, costs


def _points(period: Period, orders: dict, clicks: dict, costs: dict) -> list[SeriesPoint]:
    points = []
    for day in period.buckets():
        row = orders.get(day, {})
        points.append(
            SeriesPoint(
                day=day,
                clicks=clicks.get(day, 0),
                orders=row.get("orders", 0),
                revenue=row.get("revenue", 0),
                discounts=row.get("discounts", 0),
                commissions=costs.get(day, 0),
            )
        )
    return points


def _totals_of(orders: dict, clicks: dict, costs: dict) -> Totals:
    """The period's totals from its buckets: the same rows as programme_totals, without
    reading them a second time (every row of the period falls in one bucket)."""
    return Totals(
        clicks=sum(clicks.values()),
        orders=sum(row["orders"] for row in orders.values()),
        revenue=sum(row["revenue"] for row in orders.values()),
        discounts=sum(row["discounts"] for row in orders.values()),
        commissions=sum(costs.values()),
    )


def series(programme: Programme, period: Period) -> list[SeriesPoint]:
    """Clicks, referred orders, revenue, discounts and commissions per day (per week over
    long periods), every bucket present: 3 grouped queries."""
    return _points(period, *_series_maps(programme, period))


def _as_date(value) -> date:
    return value.date() if isinstance(value, datetime) else value


def overview(programme: Programme, period: Period, *, now: datetime | None = None) -> Overview:
    """Everything the admin home shows for a programme and period: 12 queries. The totals are
    summed from the chart's buckets rather than read again."""
    due_advocates, due_amount = due_next_payout(programme)
    maps = _series_maps(programme, period)
    return Overview(
        programme=programme,
        period=period,
        totals=_totals_of(*maps),
        commissions=commission_status_figures(programme, period, now=now),
        due_advocates=due_advocates,
        due_amount=due_amount,
        top_advocates=advocate_rows(programme, period, limit=TOP_ADVOCATES),
        series=_points(period, *maps),
        ready_now=ready_for_review_now(programme, now=now),
    )


# ------------------------------------------------------------------------------
# The reports


@dataclass(frozen=True)
class FunnelStep:
    label: str
    count: int
    amount: int | None  # None: a step without money (clicks)


def funnel(programme: Programme, period: Period) -> list[FunnelStep]:
    """Clicks -> referred orders (revenue) -> commissions approved (approved or since paid) ->
    commissions paid: 3 queries."""
    totals = programme_totals(programme, period)
    statuses = commission_status_figures(programme, period)
    approved = StatusFigure(
        count=statuses["approved"].count + statuses["paid"].count,
        amount=statuses["approved"].amount + statuses["paid"].amount,
    )
    return [
        FunnelStep("Link clicks", totals.clicks, None),
        FunnelStep("Referred orders", totals.orders, totals.revenue),
        FunnelStep("Commissions approved", approved.count, approved.amount),
        FunnelStep("Commissions paid", statuses["paid"].count, statuses["paid"].amount),
    ]


@dataclass(frozen=True)
class CodeRow:
    code: str
    label: str  # the code's own channel label, "" if none
    channel: str  # how the orders came: link, typed code, Stripe promotion code...
    totals: Totals


def _channel(attribution: str, source: str) -> str:
    if attribution == Attribution.CODE and source == Order.Source.STRIPE:
        return "Stripe promotion code"
    return {
        Attribution.CODE: "Code typed at checkout",
        Attribution.LINK: "Referral link",
        Attribution.ACCOUNT: "Account referred at signup",
        Attribution.METADATA: "Order metadata",
    }.get(attribution, "Referral link")


def code_rows(programme: Programme, period: Period) -> list[CodeRow]:
    """One row per code and channel, highest revenue first. A code's clicks are link visits, so
    they sit on its "Referral link" row: 3 grouped queries."""
    orders = (
        referred_orders(programme, period)
        .values("rep_code_id", "rep_code__code", "rep_code__channel", "attribution", "source")
        .annotate(
            orders=Count("pk"),
            revenue=Sum("net_amount"),
            discounts=Sum("discount_amount"),
        )
        .order_by()
    )
    costs = {}
    for row in (
        _period_cost_entries(programme, period)
        .values(
            "commission__order__rep_code_id",
            "commission__order__attribution",
            "commission__order__source",
        )
        .annotate(total=Sum("amount"))
        .order_by()
    ):
        channel = _channel(row["commission__order__attribution"], row["commission__order__source"])
        key = (row["commission__order__rep_code_id"], channel)
        costs[key] = costs.get(key, 0) + row["total"]
    clicks = {
        row["rep_code_id"]: row
        for row in _period_clicks(programme, period)
        .values("rep_code_id", "rep_code__code", "rep_code__channel")
        .annotate(n=Sum("clicks"))
        .order_by()
    }
    merged: dict[tuple[int, str], dict] = {}
    for row in orders:
        channel = _channel(row["attribution"], row["source"])
        entry = merged.setdefault(
            (row["rep_code_id"], channel),
            {"code": row["rep_code__code"], "label": row["rep_code__channel"], "orders": 0,
             "revenue": 0, "discounts": 0},
        )  # fmt: skip
        entry["orders"] += row["orders"]
        entry["revenue"] += row["revenue"]
        entry["discounts"] += row["discounts"]
    link = _channel(Attribution.LINK, "")
    for code_id, row in clicks.items():
        merged.setdefault(
            (code_id, link),
            {"code": row["rep_code__code"], "label": row["rep_code__channel"], "orders": 0,
             "revenue": 0, "discounts": 0},
        )  # fmt: skip
    rows = []
    for (code_id, channel), entry in merged.items():
        totals = Totals(
            clicks=clicks[code_id]["n"] if channel == link and code_id in clicks else 0,
            orders=entry["orders"],
            revenue=entry["revenue"],
            discounts=entry["discounts"],
            commissions=costs.get((code_id, channel), 0),
        )
        rows.append(CodeRow(entry["code"], entry["label"], channel, totals))
    rows.sort(key=lambda r: (-r.totals.revenue, -r.totals.clicks, r.code, r.channel))
    return rows


@dataclass(frozen=True)
class AudienceRow:
    audience: str  # the label ("Customers")
    currency: str
    programmes: int
    totals: Totals


def audience_rows(period: Period) -> list[AudienceRow]:
    """Every programme's figures grouped by audience and currency (never summed across
    currencies), most revenue first: 4 grouped queries."""
    orders = (
        Order.objects.filter(
            programme__isnull=False,
            rep_code__isnull=False,
            currency=F("programme__currency"),
            placed_at__gte=period.start_at,
            placed_at__lt=period.end_at,
        )
        .exclude(attribution=Attribution.NONE)
        .values(audience=F("programme__audience"), cur=F("programme__currency"))
        .annotate(
            orders=Count("pk"),
            revenue=Sum("net_amount"),
            discounts=Sum("discount_amount"),
        )
        .order_by()
    )
    clicks = (
        ClickDaily.objects.filter(day__gte=period.start, day__lte=period.end)
        .values(
            audience=F("advocate__programme__audience"),
            cur=F("advocate__programme__currency"),
        )
        .annotate(n=Sum("clicks"))
        .order_by()
    )
    costs = (
        LedgerEntry.objects.filter(
            kind__in=COST_KINDS,
            commission__order__rep_code__isnull=False,
            commission__order__placed_at__gte=period.start_at,
            commission__order__placed_at__lt=period.end_at,
            currency=F("commission__order__programme__currency"),
        )
        .exclude(commission__order__attribution=Attribution.NONE)
        .values(
            audience=F("commission__order__programme__audience"),
            cur=F("commission__order__programme__currency"),
        )
        .annotate(total=Sum("amount"))
        .order_by()
    )
    programmes = (
        Programme.objects.values("audience", cur=F("currency")).annotate(n=Count("pk")).order_by()
    )
    merged: dict[tuple[str, str], dict] = {}

    def entry(row):
        return merged.setdefault((row["audience"], row["cur"]), {})

    for row in orders:
        entry(row).update(orders=row["orders"], revenue=row["revenue"], discounts=row["discounts"])
    for row in clicks:
        entry(row)["clicks"] = row["n"]
    for row in costs:
        entry(row)["commissions"] = row["total"]
    counts = {(row["audience"], row["cur"]): row["n"] for row in programmes}
    labels = dict(Programme.Audience.choices)
    rows = [
        AudienceRow(
            audience=str(labels.get(audience, audience)),
            currency=currency,
            programmes=counts.get((audience, currency), 0),
            totals=Totals(**figures),
        )
        for (audience, currency), figures in merged.items()
    ]
    rows.sort(key=lambda r: (r.currency, -r.totals.revenue, r.audience))
    return rows
