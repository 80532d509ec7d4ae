from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from referrals.links.clicks import click_record, clicks_drain
from referrals.payouts.services import (
    payout_batch_approve,
    payout_batch_build,
    payout_batch_execute,
    payout_mark_paid,
)
from referrals.services.commissions import commission_approve
from tests.factories import PASSWORD, AdvocateFactory, RepCodeFactory, UserFactory, sale

pytestmark = pytest.mark.django_db


def _click(rep_code, n=1):
    """Clicks as /r/<CODE> records them: buffered, then drained into the database."""
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
    assert clicks_drain() == n


def test_dashboard_requires_login(client):
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert "next=/dashboard/" in response["Location"]


def test_user_who_has_joined_nothing_sees_the_empty_dashboard(client, login):
    login(UserFactory())
    response = client.get(reverse("dashboard"))
    assert response.status_code == 200
    assert "dashboard/dashboard_empty.html" in [t.name for t in response.templates]


def test_dashboard_shows_the_code_share_link_and_qr(client, login, rep_code):
    login(rep_code.advocate.user)
    response = client.get(reverse("dashboard"))
    assert response.status_code == 200
    assert rep_code.code in response.text
    share_url = f"https://streetteam.test/r/{rep_code.code}"
    assert rep_code.get_share_url() == share_url
    assert share_url in response.text
    assert "<svg" in response.text


def test_dashboard_counts_clicks_orders_and_money_by_status(client, login, rep_code):
    """Money moved by the real services: one sale held, one approved, one paid out."""
    manager = UserFactory(is_staff=True, is_superuser=True)
    _click(rep_code, 7)
    long_ago = timezone.now() - timedelta(days=45)
    sale(rep_code, "o-1", 10000)  # 1000, still held
    approved = sale(rep_code, "o-2", 5000, placed_at=long_ago).commission  # 500
    paid = sale(rep_code, "o-3", 2500, placed_at=long_ago).commission  # 250
    commission_approve(commission_id=paid.pk, actor=manager)
    batch = payout_batch_build(programme_id=rep_code.advocate.programme_id, actor=manager)
    payout_batch_approve(batch_id=batch.pk, actor=manager, password=PASSWORD)
    payout_batch_execute(batch_id=batch.pk, actor=manager)
    payout_mark_paid(payout_id=batch.payouts.get().pk, actor=manager)
    commission_approve(commission_id=approved.pk, actor=manager)

    login(rep_code.advocate.user)
    response = client.get(reverse("dashboard"))
    stats, balance = response.context["stats"], response.context["balance"]
    assert (stats.clicks, stats.orders) == (7, 3)
    assert (balance.held, balance.payable, balance.paid_out) == (1000, 500, 250)
    for shown in ("€10.00", "€5.00", "€2.50"):
        assert shown in response.text


def test_dashboard_shows_nothing_of_another_advocates_sales(client, login, rep_code):
    other = RepCodeFactory(advocate=AdvocateFactory(programme=rep_code.advocate.programme))
    _click(other, 3)
    sale(other, "theirs", 12340)  # 1234 commission, theirs

    login(rep_code.advocate.user)
    response = client.get(reverse("dashboard"))
    stats, balance = response.context["stats"], response.context["balance"]
    assert (stats.clicks, stats.orders, balance.held) == (0, 0, 0)
    assert other.code not in response.text
    assert "€12.34" not in response.text


def test_dashboard_never_lists_a_banned_membership(client, login, rep_code):
    advocate = rep_code.advocate
    advocate.status = advocate.Status.BANNED
    advocate.save()
    login(advocate.user)
    response = client.get(reverse("dashboard"))
    assert rep_code.code not in response.text


def test_dashboard_can_switch_between_programmes(client, login, rep_code):
    user = rep_code.advocate.user
    second = RepCodeFactory(advocate=AdvocateFactory(user=user))
    login(user)
    slug = second.advocate.programme.slug
    response = client.get(reverse("dashboard"), {"programme": slug})
    assert response.context["advocate"] == second.advocate
    assert second.code in response.text


def test_dashboard_runs_a_fixed_number_of_queries(client, login, rep_code):
    """The numbers come from aggregates: more sales and clicks must not mean more queries."""
    login(rep_code.advocate.user)
    for i in range(3):
        sale(rep_code, f"few-{i}", 1000 + i)
    client.get(reverse("dashboard"))  # warm caches (content types, site)
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("dashboard"))
    for i in range(20):
        sale(rep_code, f"many-{i}", 2000 + i)
    _click(rep_code, 20)
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("dashboard"))
    assert len(many) == len(few)


def test_weekly_earnings_cover_twelve_weeks_and_include_this_weeks_sale(client, login, rep_code):
    sale(rep_code, "this-week", 10000)
    login(rep_code.advocate.user)
    weekly = client.get(reverse("dashboard")).context["weekly"]
    assert len(weekly) == 12
    assert weekly[-1]["total"] == 1000
    assert weekly[-1]["week"] <= timezone.now().date() < weekly[-1]["week"] + timedelta(days=7)


class TestQrDownload:
    def test_own_code_downloads_as_an_svg_attachment(self, client, login, rep_code):
        login(rep_code.advocate.user)
        response = client.get(reverse("qr_download", kwargs={"code": rep_code.code}))
        assert response.status_code == 200
        assert response["Content-Type"] == "image/svg+xml"
        assert response["Content-Disposition"] == (
            f'attachment; filename="streetteam-{rep_code.code}.svg"'
        )
        assert b"<svg" in response.content

    def test_own_code_in_lower_case_downloads_too(self, client, login, rep_code):
        login(rep_code.advocate.user)
        response = client.get(reverse("qr_download", kwargs={"code": rep_code.code.lower()}))
        assert response.status_code == 200

    def test_another_advocates_code_is_404(self, client, login, rep_code, other_rep_code):
        login(rep_code.advocate.user)
        response = client.get(reverse("qr_download", kwargs={"code": other_rep_code.code}))
        assert response.status_code == 404

    def test_unknown_code_is_404(self, client, login, rep_code):
        login(rep_code.advocate.user)
        response = client.get(reverse("qr_download", kwargs={"code": "NOSUCHCODE"}))
        assert response.status_code == 404

    def test_anonymous_is_sent_to_login(self, client, rep_code):
        response = client.get(reverse("qr_download", kwargs={"code": rep_code.code}))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))


def test_dashboard_headlines_the_vanity_code_over_an_older_random_one(client, login, rep_code):
    vanity = RepCodeFactory(advocate=rep_code.advocate, code="ANNA20", is_vanity=True)
    sale(rep_code, "through-the-random-code", 5000)
    login(rep_code.advocate.user)
    response = client.get(reverse("dashboard"))
    assert response.context["primary"] == vanity
    assert 'id="rep-code">ANNA20<' in response.text
    assert "https://streetteam.test/r/ANNA20" in response.text


def test_without_a_vanity_code_the_dashboard_headlines_the_most_used_code(client, login, rep_code):
    busier = RepCodeFactory(advocate=rep_code.advocate)
    sale(rep_code, "older-code-1", 5000)
    sale(busier, "newer-code-1", 5000)
    sale(busier, "newer-code-2", 5000)
    login(rep_code.advocate.user)
    response = client.get(reverse("dashboard"))
    assert response.context["primary"] == busier


def test_a_deactivated_vanity_code_is_never_headlined(client, login, rep_code):
    RepCodeFactory(advocate=rep_code.advocate, code="GONE20", is_vanity=True, is_active=False)
    login(rep_code.advocate.user)
    response = client.get(reverse("dashboard"))
    assert response.context["primary"] == rep_code
    assert "GONE20" not in response.text
