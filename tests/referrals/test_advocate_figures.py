"""The dashboard's and the API's figures for an advocate (referrals.selectors): the balance by
status agrees with the ledger's own definitions (ledger_selectors) whatever happened to the money
(held, approved, frozen by a dispute, refunded in part or whole, paid out, in flight), stats
count only the advocate's own activity, and the weekly chart sums earnings by the week of the
sale."""

from datetime import timedelta

import pytest
from django.utils import timezone

from referrals import ledger_selectors as ledger
from referrals.links.clicks import click_record, clicks_drain
from referrals.payouts.services import (
    payout_batch_approve,
    payout_batch_build,
    payout_batch_execute,
    payout_mark_paid,
)
from referrals.selectors import (
    advocate_balance,
    advocate_overview,
    advocate_recent_referrals,
    advocate_stats,
    advocate_weekly_earnings,
)
from referrals.services.commissions import commission_approve
from referrals.services.refunds import dispute_open, refund_record
from tests.factories import PASSWORD, AdvocateFactory, RepCodeFactory, UserFactory, sale

pytestmark = pytest.mark.django_db

LONG_AGO = timezone.now() - timedelta(days=60)  # past any hold


def _clicks(rep_code, n):
    for i in range(n):
        click_record(
            rep_code_id=rep_code.pk,
            advocate_id=rep_code.advocate_id,
            visitor_id=f"visitor{i}",
            ip="203.0.113.9",
            user_agent="test",
            referrer="",
            landing="/",
        )
    clicks_drain()


def _pay_out(programme_id, manager, *, mark_paid):
    batch = payout_batch_build(programme_id=programme_id, actor=manager)
    payout_batch_approve(batch_id=batch.pk, actor=manager, password=PASSWORD)
    payout_batch_execute(batch_id=batch.pk, actor=manager)
    if mark_paid:
        for payout in batch.payouts.all():
            payout_mark_paid(payout_id=payout.pk, actor=manager)


@pytest.fixture
def manager():
    return UserFactory(is_staff=True, is_superuser=True)


@pytest.fixture
def history(rep_code, manager):
    """Every way money moves, through the real services (10% commissions)."""
    programme_id = rep_code.advocate.programme_id
    paid = sale(rep_code, "paid", 2500, LONG_AGO).commission  # 250, paid out
    commission_approve(commission_id=paid.pk, actor=manager)
    _pay_out(programme_id, manager, mark_paid=True)
    in_flight = sale(rep_code, "in-flight", 4000, LONG_AGO).commission  # 400, batch not paid
    commission_approve(commission_id=in_flight.pk, actor=manager)
    _pay_out(programme_id, manager, mark_paid=False)

    sale(rep_code, "held", 10000)  # 1000, pending
    approved = sale(rep_code, "approved", 5000, LONG_AGO).commission  # 500, payable
    commission_approve(commission_id=approved.pk, actor=manager)
    disputed = sale(rep_code, "disputed", 3000, LONG_AGO)  # 300, approved then frozen
    commission_approve(commission_id=disputed.commission.pk, actor=manager)
    dispute_open(order=disputed.order, external_id="dp_1")
    refunded = sale(rep_code, "refunded", 2000)  # 200, pending, refunded whole
    refund_record(order=refunded.order, external_id="re_1", amount=2000)
    halved = sale(rep_code, "halved", 6000)  # 600, pending, half refunded: 300 left
    refund_record(order=halved.order, external_id="re_2", amount=3000)
    # A refund on money already paid out: the payable balance goes negative by that much.
    refund_record(order=paid.order, external_id="re_3", amount=1000)  # -100

    other = RepCodeFactory(advocate=AdvocateFactory(programme=rep_code.advocate.programme))
    sale(other, "theirs", 12340)
    _clicks(other, 4)
    _clicks(rep_code, 7)
    return rep_code.advocate


def test_the_balance_follows_the_ledgers_definitions(history):
    balance = advocate_balance(history)
    assert balance.held + balance.payable == ledger.balance(history, "EUR")
    assert balance.payable == ledger.payable_balance(history, "EUR")


def test_the_balance_by_status(history):
    balance = advocate_balance(history)
    # pending 1000 + the halved sale's 300 left + the frozen 300
    assert balance.held == 1600
    # approved 500, less the 100 refunded after it was paid out; the 250 and 400 went into
    # payouts (their `paid` entries), the frozen 300 waits
    assert balance.payable == 400
    assert balance.reversed == 200 + 300 + 100
    assert (balance.paid_out, balance.in_flight) == (250, 400)
    assert balance.currency == "EUR"


def test_a_negative_payable_balance_after_a_refund_on_paid_out_money(rep_code, manager):
    paid = sale(rep_code, "paid", 2500, LONG_AGO).commission
    commission_approve(commission_id=paid.pk, actor=manager)
    _pay_out(rep_code.advocate.programme_id, manager, mark_paid=True)
    refund_record(order=paid.order, external_id="re_1", amount=2500)
    balance = advocate_balance(rep_code.advocate)
    assert (balance.held, balance.payable, balance.reversed) == (0, -250, 250)
    assert balance.paid_out == 250


def test_stats_count_the_advocates_own_clicks_and_orders(history):
    stats = advocate_stats(history)
    assert (stats.clicks, stats.orders) == (7, 7)
    assert stats.conversion_percent == 100


def test_the_overview_is_stats_and_balance_in_one_query(history, django_assert_num_queries):
    with django_assert_num_queries(1):
        overview = advocate_overview(history)
    assert overview == (advocate_stats(history), advocate_balance(history))


def test_an_advocate_without_activity_has_zero_everywhere(rep_code):
    stats, balance = advocate_overview(rep_code.advocate)
    assert (stats.clicks, stats.orders) == (0, 0)
    assert (balance.held, balance.payable, balance.reversed) == (0, 0, 0)
    assert (balance.paid_out, balance.in_flight) == (0, 0)


def test_weekly_earnings_by_the_week_of_the_sale(rep_code, manager):
    now = timezone.now()
    sale(rep_code, "this-week", 10000, now)  # 1000
    approved = sale(rep_code, "six-weeks", 5000, now - timedelta(weeks=6)).commission
    commission_approve(commission_id=approved.pk, actor=manager)  # 500, approved still counts
    refunded = sale(rep_code, "refunded", 7000, now - timedelta(weeks=6))
    refund_record(order=refunded.order, external_id="re_1", amount=7000)  # reversed: not counted
    sale(rep_code, "too-old", 9000, now - timedelta(days=86))  # before the chart's 12 weeks
    other = RepCodeFactory(advocate=AdvocateFactory(programme=rep_code.advocate.programme))
    sale(other, "theirs", 8000, now)

    weekly = advocate_weekly_earnings(rep_code.advocate)
    assert len(weekly) == 12
    assert [week.weekday() for week, _ in weekly] == [0] * 12
    totals = dict(weekly)
    this_week = weekly[-1][0]
    assert totals[this_week] == 1000
    assert totals[this_week - timedelta(weeks=6)] == 500
    assert sum(totals.values()) == 1500


def test_recent_referrals_newest_first_with_their_commissions(rep_code, manager):
    now = timezone.now()
    old = sale(rep_code, "old", 5000, now - timedelta(days=3))
    new = sale(rep_code, "new", 10000, now)
    refund_record(order=old.order, external_id="re_1", amount=5000)
    other = RepCodeFactory(advocate=AdvocateFactory(programme=rep_code.advocate.programme))
    sale(other, "theirs", 8000, now)

    recent = advocate_recent_referrals(rep_code.advocate)
    assert [r.net_amount for r in recent] == [10000, 5000]
    assert [r.code for r in recent] == [rep_code.code] * 2
    assert recent[0].placed_at == new.order.placed_at
    (newest,) = recent[0].commissions
    assert (newest.amount, newest.status, newest.status_label) == (1000, "pending", "Pending")
    assert newest.hold_until == new.commission.hold_until
    assert recent[1].status_label == "Refunded"
    assert [c.status for c in recent[1].commissions] == ["reversed"]


def test_recent_referrals_are_limited(rep_code):
    for i in range(12):
        sale(rep_code, f"o-{i}", 1000 + i)
    assert len(advocate_recent_referrals(rep_code.advocate)) == 10
    assert len(advocate_recent_referrals(rep_code.advocate, limit=3)) == 3
