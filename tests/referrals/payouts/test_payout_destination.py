"""Issue #17, finding 8 (part): the bank CSV read the advocate's payout details when it was
exported, not as the batch was approved, so details changed after approval (by the advocate,
or by whoever took over their account) received money nobody approved for them. A payout's
destination is fixed when its batch is approved; the CSV and the Stripe transfer pay there;
details changed afterwards hold the payout until a manager with the payout permission confirms
them (audited, masked)."""

import csv
import io

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.core import mail
from django.urls import reverse

from advocacy.models import Advocate
from kernel.errors import ServiceError
from referrals.models import AuditEvent, Payout, PayoutBatch
from referrals.payouts import services as payouts
from referrals.payouts.bank_csv import bank_csv_rows
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

APPROVED_IBAN = "DE89370400440532013000"
NEW_IBAN = "GB29NWBK60161331926819"


def set_details(advocate, **details):
    Advocate.objects.filter(pk=advocate.pk).update(
        payout_method=Advocate.PayoutMethod.BANK,
        payout_details={"account_holder": "Anna Example", **details},
    )


def approved(build, manager, rep_code, **kwargs) -> Payout:
    batch = build(**kwargs)
    payouts.payout_batch_approve(batch_id=batch.pk, actor=manager, password=PASSWORD)
    payouts.payout_batch_execute(batch_id=batch.pk, actor=manager)
    return Payout.objects.select_related("batch").get(batch=batch)


def csv_accounts(batch) -> dict:
    rows = list(csv.DictReader(io.StringIO(_write(bank_csv_rows(batch)))))
    return {int(row["payout_id"]): row["account"] for row in rows}


def _write(rows) -> str:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue()


def test_approval_fixes_where_the_money_goes(build, manager, rep_code):
    set_details(rep_code.advocate, iban=APPROVED_IBAN)

    payout = approved(build, manager, rep_code)

    assert (payout.destination_method, payout.destination_account) == ("bank", APPROVED_IBAN)
    assert payout.destination_holder == "Anna Example"
    assert payout.destination_fixed_at is not None


def test_details_changed_after_approval_are_not_paid_by_the_csv_or_by_hand(
    build, manager, rep_code
):
    set_details(rep_code.advocate, iban=APPROVED_IBAN)
    payout = approved(build, manager, rep_code)
    set_details(rep_code.advocate, iban=NEW_IBAN)

    accounts = csv_accounts(payout.batch)
    with pytest.raises(ServiceError) as refused:
        payouts.payout_mark_paid(payout_id=payout.pk, actor=manager, reference="bank-1")

    assert payout.pk not in accounts
    assert NEW_IBAN not in _write(bank_csv_rows(payout.batch))
    assert refused.value.code == "destination_changed"
    assert Payout.objects.get(pk=payout.pk).status == Payout.Status.PENDING


def test_a_confirmed_change_is_paid_to_the_new_details_with_an_audit_row(build, manager, rep_code):
    set_details(rep_code.advocate, iban=APPROVED_IBAN)
    payout = approved(build, manager, rep_code)
    set_details(rep_code.advocate, iban=NEW_IBAN)

    payouts.payout_destination_confirm(payout_id=payout.pk, actor=manager)

    assert csv_accounts(payout.batch) == {payout.pk: NEW_IBAN}
    confirmed = AuditEvent.objects.get(action="payout_destination_confirmed")
    assert confirmed.actor == manager
    assert confirmed.data["before"] == "Bank transfer, IBAN •••• 3000"
    assert confirmed.data["after"] == "Bank transfer, IBAN •••• 6819"
    assert NEW_IBAN not in str(confirmed.data)
    payouts.payout_mark_paid(payout_id=payout.pk, actor=manager, reference="bank-1")
    assert Payout.objects.get(pk=payout.pk).status == Payout.Status.PAID


def test_only_a_manager_with_the_payout_permission_confirms(build, manager, rep_code):
    set_details(rep_code.advocate, iban=APPROVED_IBAN)
    payout = approved(build, manager, rep_code)
    set_details(rep_code.advocate, iban=NEW_IBAN)

    with pytest.raises(ServiceError) as refused:
        payouts.payout_destination_confirm(payout_id=payout.pk, actor=UserFactory(is_staff=True))

    assert refused.value.code == "permission_denied"
    assert Payout.objects.get(pk=payout.pk).destination_account == APPROVED_IBAN


def test_stripe_pays_the_account_approved_and_holds_a_newly_connected_one(
    fake_stripe, build, manager, rep_code
):
    advocate = rep_code.advocate
    Advocate.objects.filter(pk=advocate.pk).update(
        stripe_account_id="acct_1Approved", stripe_payouts_enabled=True
    )
    payout = approved(build, manager, rep_code, backend=PayoutBatch.Backend.STRIPE_CONNECT)
    Advocate.objects.filter(pk=advocate.pk).update(stripe_account_id="acct_1Other")

    held = payouts.payout_execute(payout_id=payout.pk)

    assert held.status == Payout.Status.PENDING
    assert fake_stripe.transfers == []
    assert AuditEvent.objects.filter(action="payout_held", object_id=payout.pk).count() == 1

    payouts.payout_destination_confirm(payout_id=payout.pk, actor=manager)
    paid = payouts.payout_execute(payout_id=payout.pk)

    assert paid.status == Payout.Status.PAID
    assert [t["destination"] for t in fake_stripe.transfers] == ["acct_1Other"]


def test_a_held_stripe_payout_tells_the_advocate_once_after_commit(
    django_capture_on_commit_callbacks, fake_stripe, build, manager, rep_code
):
    advocate = rep_code.advocate
    Advocate.objects.filter(pk=advocate.pk).update(
        stripe_account_id="acct_1Approved", stripe_payouts_enabled=True
    )
    payout = approved(build, manager, rep_code, backend=PayoutBatch.Backend.STRIPE_CONNECT)
    Advocate.objects.filter(pk=advocate.pk).update(stripe_account_id="acct_1Other")
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=False) as before_commit:
        payouts.payout_execute(payout_id=payout.pk)
    assert mail.outbox == []  # nothing is sent before the hold is committed
    for callback in before_commit:
        callback()
    with django_capture_on_commit_callbacks(execute=True):
        payouts.payout_execute(payout_id=payout.pk)  # a task retry holds it again: no 2nd email

    [notice] = mail.outbox
    assert notice.to == [advocate.user.email]
    assert notice.subject.startswith("Your payout waits for a check of your new payout details")
    assert "€8.00 is on hold" in notice.body
    assert "your payout details were changed after the payout was approved" in notice.body
    assert "Once they confirm them, the payout is sent to your new details" in notice.body
    assert "acct_1" not in notice.body


def test_a_payout_left_out_of_the_bank_csv_is_held_and_the_advocate_told(
    django_capture_on_commit_callbacks, build, manager, rep_code
):
    set_details(rep_code.advocate, iban=APPROVED_IBAN)
    payout = approved(build, manager, rep_code)
    set_details(rep_code.advocate, iban=NEW_IBAN)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        payouts.payout_batch_csv_export(batch_id=payout.batch_id, actor=manager)
    with django_capture_on_commit_callbacks(execute=True):
        payouts.payout_batch_csv_export(batch_id=payout.batch_id, actor=manager)

    assert AuditEvent.objects.filter(action="payout_held", object_id=payout.pk).count() == 1
    [notice] = mail.outbox
    assert notice.to == [rep_code.advocate.user.email]
    assert "is on hold" in notice.body
    assert NEW_IBAN not in notice.body


def test_a_retry_keeps_the_approved_destination(build, manager, rep_code):
    set_details(rep_code.advocate, iban=APPROVED_IBAN)
    payout = approved(build, manager, rep_code)
    payouts.payout_mark_failed(payout_id=payout.pk, actor=manager, reason="Bounced")
    set_details(rep_code.advocate, iban=NEW_IBAN)

    retry = payouts.payout_retry(payout_id=payout.pk, actor=manager)

    assert retry.destination_account == APPROVED_IBAN
    assert (retry.destination_method, retry.destination_holder) == ("bank", "Anna Example")
    assert retry.pk not in csv_accounts(payout.batch)


def test_the_review_page_asks_to_confirm_changed_details_in_a_sentence(
    client, build, manager, rep_code
):
    set_details(rep_code.advocate, iban=APPROVED_IBAN)
    payout = approved(build, manager, rep_code)
    set_details(rep_code.advocate, iban=NEW_IBAN)
    client.force_login(manager)
    review = reverse("payouts:inspect", args=[payout.batch_id])

    page = client.get(review).content.decode()
    confirmed = client.post(reverse("payouts:payout_confirm_destination", args=[payout.pk]))

    assert "Payout details changed after approval" in page
    assert (
        "Approved to pay Bank transfer, IBAN •••• 3000; the advocate has changed it to Bank "
        "transfer, IBAN •••• 6819. Nothing is paid until you confirm the new details."
    ) in page
    assert "Confirm the new details" in page
    assert NEW_IBAN not in page
    assert confirmed.status_code == 302
    assert [str(m).strip() for m in get_messages(confirmed.wsgi_request)] == [
        f"Payout {payout.pk} of €8.00 will be paid to Bank transfer, IBAN •••• 6819."
    ]
    assert "Confirm the new details" not in client.get(review).content.decode()


def test_a_held_payout_is_audited_once_per_change_of_details(fake_stripe, build, manager, rep_code):
    """Each task retry of a held payout finds it held again: one `payout_held` row, until the
    manager confirms; a change after that confirmation is held (and audited) anew."""
    advocate = rep_code.advocate
    Advocate.objects.filter(pk=advocate.pk).update(
        stripe_account_id="acct_1Approved", stripe_payouts_enabled=True
    )
    payout = approved(build, manager, rep_code, backend=PayoutBatch.Backend.STRIPE_CONNECT)
    Advocate.objects.filter(pk=advocate.pk).update(stripe_account_id="acct_1Other")

    payouts.payout_execute(payout_id=payout.pk)
    payouts.payout_execute(payout_id=payout.pk)

    [row] = AuditEvent.objects.filter(action="payout_held")
    assert (row.object_type, row.object_id, row.actor) == ("payout", payout.pk, None)
    assert row.reason == "Payout details changed after approval; a manager must confirm them."

    payouts.payout_destination_confirm(payout_id=payout.pk, actor=manager)
    Advocate.objects.filter(pk=advocate.pk).update(stripe_account_id="acct_1Third")
    payouts.payout_execute(payout_id=payout.pk)
    payouts.payout_execute(payout_id=payout.pk)

    assert AuditEvent.objects.filter(action="payout_held").count() == 2
    assert fake_stripe.transfers == []


def test_staff_given_only_the_payout_permission_confirm_a_change(build, manager, rep_code):
    set_details(rep_code.advocate, iban=APPROVED_IBAN)
    payout = approved(build, manager, rep_code)
    set_details(rep_code.advocate, iban=NEW_IBAN)
    treasurer = UserFactory(is_staff=True, is_superuser=False)
    treasurer.user_permissions.add(
        Permission.objects.get(content_type__app_label="referrals", codename="approve_payoutbatch")
    )

    payouts.payout_destination_confirm(payout_id=payout.pk, actor=treasurer)

    payout.refresh_from_db()
    assert (payout.destination_method, payout.destination_account) == ("bank", NEW_IBAN)
    assert payout.destination_holder == "Anna Example"


def test_only_a_changed_destination_of_a_payout_still_to_pay_is_confirmed(
    fake_stripe, build, manager, rep_code
):
    advocate = rep_code.advocate
    Advocate.objects.filter(pk=advocate.pk).update(
        stripe_account_id="acct_1Approved", stripe_payouts_enabled=True
    )
    payout = approved(build, manager, rep_code, backend=PayoutBatch.Backend.STRIPE_CONNECT)
    with pytest.raises(ServiceError) as unchanged:
        payouts.payout_destination_confirm(payout_id=payout.pk, actor=manager)
    assert unchanged.value.code == "destination_unchanged"

    Advocate.objects.filter(pk=advocate.pk).update(stripe_account_id="")
    with pytest.raises(ServiceError) as missing:
        payouts.payout_destination_confirm(payout_id=payout.pk, actor=manager)
    assert missing.value.code == "destination_missing"

    Advocate.objects.filter(pk=advocate.pk).update(stripe_account_id="acct_1Other")
    payouts.payout_mark_failed(payout_id=payout.pk, actor=manager, reason="Bounced")
    with pytest.raises(ServiceError) as settled:
        payouts.payout_destination_confirm(payout_id=payout.pk, actor=manager)
    assert settled.value.code == "payout_not_pending"
    assert Payout.objects.get(pk=payout.pk).destination_account == "acct_1Approved"


def test_a_payout_approved_before_destinations_were_fixed_is_confirmed_from_nothing(
    build, manager, rep_code
):
    set_details(rep_code.advocate, iban=APPROVED_IBAN)
    payout = approved(build, manager, rep_code)
    Payout.objects.filter(pk=payout.pk).update(
        destination_method="", destination_account="", destination_fixed_at=None
    )

    payouts.payout_destination_confirm(payout_id=payout.pk, actor=manager)

    confirmed = AuditEvent.objects.get(action="payout_destination_confirmed")
    assert confirmed.data == {"before": "", "after": "Bank transfer, IBAN •••• 3000"}
    assert Payout.objects.get(pk=payout.pk).destination_fixed_at is not None


@pytest.mark.parametrize(
    ("backend", "execute", "queued_pk"),
    [
        (PayoutBatch.Backend.STRIPE_CONNECT, True, True),
        (PayoutBatch.Backend.STRIPE_CONNECT, False, False),  # approved, not released yet
        (PayoutBatch.Backend.MANUAL, True, False),  # paid by hand from the CSV
    ],
)
def test_a_confirmed_stripe_payout_of_a_released_batch_is_sent_again(
    monkeypatch, build, manager, rep_code, backend, execute, queued_pk
):
    from referrals.payouts.services import payouts as payout_service

    queued = []
    monkeypatch.setattr(payout_service, "enqueue_on_commit", lambda *call: queued.append(call))
    advocate = rep_code.advocate
    set_details(advocate, iban=APPROVED_IBAN)
    Advocate.objects.filter(pk=advocate.pk).update(stripe_account_id="acct_1Approved")
    batch = build(backend=backend)
    payouts.payout_batch_approve(batch_id=batch.pk, actor=manager, password=PASSWORD)
    if execute:
        payouts.payout_batch_execute(batch_id=batch.pk, actor=manager)
    payout = batch.payouts.get()
    set_details(advocate, iban=NEW_IBAN)
    Advocate.objects.filter(pk=advocate.pk).update(stripe_account_id="acct_1Other")
    queued.clear()

    payouts.payout_destination_confirm(payout_id=payout.pk, actor=manager)

    expected = [("referrals.tasks.payout_execute", payout.pk)] if queued_pk else []
    assert [call for call in queued if call[0] == "referrals.tasks.payout_execute"] == expected


def test_a_payout_of_a_batch_not_yet_approved_has_no_destination_to_confirm(
    build, manager, rep_code
):
    set_details(rep_code.advocate, iban=APPROVED_IBAN)
    draft = build().payouts.get()

    with pytest.raises(ServiceError) as refused:
        payouts.payout_destination_confirm(payout_id=draft.pk, actor=manager)

    assert refused.value.code == "payout_not_pending"
    assert Payout.objects.get(pk=draft.pk).destination_fixed_at is None


def test_each_held_payout_of_a_batch_is_audited(
    fake_stripe, build, manager, rep_code, other_rep_code
):
    from datetime import timedelta

    from django.utils import timezone

    from referrals.services.commissions import commission_approve
    from tests.factories import sale

    theirs = sale(other_rep_code, "theirs", 4_000, timezone.now() - timedelta(days=60))
    commission_approve(commission_id=theirs.commission.pk, actor=manager)
    advocates = [rep_code.advocate, other_rep_code.advocate]
    Advocate.objects.filter(pk__in=[a.pk for a in advocates]).update(
        stripe_account_id="acct_1Approved", stripe_payouts_enabled=True
    )
    batch = build(backend=PayoutBatch.Backend.STRIPE_CONNECT)
    payouts.payout_batch_approve(batch_id=batch.pk, actor=manager, password=PASSWORD)
    payouts.payout_batch_execute(batch_id=batch.pk, actor=manager)
    Advocate.objects.filter(pk__in=[a.pk for a in advocates]).update(stripe_account_id="acct_1New")

    for payout in batch.payouts.all():
        payouts.payout_execute(payout_id=payout.pk)

    held = AuditEvent.objects.filter(action="payout_held").values_list("object_id", flat=True)
    assert sorted(held) == sorted(batch.payouts.values_list("pk", flat=True))
    assert fake_stripe.transfers == []
