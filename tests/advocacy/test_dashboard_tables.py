"""What the dashboard's chart and recent-referrals table say, cell by cell: dates in the site's
time zone, amounts in the programme's currency, each commission's status and what happens next,
and an order that earned nothing shown as under review."""

import html
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import dateformat, timezone

from advocacy.models import Programme, RewardKind
from referrals.services.commissions import commission_reject
from referrals.services.refunds import dispute_close, dispute_open, refund_record
from tests.factories import UserFactory, sale

pytestmark = pytest.mark.django_db


def _rows(page: str) -> list[list[str]]:
    """The recent-referrals table's body, as the text of each cell."""
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [
        [
            html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", cell))).strip()
            for cell in cells
        ]
        for cells in (
            re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
            for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
        )
    ]


def _day(moment) -> str:
    return dateformat.format(timezone.localtime(moment), "j M Y")


def test_recent_referrals_table(client, login, rep_code):
    now = timezone.now()
    held = sale(rep_code, "held", 10000, now - timedelta(days=1))
    refunded = sale(rep_code, "refunded", 5000, now - timedelta(days=2))
    refund_record(order=refunded.order, external_id="re_1", amount=5000)
    Programme.objects.filter(pk=rep_code.advocate.programme_id).update(
        advocate_reward_kind=RewardKind.FIXED, advocate_reward_amount=0
    )
    nothing = sale(rep_code, "nothing", 3000, now - timedelta(days=3))
    assert nothing.commission is None
    assert nothing.order.advocate_id == rep_code.advocate_id

    login(rep_code.advocate.user)
    rows = _rows(client.get(reverse("dashboard")).text)

    code = rep_code.code
    assert rows == [
        [
            _day(held.order.placed_at),
            code,
            "€100.00",  # a paid order: no status line
            "€10.00",
            "Pending",
            f"Held until {_day(held.commission.hold_until)}",
        ],
        [
            _day(refunded.order.placed_at),
            code,
            "€50.00 Refunded",
            "€5.00",
            "Reversed",
            "Taken back: the order was refunded",
        ],
        [_day(nothing.order.placed_at), code, "€30.00", "—", "Under review", "No commission yet"],
    ]


def test_weekly_chart_labels_and_best_week(client, login, rep_code):
    now = timezone.now()
    sale(rep_code, "this-week", 10000, now)
    login(rep_code.advocate.user)
    response = client.get(reverse("dashboard"))
    weekly = response.context["weekly"]
    this_week = weekly[-1]["week"]
    short, long = dateformat.format(this_week, "j M"), dateformat.format(this_week, "j F")
    page = response.text
    assert f'title="Week of {short}: €10.00"' in page
    assert f"Week of {long}: €10.00 (this week)" in page
    assert "Best week: <strong>€10.00</strong>" in page
    labels = re.findall(r"<li>([^<]*)</li>", page.split('class="bar-chart-labels"', 1)[1])[:12]
    assert labels == [dateformat.format(w["week"], "j M") for w in weekly]
    assert [w["height"] for w in weekly] == [0] * 11 + [100]


def test_no_best_week_without_earnings(client, login, rep_code):
    login(rep_code.advocate.user)
    assert "Best week" not in client.get(reverse("dashboard")).text


def test_each_commission_says_why_it_was_taken_back_or_rejected(client, login, rep_code):
    """Issue #18: a manager's rejection is not a refund; the advocate reads the manager's reason
    as written, and a reversal says whether a refund or a dispute caused it."""
    now = timezone.now()
    rejected = sale(rep_code, "rejected", 8000, now - timedelta(days=1))
    commission_reject(
        commission_id=rejected.commission.pk,
        actor=UserFactory(is_staff=True),
        reason="This order was placed with your own card.",
    )
    disputed = sale(rep_code, "disputed", 6000, now - timedelta(days=2))
    dispute_open(order=disputed.order, external_id="dp_1")
    dispute_close(order=disputed.order, external_id="dp_1", won=False)
    refunded = sale(rep_code, "refunded", 5000, now - timedelta(days=3))
    refund_record(order=refunded.order, external_id="re_1", amount=5000)

    login(rep_code.advocate.user)
    page = client.get(reverse("dashboard")).text
    rows = _rows(page)

    assert [row[3:] for row in rows] == [
        ["€8.00", "Rejected", "Not approved: This order was placed with your own card."],
        ["€6.00", "Reversed", "Taken back: the payment was disputed"],
        ["€5.00", "Reversed", "Taken back: the order was refunded"],
    ]
    assert "€11.00 was taken back after refunds or disputes and is not counted above." in page
    assert "€8.00 was rejected by the programme and is not counted above" in page
    assert "reversed after refunds or cancellations" not in page


def test_the_status_legend_explains_rejected_commissions(client, login, rep_code):
    login(rep_code.advocate.user)
    page = client.get(reverse("dashboard")).text

    legend = page.split('class="status-flow', 1)[1].split("</ol>", 1)[0]
    assert [
        re.sub(r"<[^>]+>", "", badge) for badge in re.findall(r'badge-\w+">(\w+)<', legend)
    ] == [
        "Pending",
        "Approved",
        "Paid",
        "Reversed",
        "Rejected",
    ]
    assert "The reason is shown beside it." in legend
