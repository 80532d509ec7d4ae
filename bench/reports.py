"""The manager's overview and the by-advocate report at 1M clicks and 100k orders.

Both over the last 365 days of the base programme, so they read all of datagen.dashboard_data
(1M clicks as their daily counts, 100k referred orders, their commissions and ledger entries),
charted by week. Timed in-process, the selectors only (the queries and the merging of their
rows; no template), in alternation with their baselines, and each figure is the median of the
rounds.

Baselines: what any figure over the same rows costs at least on this database:
- overview: one COUNT and SUM over the period's orders of the programme, and one SUM over its
  clicks' daily counts (2 queries);
- by advocate: one GROUP BY advocate over the same orders (1 query).
The run checks that ours and the baseline agree on the orders, the revenue and the clicks.
"""

import statistics
import time
from collections.abc import Callable

from django.db.models import Count, Sum

from advocacy.models import Programme
from referrals.models import ClickDaily, Order
from referrals.reports import selectors
from referrals.reports.selectors import Period

from .datagen import BaseData
from .report import Figure, Target

ROUNDS = 10
WARMUP = 2
OVERVIEW_MS = 500.0
ADVOCATES_MS = 1000.0
DAYS = 365


def _baseline_overview(programme: Programme, period: Period) -> tuple[int, int, int]:
    orders = Order.objects.filter(
        programme=programme, placed_at__gte=period.start_at, placed_at__lt=period.end_at
    ).aggregate(n=Count("pk"), revenue=Sum("net_amount", default=0))
    clicks = ClickDaily.objects.filter(
        advocate__programme=programme, day__gte=period.start, day__lte=period.end
    ).aggregate(n=Sum("clicks", default=0))["n"]
    return orders["n"], orders["revenue"], clicks


def _baseline_advocates(programme: Programme, period: Period) -> list:
    return list(
        Order.objects.filter(
            programme=programme, placed_at__gte=period.start_at, placed_at__lt=period.end_at
        )
        .values("advocate_id")
        .annotate(n=Count("pk"), revenue=Sum("net_amount"))
        .order_by()
    )


def _timed(fn: Callable[[], object], samples: list[float]) -> None:
    started = time.perf_counter()
    fn()
    samples.append((time.perf_counter() - started) * 1000)


def _alternate(ours, baseline, *, rounds: int, warmup: int) -> tuple[float, float]:
    for _ in range(warmup):
        ours()
        baseline()
    ours_ms, base_ms = [], []
    for n in range(rounds):
        pair = ((ours, ours_ms), (baseline, base_ms))
        for fn, samples in pair if n % 2 == 0 else reversed(pair):
            _timed(fn, samples)
    return statistics.median(ours_ms), statistics.median(base_ms)


def report_figures(
    base: BaseData,
    progress: Callable[[str], None],
    *,
    rounds: int = ROUNDS,
    warmup: int = WARMUP,
    days: int = DAYS,
) -> list[Figure]:
    programme = Programme.objects.get(pk=base.programme_id)
    period = Period.last_days(days)

    overview = selectors.overview(programme, period)
    orders, revenue, clicks = _baseline_overview(programme, period)
    totals = overview.totals
    if (totals.orders, totals.revenue, totals.clicks) != (orders, revenue, clicks):
        raise AssertionError(
            f"the overview counted {totals.orders} orders, {totals.revenue} revenue and "
            f"{totals.clicks} clicks; the plain aggregates {orders}, {revenue} and {clicks}"
        )
    rows = selectors.advocate_rows(programme, period)
    if sum(row.totals.revenue for row in rows) != revenue:
        raise AssertionError("the by-advocate report's revenue doesn't add up to the total")
    progress(
        f"over {days} days: {totals.orders:,} referred orders, {totals.clicks:,} clicks, "
        f"{len(rows):,} advocates; ours and the plain aggregates agree"
    )

    # Where the overview's time goes, part by part (one call each, after a warm-up).
    parts = {
        "totals": lambda: selectors.programme_totals(programme, period),
        "commissions by standing": lambda: selectors.commission_status_figures(programme, period),
        "due in the next payout": lambda: selectors.due_next_payout(programme),
        "top advocates": lambda: selectors.advocate_rows(programme, period, limit=5),
        "chart": lambda: selectors.series(programme, period),
    }
    spent = []
    for name, part in parts.items():
        part()
        _timed(part, samples := [])
        spent.append(f"{name} {samples[0]:.0f} ms")
    progress("overview parts: " + ", ".join(spent))

    overview_ms, overview_base = _alternate(
        lambda: selectors.overview(programme, period),
        lambda: _baseline_overview(programme, period),
        rounds=rounds,
        warmup=warmup,
    )
    advocates_ms, advocates_base = _alternate(
        lambda: selectors.advocate_rows(programme, period),
        lambda: _baseline_advocates(programme, period),
        rounds=rounds,
        warmup=warmup,
    )
    progress(
        f"medians of {rounds}: overview {overview_ms:.0f} ms (aggregates {overview_base:.0f} ms), "
        f"by advocate {advocates_ms:.0f} ms (group by {advocates_base:.0f} ms)"
    )
    return [
        Figure(
            name=f"overview, {days} days",
            unit="ms",
            ours=overview_ms,
            baseline=overview_base,
            higher_is_better=False,
            target=Target(f"ours <= {OVERVIEW_MS:.0f} ms", OVERVIEW_MS),
            note="one COUNT/SUM over the same orders and one SUM over the same daily clicks",
        ),
        Figure(
            name=f"report by advocate, {days} days",
            unit="ms",
            ours=advocates_ms,
            baseline=advocates_base,
            higher_is_better=False,
            target=Target(f"ours <= {ADVOCATES_MS:.0f} ms", ADVOCATES_MS),
            note="one GROUP BY advocate over the same orders (count and revenue)",
        ),
    ]
