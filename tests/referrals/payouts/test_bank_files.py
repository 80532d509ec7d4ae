"""Issue #18: a manual batch's bank file also in PayPal Payouts' and Wise's batch formats. Each
file carries only the payouts whose approved destination fits it, the amounts in currency units
with the currency's own decimals, formula-safe; the review page says what each file carries and
what it leaves out; held payouts stay out of every file; the export needs the payout permission
and is audited.

The expected rows are written from the vendors' documentation (PayPal Payouts Web's payment
file: no header; recipient, amount, currency, customer id, note, wallet. Wise's "send to bank
accounts" template: a header, then name, recipientEmail, paymentReference, receiverType,
amountCurrency, amount, sourceCurrency, targetCurrency, IBAN)."""

import csv
import io

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from advocacy.models import Advocate
from kernel.errors import ServiceError
from referrals.models import AuditEvent, Payout
from referrals.payouts import services as payouts
from referrals.payouts.bank_csv import bank_file_summaries
from tests.factories import PASSWORD, AdvocateFactory, ProgrammeFactory, UserFactory, credited

pytestmark = pytest.mark.django_db

IBAN = "DE89370400440532013000"
NEW_IBAN = "GB29NWBK60161331926819"


def member(programme, login, first, last, method="", **details):
    advocate = AdvocateFactory(
        programme=programme,
        user__email=login,
        user__first_name=first,
        user__last_name=last,
        payout_method=method,
        payout_details=details,
    )
    return advocate


@pytest.fixture
def eur_batch(manager):
    """An executing manual EUR batch: Anna by bank (€30.08), Ben by PayPal (€12.50), Cleo by
    PayPal with an address a spreadsheet would run (€7.05), Dan with no details (€4.00)."""
    programme = ProgrammeFactory(currency="EUR", payout_threshold=100)
    anna = member(
        programme, "anna@example.com", "Anna", "Lind", "bank", iban=IBAN, account_holder="Anna Lind"
    )
    ben = member(programme, "ben@example.com", "Ben", "Ode", "paypal", email="ben@paypal.example")
    cleo = member(
        programme, "=cleo@example.com", "=HYPERLINK(1)", "", "paypal", email="+cleo@pp.example"
    )
    dan = member(programme, "dan@example.com", "Dan", "Roe")
    for advocate, amount in ((anna, 3008), (ben, 1250), (cleo, 705), (dan, 400)):
        credited(advocate, amount)
    return released(programme, manager)


def released(programme, manager):
    batch = payouts.payout_batch_build(programme_id=programme.pk, actor=manager)
    payouts.payout_batch_approve(batch_id=batch.pk, actor=manager, password=PASSWORD)
    payouts.payout_batch_execute(batch_id=batch.pk, actor=manager)
    return batch


def payout_of(batch, email):
    return Payout.objects.get(batch=batch, advocate__user__email=email)


def export(batch, manager, file_format):
    return payouts.payout_batch_csv_export(
        batch_id=batch.pk, actor=manager, file_format=file_format
    )


def test_paypal_file_has_no_header_and_one_row_per_paypal_payout(eur_batch, manager):
    ben, cleo = payout_of(eur_batch, "ben@example.com"), payout_of(eur_batch, "=cleo@example.com")

    rows = export(eur_batch, manager, "paypal")

    assert rows == [
        [
            "ben@paypal.example",
            "12.50",
            "EUR",
            f"payout-{ben.pk}",
            f"Streetteam payout {ben.pk}",
            "PAYPAL",
        ],
        [
            "'+cleo@pp.example",
            "7.05",
            "EUR",
            f"payout-{cleo.pk}",
            f"Streetteam payout {cleo.pk}",
            "PAYPAL",
        ],
    ]


def test_wise_file_has_its_header_and_one_row_per_bank_payout(eur_batch, manager):
    anna = payout_of(eur_batch, "anna@example.com")

    rows = export(eur_batch, manager, "wise")

    assert rows == [
        [
            "name",
            "recipientEmail",
            "paymentReference",
            "receiverType",
            "amountCurrency",
            "amount",
            "sourceCurrency",
            "targetCurrency",
            "IBAN",
        ],
        [
            "Anna Lind",
            "anna@example.com",
            f"Streetteam payout {anna.pk}",
            "PRIVATE",
            "target",
            "30.08",
            "EUR",
            "EUR",
            IBAN,
        ],
    ]


def test_generic_csv_still_carries_every_payout(eur_batch, manager):
    rows = export(eur_batch, manager, "generic")

    assert [row[3] for row in rows] == ["amount", "30.08", "12.50", "7.05", "4.00"]
    assert rows[3][1:3] == ["'=HYPERLINK(1)", "'=cleo@example.com"]


def test_a_jpy_batch_has_amounts_without_decimals(manager):
    programme = ProgrammeFactory(currency="JPY", payout_threshold=1)
    kenji = member(programme, "kenji@example.com", "Kenji", "Sato", "paypal", email="k@pp.example")
    yui = member(
        programme, "yui@example.com", "Yui", "Ito", "bank", iban=IBAN, account_holder="Yui Ito"
    )
    credited(kenji, 3008)
    credited(yui, 500)
    batch = released(programme, manager)
    kenji_payout, yui_payout = (
        payout_of(batch, "kenji@example.com"),
        payout_of(batch, "yui@example.com"),
    )

    assert export(batch, manager, "paypal") == [
        [
            "k@pp.example",
            "3008",
            "JPY",
            f"payout-{kenji_payout.pk}",
            f"Streetteam payout {kenji_payout.pk}",
            "PAYPAL",
        ]
    ]
    assert export(batch, manager, "wise")[1] == [
        "Yui Ito",
        "yui@example.com",
        f"Streetteam payout {yui_payout.pk}",
        "PRIVATE",
        "target",
        "500",
        "JPY",
        "JPY",
        IBAN,
    ]


def test_a_payout_whose_details_changed_after_approval_is_in_no_file(eur_batch, manager):
    anna = payout_of(eur_batch, "anna@example.com")
    Advocate.objects.filter(pk=anna.advocate_id).update(
        payout_details={"iban": NEW_IBAN, "account_holder": "Anna Lind"}
    )

    wise = export(eur_batch, manager, "wise")
    generic = export(eur_batch, manager, "generic")

    assert wise == [wise[0]]  # the header only
    assert [row[0] for row in generic[1:]] == [
        payout_of(eur_batch, email).pk
        for email in ("ben@example.com", "=cleo@example.com", "dan@example.com")
    ]
    held = AuditEvent.objects.filter(action="payout_held", object_id=anna.pk)
    assert held.count() == 1


def test_each_file_says_what_it_carries_and_what_it_leaves_out(eur_batch):
    summaries = {s.format.key: s for s in bank_file_summaries(eur_batch)}

    assert summaries["generic"].sentence() == "4 payouts, €53.63."
    assert summaries["paypal"].sentence() == (
        "2 payouts, €19.55. Left out: 1 payout paid by bank transfer, in the Wise file "
        "(€30.08); 1 payout without a PayPal email (€4.00)."
    )
    assert summaries["wise"].sentence() == (
        "1 payout, €30.08. Left out: 2 payouts paid by PayPal, in the PayPal file (€19.55); "
        "1 payout without an IBAN (€4.00)."
    )


def test_held_payouts_are_named_as_left_out_of_every_file(eur_batch):
    ben = payout_of(eur_batch, "ben@example.com")
    Advocate.objects.filter(pk=ben.advocate_id).update(payout_details={"email": "new@pp.example"})

    summaries = {s.format.key: s for s in bank_file_summaries(eur_batch)}

    held = "held because the advocate changed their payout details after approval"
    assert summaries["generic"].left_out == {held: (1, 1250)}
    assert summaries["paypal"].left_out[held] == (1, 1250)
    assert summaries["paypal"].count == 1
    assert summaries["wise"].left_out[held] == (1, 1250)


def test_a_file_nothing_fits_says_so(manager):
    programme = ProgrammeFactory(currency="EUR")
    credited(member(programme, "eve@example.com", "Eve", "Lo", "bank", iban=IBAN), 2000)
    batch = released(programme, manager)

    paypal = next(s for s in bank_file_summaries(batch) if s.format.key == "paypal")

    assert paypal.sentence() == (
        "No payout fits this file. Left out: 1 payout paid by bank transfer, in the Wise file "
        "(€20.00)."
    )


def test_the_export_is_audited_with_its_file_and_how_many_payouts_it_carries(eur_batch, manager):
    export(eur_batch, manager, "paypal")
    export(eur_batch, manager, "wise")

    rows = AuditEvent.objects.filter(action="batch_exported", object_id=eur_batch.pk)
    assert sorted((e.actor, e.data["file"], e.data["payouts"]) for e in rows) == [
        (manager, "paypal", 2),
        (manager, "wise", 1),
    ]


def test_an_unknown_file_is_refused_and_nothing_is_audited(eur_batch, manager):
    with pytest.raises(ServiceError) as refused:
        export(eur_batch, manager, "swift")

    assert refused.value.code == "file_format_invalid"
    assert not AuditEvent.objects.filter(action="batch_exported").exists()


def test_without_the_payout_permission_no_file_is_exported(eur_batch):
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="access_admin"))

    with pytest.raises(ServiceError) as refused:
        export(eur_batch, viewer, "paypal")

    assert refused.value.code == "permission_denied"
    assert not AuditEvent.objects.filter(action="batch_exported").exists()


def test_the_admin_downloads_each_file_under_its_own_name(client, eur_batch, manager):
    client.force_login(manager)
    url = reverse("payouts:csv", args=[eur_batch.pk])
    ben = payout_of(eur_batch, "ben@example.com")

    paypal = client.get(url, {"file": "paypal"})
    wise = client.get(url, {"file": "wise"})
    unknown = client.get(url, {"file": "swift"})

    assert (
        f'filename="payout-batch-{eur_batch.pk}-EUR-paypal.csv"' in (paypal["Content-Disposition"])
    )
    assert paypal.content.decode().splitlines()[0] == (
        f"ben@paypal.example,12.50,EUR,payout-{ben.pk},Streetteam payout {ben.pk},PAYPAL"
    )
    assert f'filename="payout-batch-{eur_batch.pk}-EUR-wise.csv"' in wise["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(wise.content.decode())))
    assert [row[5] for row in rows] == ["amount", "30.08"]
    assert unknown.status_code == 302
    assert unknown["Location"] == reverse("payouts:inspect", args=[eur_batch.pk])


def test_a_manager_without_the_payout_permission_gets_no_file(client, eur_batch):
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(
        *Permission.objects.filter(codename__in=["access_admin", "view_payoutbatch"])
    )
    client.force_login(viewer)

    response = client.get(reverse("payouts:csv", args=[eur_batch.pk]), {"file": "wise"})

    assert response.status_code in (302, 403)
    assert "text/csv" not in response.get("Content-Type", "")
    assert not AuditEvent.objects.filter(action="batch_exported").exists()


def test_the_review_page_lists_the_three_files(client, eur_batch, manager):
    client.force_login(manager)

    page = client.get(reverse("payouts:inspect", args=[eur_batch.pk])).content.decode()

    assert "Download PayPal Payouts file" in page
    assert "Download Wise batch file" in page
    assert "1 payout without an IBAN (€4.00)" in page
