"""The overview's and the reports' figures, against hand-built sales with known answers.

Every sale here gives the shopper 20% off (the shop applies the discount) and the advocate
10% of the net amount (the factories' programme): a 100.00 sale is 20.00 of discount, 80.00 of
revenue and 8.00 of commission.
"""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from advocacy.models import Advocate, Programme
from referrals.models import Commission
from referrals.reports import selectors
from referrals.reports.selectors import Period
from referrals.services.commissions import commission_approve
from referrals.services.refunds import refund_record
from tests.factories import (
    AdvocateFactory,
    ClickDailyFactory,
    ProgrammeFactory,
    RepCodeFactory,
    UserFactory,
)
from tests.factories import sale as _sale

pytestmark = pytest.mark.django_db

TODAY = timezone.now().date()
LAST_30 = Period.last_days(30)
DAYS_AGO_10 = timezone.now() - timedelta(days=10)


def sale(rep_code, external_id, gross, placed_at=None):
    return _sale(rep_code, external_id, gross, placed_at, discount=gross // 5)


def code_in(programme, email=None, **kwargs):
    user = UserFactory(email=email) if email else UserFactory()
    return RepCodeFactory(advocate=AdvocateFactory(programme=programme, user=user), **kwargs)


def test_two_programmes_in_other_currencies_are_never_mixed():
    eur = ProgrammeFactory(currency="EUR")
    usd = ProgrammeFactory(currency="USD")
    eur_code, usd_code = code_in(eur), code_in(usd)
    sale(eur_code, "eur-1", 10000, DAYS_AGO_10)
    sale(usd_code, "usd-1", 50000, DAYS_AGO_10)
    sale(usd_code, "usd-2", 50000, DAYS_AGO_10)
    ClickDailyFactory(rep_code=eur_code, day=TODAY, clicks=4)
    ClickDailyFactory(rep_code=usd_code, day=TODAY, clicks=40)

    euros = selectors.programme_totals(eur, LAST_30)
    dollars = selectors.programme_totals(usd, LAST_30)

    assert euros == selectors.Totals(
        clicks=4, orders=1, revenue=8000, discounts=2000, commissions=800
    )
    assert dollars == selectors.Totals(
        clicks=40, orders=2, revenue=80000, discounts=20000, commissions=8000
    )


def test_audience_report_keeps_each_currency_on_its_own_row():
    customers_eur = ProgrammeFactory(currency="EUR", audience=Programme.Audience.CUSTOMERS)
    customers_usd = ProgrammeFactory(currency="USD", audience=Programme.Audience.CUSTOMERS)
    staff_eur = ProgrammeFactory(currency="EUR", audience=Programme.Audience.EMPLOYEES)
    sale(code_in(customers_eur), "c-eur", 10000, DAYS_AGO_10)
    sale(code_in(customers_usd), "c-usd", 20000, DAYS_AGO_10)
    sale(code_in(staff_eur), "s-eur", 5000, DAYS_AGO_10)

    rows = {(r.audience, r.currency): r for r in selectors.audience_rows(LAST_30)}

    assert set(rows) == {("Customers", "EUR"), ("Customers", "USD"), ("Employees", "EUR")}
    assert rows["Customers", "EUR"].totals.revenue == 8000
    assert rows["Customers", "USD"].totals.revenue == 16000
    assert rows["Employees", "EUR"].totals.commissions == 400
    assert rows["Customers", "EUR"].programmes == 1


def test_funnel_counts_each_step_and_its_money():
    programme = ProgrammeFactory(hold_days=20)
    code = code_in(programme)
    ClickDailyFactory(rep_code=code, day=TODAY - timedelta(days=2), clicks=30)
    ClickDailyFactory(rep_code=code, day=TODAY, clicks=20)
    long_ago = timezone.now() - timedelta(days=29)
    sale(code, "held", 10000)  # 8.00 pending, on hold
    approved = sale(code, "approved", 20000, long_ago).commission  # 16.00
    paid = sale(code, "paid", 5000, long_ago).commission  # 4.00
    commission_approve(commission_id=approved.pk)
    commission_approve(commission_id=paid.pk)
    # The payout itself is the payouts package's business; here only its end state matters.
    Commission.objects.filter(pk=paid.pk).update(status=Commission.Status.PAID)

    steps = selectors.funnel(programme, LAST_30)

    assert [(s.label, s.count, s.amount) for s in steps] == [
        ("Link clicks", 50, None),
        ("Referred orders", 3, 8000 + 16000 + 4000),
        ("Commissions approved", 2, 1600 + 400),
        ("Commissions paid", 1, 400),
    ]


def test_commissions_by_where_they_stand_today():
    programme = ProgrammeFactory(hold_days=30)
    code = code_in(programme)
    sale(code, "on-hold", 10000, timezone.now() - timedelta(days=5))
    sale(code, "ready", 20000, timezone.now() - timedelta(days=31))
    refunded = sale(code, "refunded", 5000, timezone.now() - timedelta(days=6)).order
    refund_record(order=refunded, external_id="re-1", amount=refunded.net_amount)

    figures = selectors.commission_status_figures(programme, Period.last_days(60))

    assert figures["held"] == selectors.StatusFigure(count=1, amount=800)
    assert figures["ready"] == selectors.StatusFigure(count=1, amount=1600)
    assert figures["reversed"] == selectors.StatusFigure(count=1, amount=400)
    assert figures["approved"] == selectors.StatusFigure()
    # The refunded sale's commission was reversed: it costs nothing.
    assert selectors.programme_totals(programme, Period.last_days(60)).commissions == 2400


def test_refunds_lower_the_commission_cost_in_every_view_of_it():
    """A full refund costs nothing, a half refund half: the totals, the chart, the by-advocate
    rows and the overview agree (each reads the reversals its own way)."""
    programme = ProgrammeFactory(currency="EUR")
    anna, ben = code_in(programme, "anna@example.com"), code_in(programme, "ben@example.com")
    kept = sale(anna, "kept", 10000, DAYS_AGO_10)  # 8000 net, commission 800
    full = sale(anna, "full", 5000, DAYS_AGO_10).order  # commission 400, all reversed
    half = sale(ben, "half", 20000, DAYS_AGO_10).order  # commission 1600, half reversed
    refund_record(order=full, external_id="re-full", amount=full.net_amount)
    refund_record(order=half, external_id="re-half", amount=half.net_amount // 2)

    rows = {
        row.email: row.totals.commissions for row in selectors.advocate_rows(programme, LAST_30)
    }
    chart = sum(point.commissions for point in selectors.series(programme, LAST_30))

    assert kept.commission.amount == 800
    assert rows == {"anna@example.com": 800, "ben@example.com": 800}
    assert chart == 1600
    assert selectors.programme_totals(programme, LAST_30).commissions == 1600
    assert selectors.overview(programme, LAST_30).totals.commissions == 1600


def test_top_advocates_by_referred_revenue():
    programme = ProgrammeFactory()
    small = code_in(programme, "small@example.com")
    big = code_in(programme, "big@example.com")
    middle = code_in(programme, "middle@example.com")
    only_clicks = code_in(programme, "clicks@example.com")
    sale(small, "s1", 1000, DAYS_AGO_10)
    sale(small, "s2", 1000, DAYS_AGO_10)
    sale(big, "b1", 90000, DAYS_AGO_10)
    sale(middle, "m1", 30000, DAYS_AGO_10)
    ClickDailyFactory(rep_code=only_clicks, day=TODAY, clicks=500)

    rows = selectors.advocate_rows(programme, LAST_30)

    assert [r.email for r in rows] == [
        "big@example.com",
        "middle@example.com",
        "small@example.com",
        "clicks@example.com",
    ]
    assert rows[0].totals.revenue == 72000
    assert rows[2].totals.orders == 2
    assert rows[3].totals == selectors.Totals(clicks=500)
    top = selectors.overview(programme, LAST_30).top_advocates
    assert [r.email for r in top][:2] == ["big@example.com", "middle@example.com"]


def at(day, hour=0, minute=0, second=0):
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=UTC)


def test_period_boundaries_are_whole_utc_days():
    programme = ProgrammeFactory()
    code = code_in(programme)
    first, last = TODAY - timedelta(days=40), TODAY - timedelta(days=20)
    before, after = first - timedelta(days=1), last + timedelta(days=1)
    period = Period(start=first, end=last)
    sale(code, "day-before", 1000, at(before, 23, 59, 59))
    sale(code, "first-moment", 2000, at(first))
    sale(code, "last-moment", 4000, at(last, 23, 59, 59))
    sale(code, "day-after", 8000, at(after))
    ClickDailyFactory(rep_code=code, day=before, clicks=1)
    ClickDailyFactory(rep_code=code, day=first, clicks=10)
    ClickDailyFactory(rep_code=code, day=last, clicks=100)
    ClickDailyFactory(rep_code=code, day=after, clicks=1000)

    totals = selectors.programme_totals(programme, period)

    assert (totals.clicks, totals.orders, totals.revenue) == (110, 2, 1600 + 3200)


def test_series_has_every_day_and_puts_each_sale_on_its_day():
    programme = ProgrammeFactory()
    code = code_in(programme)
    first = TODAY - timedelta(days=9)
    period = Period(start=first, end=first + timedelta(days=6))
    third = first + timedelta(days=2)
    sale(code, "third-day", 10000, at(third, 12))
    ClickDailyFactory(rep_code=code, day=third, clicks=7)

    points = selectors.series(programme, period)

    assert [p.day for p in points] == [first + timedelta(days=n) for n in range(7)]
    assert (points[2].clicks, points[2].revenue, points[2].discounts, points[2].commissions) == (
        7,
        8000,
        2000,
        800,
    )
    assert sum(p.revenue for p in points) == 8000


def test_long_periods_are_charted_by_week():
    period = Period(start=date(2026, 1, 1), end=date(2026, 3, 31))  # Thursday to Tuesday

    weeks = period.buckets()

    assert weeks[0] == date(2025, 12, 29)  # the Monday of 1 January's week
    assert weeks[-1] == date(2026, 3, 30)
    assert len(weeks) == 14


def test_due_next_payout_counts_payable_balances_at_the_threshold():
    programme = ProgrammeFactory(payout_threshold=1000)
    long_ago = timezone.now() - timedelta(days=40)
    at_threshold = code_in(programme)
    below = code_in(programme)
    paused = code_in(programme)
    for rep, gross in ((at_threshold, 12500), (below, 5000), (paused, 50000)):
        commission = sale(rep, f"due-{rep.code}", gross, long_ago).commission
        commission_approve(commission_id=commission.pk)
    sale(at_threshold, "still-held", 50000)  # pending: not payable yet
    Advocate.objects.filter(pk=paused.advocate_id).update(status=Advocate.Status.PAUSED)

    assert selectors.due_next_payout(programme) == (1, 1000)


def test_codes_report_splits_link_visits_from_typed_codes():
    programme = ProgrammeFactory()
    code = code_in(programme, channel="Instagram")
    ClickDailyFactory(rep_code=code, day=TODAY, clicks=12)
    sale(code, "typed", 10000, DAYS_AGO_10)

    rows = selectors.code_rows(programme, LAST_30)

    by_channel = {r.channel: r for r in rows}
    assert set(by_channel) == {"Code typed at checkout", "Referral link"}
    assert by_channel["Code typed at checkout"].totals.revenue == 8000
    assert by_channel["Code typed at checkout"].totals.commissions == 800
    assert by_channel["Referral link"].totals.clicks == 12
    assert {r.label for r in rows} == {"Instagram"}


def test_cost_per_order_and_return_on_commissions():
    totals = selectors.Totals(orders=4, revenue=84000, discounts=15000, commissions=5000)

    assert totals.cost_per_order == 5000
    assert totals.return_on_cost == Decimal("4.2")
    assert selectors.Totals().return_on_cost is None


def test_overview_is_a_fixed_number_of_queries(django_assert_num_queries):
    programme = ProgrammeFactory()
    for n in range(6):
        rep = code_in(programme)
        sale(rep, f"q-{n}", 1000 * (n + 1), DAYS_AGO_10)
        ClickDailyFactory(rep_code=rep, day=TODAY, clicks=n + 1)

    with django_assert_num_queries(12):
        result = selectors.overview(programme, LAST_30)

    assert len(result.top_advocates) == 5


@pytest.mark.parametrize("days", [30, 70])  # by day, and by week (past 62 days)
def test_the_overviews_totals_count_the_periods_edges_once(days):
    """The overview sums its totals from the chart's buckets: a sale in the first minute of
    the period, one a minute before it starts, one just now, and clicks on and before its
    first day."""
    period = Period.last_days(days)
    programme = ProgrammeFactory(currency="EUR")
    rep = code_in(programme)
    first = period.start_at
    sale(rep, "first", 10000, first)
    sale(rep, "before", 7000, first - timedelta(minutes=1))
    sale(rep, "now", 5000, timezone.now() - timedelta(minutes=1))
    ClickDailyFactory(rep_code=rep, day=period.start, clicks=3)
    ClickDailyFactory(rep_code=rep, day=period.start - timedelta(days=1), clicks=100)

    totals = selectors.overview(programme, period).totals

    # 8000 + 4000 after the 20% discount, 800 + 400 commission; the earlier sale and clicks
    # are outside.
    assert totals == selectors.Totals(
        clicks=3, orders=2, revenue=12000, discounts=3000, commissions=1200
    )
    assert totals == selectors.programme_totals(programme, period)


def test_advocate_report_is_a_fixed_number_of_queries(django_assert_num_queries):
    programme = ProgrammeFactory()
    for n in range(8):
        rep = code_in(programme)
        sale(rep, f"a-{n}", 1000 * (n + 1), DAYS_AGO_10)
        ClickDailyFactory(rep_code=rep, day=TODAY, clicks=n + 1)

    with django_assert_num_queries(5):
        rows = selectors.advocate_rows(programme, LAST_30)

    assert len(rows) == 8
