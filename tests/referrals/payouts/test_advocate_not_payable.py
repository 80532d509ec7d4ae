"""Issue #16, finding 4: a banned or paused advocate's payout is not paid, whatever the door
(retry, execute, mark paid by hand). Before, Retry paid a banned advocate. The refusal is a
ServiceError with a stable code, audited, and the money stays in the advocate's balance."""

import pytest
from django.urls import reverse

from advocacy.models import Advocate
from kernel.errors import ServiceError
from referrals.ledger_selectors import balance
from referrals.models import AuditEvent, LedgerEntry, Payout, PayoutBatch
from referrals.payouts import services as payouts
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

NOT_PAYABLE = [Advocate.Status.BANNED, Advocate.Status.PAUSED]


def executing(build, manager, **kwargs) -> Payout:
    batch = build(**kwargs)
    payouts.payout_batch_approve(batch_id=batch.pk, actor=manager, password=PASSWORD)
    payouts.payout_batch_execute(batch_id=batch.pk, actor=manager)
    return batch.payouts.get()


def set_status(advocate, status):
    Advocate.objects.filter(pk=advocate.pk).update(status=status)


def refusals(payout):
    return AuditEvent.objects.filter(action="payout_refused", object_id=payout.pk)


@pytest.mark.parametrize("status", NOT_PAYABLE)
def test_retry_refuses_a_banned_or_paused_advocate_and_keeps_the_money(
    build, manager, rep_code, status
):
    payout = executing(build, manager)
    payouts.payout_mark_failed(payout_id=payout.pk, actor=manager, reason="Bounced")
    set_status(rep_code.advocate, status)

    with pytest.raises(ServiceError) as refused:
        payouts.payout_retry(payout_id=payout.pk, actor=manager)

    assert refused.value.code == "advocate_not_payable"
    assert status in refused.value.message
    assert Payout.objects.count() == 1
    assert balance(rep_code.advocate, "EUR") == 800
    row = refusals(payout).get()
    assert (row.data["advocate_status"], row.data["operation"]) == (status, "retry")
    assert row.actor == manager


@pytest.mark.parametrize("status", NOT_PAYABLE)
def test_mark_paid_by_hand_refuses_a_banned_or_paused_advocate(build, manager, rep_code, status):
    payout = executing(build, manager)
    set_status(rep_code.advocate, status)
    entries = LedgerEntry.objects.count()

    with pytest.raises(ServiceError) as refused:
        payouts.payout_mark_paid(payout_id=payout.pk, actor=manager, reference="bank-1")

    assert refused.value.code == "advocate_not_payable"
    assert Payout.objects.get(pk=payout.pk).status == Payout.Status.PENDING
    assert LedgerEntry.objects.count() == entries
    row = refusals(payout).get()
    assert (row.actor, row.data["operation"]) == (manager, "mark_paid")
    # Marking it failed is what gives the money back to the (frozen) balance.
    payouts.payout_mark_failed(payout_id=payout.pk, actor=manager, reason="Banned")
    assert balance(rep_code.advocate, "EUR") == 800


@pytest.mark.parametrize("status", NOT_PAYABLE)
def test_execute_refuses_a_banned_or_paused_advocate_and_sends_nothing(
    fake_stripe, build, manager, rep_code, status
):
    advocate = rep_code.advocate
    advocate.stripe_account_id = "acct_1Good"
    advocate.stripe_payouts_enabled = True
    advocate.save(update_fields=["stripe_account_id", "stripe_payouts_enabled"])
    payout = executing(build, manager, backend=PayoutBatch.Backend.STRIPE_CONNECT)
    set_status(advocate, status)

    with pytest.raises(ServiceError) as refused:
        payouts.payout_execute(payout_id=payout.pk)

    assert refused.value.code == "advocate_not_payable"
    assert fake_stripe.transfers == []
    payout.refresh_from_db()
    assert payout.status == Payout.Status.FAILED
    assert balance(advocate, "EUR") == 800
    assert refusals(payout).get().data["operation"] == "execute"
    assert PayoutBatch.objects.get(pk=payout.batch_id).status == PayoutBatch.Status.DONE


def test_the_retry_button_shows_the_refusal(client, build, manager, rep_code):
    payout = executing(build, manager)
    payouts.payout_mark_failed(payout_id=payout.pk, actor=manager, reason="Bounced")
    set_status(rep_code.advocate, Advocate.Status.BANNED)
    client.force_login(manager)

    response = client.post(reverse("payouts:payout_retry", args=[payout.pk]))

    assert response.status_code == 302
    assert any("banned" in str(m) for m in response.wsgi_request._messages)
    assert Payout.objects.count() == 1
