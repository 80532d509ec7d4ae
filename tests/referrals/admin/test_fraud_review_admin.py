"""Managers resolve fraud signals and add bonuses or corrections in the admin."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from referrals.models import Adjustment, AuditEvent, Commission, FraudSignal, LedgerEntry, Order
from referrals.services.orders import order_ingest
from tests.factories import AdvocateFactory, RepCodeFactory

from .conftest import messages_of

pytestmark = pytest.mark.django_db

SIGNALS = reverse("fraud_signals:index")
ADJUST = "/admin/referrals/adjustments/add/"


def flagged_order(programme, *, external_id="self-1", arrived_days_ago=40):
    rep = RepCodeFactory(advocate=AdvocateFactory(programme=programme))
    result = order_ingest(
        source="api",
        external_id=external_id,
        currency="EUR",
        gross_amount=10000,
        code=rep.code,
        shopper_email=rep.advocate.user.email,
    )
    Order.objects.filter(pk=result.order.pk).update(
        created_at=timezone.now() - timedelta(days=arrived_days_ago)
    )
    return FraudSignal.objects.get(order=result.order)


def resolve(client, signal, **data):
    return client.post(reverse("fraud_signals:resolve", args=[signal.pk]), data)


def test_signals_list_open_first_with_a_resolve_action(client, manager, programme):
    older_open = flagged_order(programme, external_id="a")
    resolved = flagged_order(programme, external_id="b")
    newest_open = flagged_order(programme, external_id="c")
    resolve(client, resolved, outcome="dismiss", reason="Test order")

    response = client.get(SIGNALS)

    assert [s.pk for s in response.context["object_list"]] == [
        newest_open.pk,
        older_open.pk,
        resolved.pk,
    ]
    page = response.content.decode()
    assert page.count("/admin/fraud-signals/resolve/") == 2
    assert f"Dismissed by {manager.email}" in page


def test_granting_a_flagged_orders_commission_from_the_admin(client, manager, programme):
    signal = flagged_order(programme)

    form = client.get(reverse("fraud_signals:resolve", args=[signal.pk]))
    response = resolve(client, signal, outcome="credit", reason="Staff purchase is allowed")

    assert form.status_code == 200
    assert response.status_code == 302
    commission = Commission.objects.get()
    assert (commission.status, commission.amount, commission.advocate) == (
        "approved",
        1000,
        signal.advocate,
    )
    assert messages_of(response) == [
        f"Granted and approved €10.00 to {signal.advocate.user.email}."
    ]
    order_page = client.get(reverse("orders:inspect", args=[signal.order_id])).content.decode()
    assert f"Self-referral: Commission granted by {manager.email}" in order_page
    assert "(Staff purchase is allowed)" in order_page


def test_granting_within_the_hold_says_it_stays_pending(client, manager, programme):
    signal = flagged_order(programme, arrived_days_ago=5)

    response = resolve(client, signal, outcome="credit")

    assert Commission.objects.get().status == "pending"
    assert "it stays pending, on hold until" in messages_of(response)[0]


def test_dismissing_without_a_reason_is_a_field_error_that_changes_nothing(
    client, manager, programme
):
    signal = flagged_order(programme)

    response = resolve(client, signal, outcome="dismiss", reason="  ")

    assert response.status_code == 200
    assert response.context["form"].errors == {"reason": ["Say why the signal is dismissed."]}
    assert FraudSignal.objects.get().resolved_at is None
    assert not AuditEvent.objects.filter(object_type="fraudsignal").exists()


def test_resolving_twice_is_a_form_error_not_a_500(client, manager, programme):
    signal = flagged_order(programme)
    resolve(client, signal, outcome="dismiss", reason="Fine")

    response = resolve(client, signal, outcome="credit")

    assert response.status_code == 200
    assert "already resolved (dismissed)" in response.content.decode()
    assert not Commission.objects.exists()


def test_resolving_and_adjusting_need_their_permissions(client, support_user, programme):
    signal = flagged_order(programme)
    advocate = signal.advocate

    refused = resolve(client, signal, outcome="dismiss", reason="x")
    refused_adjust = client.post(ADJUST, {"advocate": advocate.pk})

    assert refused.status_code == refused_adjust.status_code == 302
    assert refused["Location"] == reverse("wagtailadmin_home")
    assert FraudSignal.objects.get().resolved_at is None
    assert not Adjustment.objects.exists()

    support_user.groups.first().permissions.add(
        *Permission.objects.filter(codename__in=["change_fraudsignal", "add_adjustment"])
    )
    support_user = type(support_user).objects.get(pk=support_user.pk)
    client.force_login(support_user)
    assert resolve(client, signal, outcome="dismiss", reason="Checked").status_code == 302
    assert client.get(ADJUST, {"advocate": advocate.pk}).status_code == 200


def adjust_form(client, advocate):
    page = client.get(ADJUST, {"advocate": advocate.pk})
    return re.search(r'name="token" value="([0-9a-f-]+)"', page.content.decode()).group(1), page


def test_a_manager_adds_a_bonus_typed_in_euros_once_however_often_it_is_sent(client, manager):
    advocate = AdvocateFactory()
    token, page = adjust_form(client, advocate)
    data = {
        "advocate": advocate.pk,
        "kind": "bonus",
        "amount": "12.50",
        "reason": "Best month",
        "token": token,
    }

    first = client.post(f"{ADJUST}?advocate={advocate.pk}", data)
    again = client.post(f"{ADJUST}?advocate={advocate.pk}", data)

    assert advocate.user.email in page.content.decode()
    assert first.status_code == again.status_code == 302
    entry = LedgerEntry.objects.get()
    adjustment = Adjustment.objects.get()
    assert (entry.kind, entry.amount, entry.currency, entry.reference) == (
        "adjustment",
        1250,
        "EUR",
        f"adjustment:{adjustment.pk}",
    )
    assert messages_of(first) == [f"Added a bonus of €12.50 for {advocate.user.email}."]
    assert AuditEvent.objects.get().actor == manager


@pytest.mark.parametrize(
    ("amount", "kind", "error"),
    [
        ("twelve", "bonus", "Enter an amount in EUR, like 12.50"),
        ("1.005", "bonus", "Enter an amount in EUR, like 12.50"),
        ("-5", "bonus", "A bonus adds money; use a correction to take some away."),
        ("-5", "correction", "A correction can't take the balance below zero: €0.00 is payable"),
    ],
)
def test_bad_adjustments_are_field_errors_that_change_nothing(client, manager, amount, kind, error):
    advocate = AdvocateFactory()
    token, _ = adjust_form(client, advocate)

    response = client.post(
        ADJUST,
        {"advocate": advocate.pk, "kind": kind, "amount": amount, "reason": "x", "token": token},
    )

    assert response.status_code == 200
    assert error in " ".join(response.context["form"].errors["amount"])
    assert not LedgerEntry.objects.exists()


def test_the_adjustments_list_offers_the_add_button(client, manager):
    page = client.get(reverse("adjustments:index")).content.decode()

    assert "Add a bonus or correction" in page
    assert reverse("adjustments:create") == ADJUST


def test_an_unknown_advocate_is_a_field_error(client, manager):
    response = client.post(
        ADJUST,
        {
            "advocate": 999999,
            "kind": "bonus",
            "amount": "1",
            "reason": "x",
            "token": "0b3c1f9e-0000-4000-8000-000000000000",
        },
    )

    assert response.status_code == 200
    assert response.context["form"].errors["advocate"] == ["There is no advocate with that number."]


def test_the_advocate_sees_a_correction_with_its_reason_in_their_payout_history(
    client, manager, programme
):
    advocate = AdvocateFactory(programme=programme)
    other = AdvocateFactory(programme=programme)
    for who, amount, reason in [(advocate, "7.25", "Missed order 1234"), (other, "3", "Not yours")]:
        token, _ = adjust_form(client, who)
        client.post(
            ADJUST,
            {
                "advocate": who.pk,
                "kind": "correction",
                "amount": amount,
                "reason": reason,
                "token": token,
            },
        )
    client.force_login(advocate.user)

    page = client.get(reverse("payout_history")).content.decode()

    assert "Bonuses and corrections" in page
    assert re.search(
        r"€7\.25</strong></td>\s*<td>Correction</td>\s*<td[^>]*>Missed order 1234", page
    )
    assert "Not yours" not in page
