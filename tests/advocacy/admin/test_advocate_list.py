"""The advocates listing: each advocate's clicks, sales, earnings and balance, in a constant
number of queries whatever the page size."""

import re

import pytest
from django.urls import reverse

from tests.factories import (
    AdvocateFactory,
    ClickDailyFactory,
    ProgrammeFactory,
    RepCodeFactory,
    sale,
)

pytestmark = pytest.mark.django_db


def row_of(html: str, email: str) -> str:
    """The listing row of `email`, without the whitespace around tags."""
    start = html.index(email)
    row = html[start : html.index("</tr>", start)]
    return re.sub(r"\s*(<[^>]*>)\s*", r"\1", row)


def test_the_list_shows_clicks_sales_earned_and_balance(client, manager, anna):
    html = client.get(reverse("advocates:index")).content.decode()

    row = row_of(html, "anna@example.com")
    for header in ("Clicks", "Sales", "Earned", "Balance"):
        assert header in html
    assert ">15<" in row
    assert ">3<" in row
    assert "€17.00" in row
    assert "€12.00" in row


def test_money_is_in_each_advocates_programme_currency(client, manager):
    pounds = AdvocateFactory(
        programme=ProgrammeFactory(currency="GBP"), user__email="pounds@example.com"
    )
    RepCodeFactory(advocate=pounds)

    html = client.get(reverse("advocates:index")).content.decode()

    assert "£0.00" in row_of(html, "pounds@example.com")


def test_the_list_sorts_by_sales(client, manager, programme):
    busy = AdvocateFactory(programme=programme, user__email="busy@example.com")
    quiet = AdvocateFactory(programme=programme, user__email="quiet@example.com")
    code = RepCodeFactory(advocate=busy)
    sale(code, "busy-1", 1000)
    sale(code, "busy-2", 1000)

    response = client.get(reverse("advocates:index"), {"ordering": "-referred_orders"})

    assert list(response.context["object_list"]) == [busy, quiet]


def _advocates_with_activity(programme, count):
    for index in range(count):
        advocate = AdvocateFactory(programme=programme)
        code = RepCodeFactory(advocate=advocate)
        ClickDailyFactory(rep_code=code, clicks=index + 1)
        sale(code, f"list-order-{index}", 1000 + index)


# Session, user, the count and the page of advocates (figures as subqueries), their codes
# (prefetched), the filter's programmes, and Wagtail's own: the same for 2 rows or 20.
LIST_QUERIES = 12


@pytest.mark.parametrize("count", [2, 20])
def test_the_list_takes_the_same_number_of_queries_for_2_or_20_advocates(
    client, manager, programme, django_assert_num_queries, count
):
    _advocates_with_activity(programme, count)
    client.get(reverse("advocates:index"))  # warm Wagtail's caches (site, menu)

    with django_assert_num_queries(LIST_QUERIES):
        response = client.get(reverse("advocates:index"))

    assert len(response.context["object_list"]) == count
