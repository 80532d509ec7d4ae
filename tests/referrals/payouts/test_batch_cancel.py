"""Issue #16, finding 2: cancelling a batch cancels its payouts. Before, they stayed `pending`
forever: the figures showed the money payable and in flight at once (twice after a rebuild),
and marking one failed wrote its release a second time (IntegrityError, a 500)."""

import pytest
from django.urls import reverse

from kernel.errors import ServiceError
from referrals.ledger_selectors import balance, payable_balance
from referrals.models import AuditEvent, Commission, LedgerEntry, Payout
from referrals.payouts import services as payouts
from referrals.selectors import advocate_balance, advocate_overview
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def cancel(batch, manager):
    return payouts.payout_batch_cancel(batch_id=batch.pk, actor=manager, reason="Wrong month")


def test_cancelling_a_batch_cancels_its_payouts_and_gives_the_money_back_once(
    build, manager, rep_code, approved
):
    batch = build()
    payout = batch.payouts.get()
    assert payable_balance(rep_code.advocate, "EUR") == 0

    cancel(batch, manager)

    payout.refresh_from_db()
    assert payout.status == Payout.Status.CANCELLED
    assert payout.failure_reason == "Batch cancelled: Wrong month"
    released = LedgerEntry.objects.filter(reference=f"payout:{payout.pk}")
    assert sorted(released.values_list("kind", "amount")) == [
        ("paid", -payout.amount),
        ("payout_failed", payout.amount),
    ]
    assert payable_balance(rep_code.advocate, "EUR") == balance(rep_code.advocate, "EUR") == 800
    assert not Commission.objects.filter(payout=payout).exists()
    assert AuditEvent.objects.filter(action="payout_cancelled", object_id=payout.pk).count() == 1


def test_cancelled_payouts_are_not_in_flight_and_a_rebuild_pays_the_money_once(
    build, manager, rep_code, approved
):
    cancel(build(), manager)
    figures = advocate_balance(rep_code.advocate)
    assert (figures.payable, figures.in_flight) == (800, 0)

    rebuilt = build()

    payout = rebuilt.payouts.get()
    assert payout.amount == 800
    _, figures = advocate_overview(rep_code.advocate)
    assert (figures.payable, figures.in_flight) == (0, 800)
    assert set(Commission.objects.values_list("payout_id", flat=True)) == {payout.pk}


def test_the_api_stats_do_not_count_a_cancelled_payout_in_flight(client, build, manager, rep_code):
    from referrals.api.keys import api_key_create

    cancel(build(), manager)
    _, key = api_key_create(name="Shop", programmes=[rep_code.advocate.programme])

    body = client.get(
        f"/api/v1/advocates/{rep_code.advocate_id}/stats", HTTP_AUTHORIZATION=f"Bearer {key}"
    ).json()

    assert (body["payable"], body["in_flight"]) == (800, 0)


@pytest.mark.parametrize("operation", ["mark_failed", "mark_paid", "retry", "execute"])
def test_every_operation_on_a_cancelled_payout_is_a_service_error(build, manager, operation):
    batch = build()
    payout = batch.payouts.get()
    cancel(batch, manager)
    entries = LedgerEntry.objects.count()
    calls = {
        "mark_failed": lambda: payouts.payout_mark_failed(
            payout_id=payout.pk, actor=manager, reason="Bounced"
        ),
        "mark_paid": lambda: payouts.payout_mark_paid(payout_id=payout.pk, actor=manager),
        "retry": lambda: payouts.payout_retry(payout_id=payout.pk, actor=manager),
        "execute": lambda: payouts.payout_execute(payout_id=payout.pk),
    }

    with pytest.raises(ServiceError) as refused:
        calls[operation]()

    assert refused.value.code == "payout_cancelled"
    assert "cancelled" in refused.value.message
    assert LedgerEntry.objects.count() == entries
    assert Payout.objects.get(pk=payout.pk).status == Payout.Status.CANCELLED


def test_marking_a_cancelled_payout_failed_in_the_admin_is_a_message_not_a_500(
    client, build, manager
):
    batch = build()
    payout = batch.payouts.get()
    cancel(batch, manager)
    client.force_login(manager)

    response = client.post(reverse("payouts:payout_failed", args=[payout.pk]), {"reason": "x"})

    assert response.status_code == 302
    messages = [str(m) for m in response.wsgi_request._messages]
    assert any("cancelled" in m for m in messages)


def test_a_cancelled_batch_can_not_be_approved_or_executed(build, manager):
    batch = build()
    cancel(batch, manager)
    with pytest.raises(ServiceError):
        payouts.payout_batch_approve(batch_id=batch.pk, actor=manager, password=PASSWORD)
    with pytest.raises(ServiceError):
        payouts.payout_batch_execute(batch_id=batch.pk, actor=manager)


def test_the_advocate_sees_a_cancelled_payout_as_cancelled_not_waiting(
    client, build, manager, rep_code
):
    cancel(build(), manager)
    client.force_login(rep_code.advocate.user)

    page = client.get(reverse("payout_history")).content.decode()

    assert "Cancelled before it was sent" in page
    assert "Waiting for the programme to send it" not in page


def test_the_review_page_of_a_cancelled_batch_shows_its_payouts_cancelled(client, build, manager):
    batch = build()
    cancel(batch, manager)
    client.force_login(manager)

    response = client.get(reverse("payouts:inspect", args=[batch.pk]))

    assert response.status_code == 200
    progress = response.context["progress"]
    assert (progress.pending, progress.open_amount) == (0, 0)
    [row] = response.context["rows"]
    assert row.payout.get_status_display() == "Cancelled"
    assert "Cancelled" in response.content.decode()
