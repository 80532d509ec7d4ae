"""The overview on the admin home and the programme reports, as managers and others see them."""

import csv
import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse
from django.utils import timezone

from tests.factories import (
    AdvocateFactory,
    ClickDailyFactory,
    ProgrammeFactory,
    RepCodeFactory,
    UserFactory,
    sale,
)

pytestmark = pytest.mark.django_db

DAYS_AGO_3 = timezone.now() - timedelta(days=3)


def report_url(slug):
    return reverse("programme_reports:report", args=[slug])


@pytest.fixture
def manager(client):
    user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


@pytest.fixture
def editor(client):
    """Someone who edits pages in the admin but may not read orders or commissions."""
    group = Group.objects.create(name="Campaign page writers")
    group.permissions.add(Permission.objects.get(codename="access_admin"))
    user = UserFactory(is_staff=True)
    user.groups.add(group)
    client.force_login(user)
    return user


@pytest.fixture
def shop():
    """A euro programme with one advocate who sold 125.00 (25.00 off) from 40 clicks."""
    programme = ProgrammeFactory(name="Friends of the Shop", currency="EUR")
    user = UserFactory(email="ada@example.com")
    rep = RepCodeFactory(advocate=AdvocateFactory(programme=programme, user=user))
    sale(rep, "shop-1", 15000, DAYS_AGO_3, discount=2500)
    ClickDailyFactory(rep_code=rep, day=DAYS_AGO_3.date(), clicks=40)
    return programme


def test_manager_sees_the_overview_in_currency_units_instead_of_page_counters(
    client, manager, shop
):
    page = client.get(reverse("wagtailadmin_home")).content.decode()

    assert "Programme overview" in page
    assert "Friends of the Shop" in page
    assert "€125.00" in page  # referred revenue: 150.00 less the 25.00 discount
    assert "€25.00" in page  # discounts given
    assert "€12.50" in page  # the 10% commission
    assert "ada@example.com" in page
    assert "<svg" in page
    assert "<title" in page
    assert "w-summary__list" not in page  # Wagtail's page / image / document counters


def test_overview_links_to_the_matching_admin_lists(client, manager, shop):
    page = client.get(reverse("wagtailadmin_home")).content.decode()

    assert f"/admin/commissions/?programme={shop.pk}&amp;ready=true" in page
    assert f"/admin/commissions/?programme={shop.pk}&amp;status=approved" in page
    assert f"/admin/orders/?programme={shop.pk}&amp;placed_at_after=" in page


def test_overview_says_what_waits_for_review_today_whatever_the_period(client, manager, shop):
    """A sale's hold ends weeks after it: the last 7 days hold no order past its hold, yet the
    overview says the queue has one (40 days old, €8.00 commission)."""
    from tests.factories import received_ago

    rep = shop.advocates.get().codes.get()
    old = sale(rep, "shop-old", 10000, timezone.now() - timedelta(days=40), discount=2000)
    received_ago(old.commission, timedelta(days=40))

    page = client.get(reverse("wagtailadmin_home"), {"programme": shop.pk, "period": "7"})
    text = page.content.decode()

    assert "1 commission (€8.00) is ready for review now" in text
    assert f"/admin/commissions/?programme={shop.pk}&amp;ready=true" in text


def test_overview_says_when_nothing_waits_for_review(client, manager, shop):
    text = client.get(reverse("wagtailadmin_home")).content.decode()

    assert "Nothing is waiting for review today." in text


def test_overview_keeps_each_programme_in_its_own_currency(client, manager, shop):
    dollars = ProgrammeFactory(name="US Friends", currency="USD")
    rep = RepCodeFactory(advocate=AdvocateFactory(programme=dollars))
    sale(rep, "us-1", 99900, DAYS_AGO_3)

    euro_page = client.get(reverse("wagtailadmin_home"), {"programme": shop.pk}).content.decode()
    dollar_page = client.get(
        reverse("wagtailadmin_home"), {"programme": dollars.pk}
    ).content.decode()

    assert "€125.00" in euro_page
    assert "$999.00" not in euro_page
    assert "$999.00" in dollar_page
    assert "€125.00" not in dollar_page


def test_bad_filter_gets_field_errors_not_a_server_error(client, manager, shop):
    response = client.get(
        reverse("wagtailadmin_home"),
        {"programme": "nope", "period": "custom", "start": "2026-05-10", "end": "2026-05-01"},
    )

    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    report = client.get(
        report_url("advocates"), {"period": "custom", "start": "2026-05-10", "end": "2026-05-01"}
    )
    assert report.status_code == 200
    assert "The last day can&#x27;t be before the first." in report.content.decode()


def test_user_without_the_referrals_permissions_sees_no_money(client, editor, shop):
    home = client.get(reverse("wagtailadmin_home"))

    assert home.status_code == 200
    assert "Programme overview" not in home.content.decode()
    assert "€125.00" not in home.content.decode()
    assert "Programme reports" not in home.content.decode()
    # Wagtail answers a refused admin page by sending the user home with a message.
    home_url = reverse("wagtailadmin_home")
    for response in (
        client.get(report_url("funnel")),
        client.get(report_url("advocates"), {"export": "csv"}),
    ):
        assert (response.status_code, response["Location"]) == (302, home_url)


@pytest.mark.parametrize("slug", ["funnel", "revenue", "advocates", "codes", "audiences"])
def test_every_report_shows_its_figures_in_currency_units(client, manager, shop, slug):
    response = client.get(report_url(slug))

    assert response.status_code == 200
    page = response.content.decode()
    assert "€125.00" in page
    assert "Download CSV" in page


def test_funnel_report_shows_the_return_on_commissions_as_a_ratio(client, manager, shop):
    page = client.get(report_url("funnel")).content.decode()

    # 125.00 of revenue for 25.00 of discounts and 12.50 of commission: 125 / 37.5 = 3.3
    assert "3.3×" in page


def test_unknown_report_is_not_found(client, manager):
    assert client.get(report_url("nothing-here")).status_code == 404


def test_advocates_csv_has_a_header_one_row_per_advocate_and_safe_cells(client, manager, shop):
    attacker = UserFactory(email="=cmd@example.com")
    rep = RepCodeFactory(advocate=AdvocateFactory(programme=shop, user=attacker))
    sale(rep, "shop-2", 2000, DAYS_AGO_3)

    response = client.get(report_url("advocates"), {"programme": shop.pk, "export": "csv"})

    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == [
        "Advocate",
        "Link clicks",
        "Referred orders",
        "Conversion",
        "Referred revenue",
        "Discounts given",
        "Commissions",
        "Cost per referred order",
        "Return on commissions and discounts",
        "Currency",
    ]
    assert len(rows) == 3
    assert rows[1] == ["ada@example.com", "40", "1", "2.5", "125.00", "25.00", "12.50",
                       "37.50", "3.3", "EUR"]  # fmt: skip
    assert rows[2][0] == "'=cmd@example.com"
    assert rows[2][-1] == "EUR"


def test_menu_offers_the_programme_reports_to_managers(client, manager, shop):
    page = client.get(reverse("wagtailadmin_home")).content.decode()

    assert "Programme reports" in page
    assert report_url("funnel") in page


def test_audiences_csv_has_one_row_per_audience_and_currency(client, manager, shop):
    dollars = ProgrammeFactory(currency="USD")
    sale(RepCodeFactory(advocate=AdvocateFactory(programme=dollars)), "us-2", 3000, DAYS_AGO_3)

    response = client.get(report_url("audiences"), {"export": "csv"})

    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:2] == ["Audience", "Programmes"]
    assert rows[0][5] == "Referred revenue"
    assert rows[0].count("Currency") == 1
    assert sorted((row[0], row[5], row[-1]) for row in rows[1:]) == [
        ("Customers", "125.00", "EUR"),
        ("Customers", "30.00", "USD"),
    ]


def reports_reader(client, *codenames):
    """Signs in staff who may read the reports, and do `codenames` besides."""
    group = Group.objects.create(name="Report readers")
    group.permissions.add(
        *Permission.objects.filter(
            codename__in=["access_admin", "view_order", "view_commission", *codenames]
        )
    )
    user = UserFactory(is_staff=True)
    user.groups.add(group)
    client.force_login(user)
    return user


def test_top_advocates_link_to_the_advocates_page(client, shop):
    reports_reader(client, "view_advocate")
    ada = shop.advocates.get()

    page = client.get(reverse("wagtailadmin_home"), {"programme": shop.pk}).content.decode()

    assert f'<a href="{reverse("advocates:inspect", args=[ada.pk])}">ada@example.com</a>' in page


def test_without_the_advocate_permission_top_advocates_link_to_their_commissions(client, shop):
    reports_reader(client)
    ada = shop.advocates.get()

    page = client.get(reverse("wagtailadmin_home"), {"programme": shop.pk}).content.decode()

    assert "ada@example.com" in page
    assert reverse("advocates:inspect", args=[ada.pk]) not in page
    assert f"/admin/commissions/?programme={shop.pk}&amp;advocate=ada%40example.com" in page


def test_by_advocate_rows_link_to_the_advocates_page(client, shop):
    reports_reader(client, "view_advocate")
    ada = shop.advocates.get()

    page = client.get(report_url("advocates"), {"programme": shop.pk}).content.decode()

    assert f'<a href="{reverse("advocates:inspect", args=[ada.pk])}">ada@example.com</a>' in page


def test_without_the_advocate_permission_by_advocate_rows_are_plain_text(client, shop):
    reports_reader(client)
    ada = shop.advocates.get()

    page = client.get(report_url("advocates"), {"programme": shop.pk}).content.decode()

    assert "ada@example.com" in page
    assert reverse("advocates:inspect", args=[ada.pk]) not in page
