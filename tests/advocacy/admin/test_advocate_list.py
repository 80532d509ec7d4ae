"""The advocates listing: each advocate's clicks, sales, earnings and balance, in a constant
number of queries whatever the page size."""

import csv
import io
import re

import pytest
from django.urls import reverse
from openpyxl import load_workbook

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


def exported(client, fmt: str) -> list[list]:
    response = client.get(reverse("advocates:index"), {"export": fmt})
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    if fmt == "csv":
        return list(csv.reader(io.StringIO(body.decode())))
    sheet = load_workbook(io.BytesIO(body)).active
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


def test_the_csv_export_has_earned_and_balance_in_currency_units_beside_the_currency(
    client, manager, anna
):
    yen = ProgrammeFactory(currency="JPY")
    sale(RepCodeFactory(advocate=AdvocateFactory(programme=yen)), "yen-1", 5000)

    header, *rows = exported(client, "csv")
    by_email = {row[0]: dict(zip(header, row, strict=True)) for row in rows}

    # Anna (the fixture): €17.00 earned, €5.00 reversed, so a €12.00 balance.
    anna_row = by_email["anna@example.com"]
    assert (anna_row["Earned"], anna_row["Balance"], anna_row["Currency"]) == (
        "17.00",
        "12.00",
        "EUR",
    )
    (yen_row,) = [row for row in by_email.values() if row["Currency"] == "JPY"]
    assert (yen_row["Earned"], yen_row["Balance"]) == ("500", "500")


def test_the_xlsx_export_has_earned_as_a_number_in_currency_units(client, manager, anna):
    header, *rows = exported(client, "xlsx")

    (anna_row,) = [
        dict(zip(header, row, strict=True)) for row in rows if row[0] == "anna@example.com"
    ]
    assert anna_row["Earned"] == 17
    assert anna_row["Currency"] == "EUR"
