"""Pausing, banning and reactivating an advocate from their page: with a reason, audited, by
managers who may change advocates, and with what a paused or banned status already means."""

import pytest
from django.urls import reverse

from advocacy.models import Advocate
from referrals.models import AuditEvent, FraudSignal
from tests.factories import AdvocateFactory, RepCodeFactory, sale

pytestmark = pytest.mark.django_db


def change_status(client, advocate, **data):
    return client.post(reverse("advocates:inspect", args=[advocate.pk]), data)


def advocate_audit(advocate):
    return list(AuditEvent.objects.filter(object_type="advocate", object_id=advocate.pk))


@pytest.mark.parametrize(
    ("action", "status", "audit_action"),
    [("pause", "paused", "advocate_paused"), ("ban", "banned", "advocate_banned")],
)
def test_pausing_or_banning_with_a_reason_is_audited_and_shown(
    client, manager, advocate, action, status, audit_action
):
    response = change_status(client, advocate, action=action, reason="Codes posted on coupon sites")

    assert response.status_code == 302
    advocate.refresh_from_db()
    assert advocate.status == status
    assert advocate.status_reason == "Codes posted on coupon sites"
    [event] = advocate_audit(advocate)
    assert (event.action, event.actor, event.reason) == (
        audit_action,
        manager,
        "Codes posted on coupon sites",
    )
    assert event.data == {"before": "active", "after": status}
    html = client.get(response["Location"]).content.decode()
    assert "Reason: Codes posted on coupon sites" in html
    assert status.capitalize() in html


def test_reactivating_a_paused_advocate_is_audited(client, manager, advocate):
    change_status(client, advocate, action="pause", reason="Checking a complaint")

    response = change_status(client, advocate, action="reactivate", reason="")

    assert response.status_code == 302
    advocate.refresh_from_db()
    assert advocate.status == Advocate.Status.ACTIVE
    assert [e.action for e in advocate_audit(advocate)] == [
        "advocate_reactivated",
        "advocate_paused",
    ]


@pytest.mark.parametrize("action", ["pause", "ban"])
def test_pausing_or_banning_without_a_reason_is_refused_and_changes_nothing(
    client, manager, advocate, action
):
    response = change_status(client, advocate, action=action, reason="   ")

    assert response.status_code == 200
    assert "reason" in response.context["status_form"].errors
    assert "Say why you" in response.content.decode()
    advocate.refresh_from_db()
    assert advocate.status == Advocate.Status.ACTIVE
    assert advocate_audit(advocate) == []


def test_an_unknown_action_is_a_field_error(client, manager, advocate):
    response = change_status(client, advocate, action="delete", reason="x")

    assert response.status_code == 200
    assert "action" in response.context["status_form"].errors
    advocate.refresh_from_db()
    assert advocate.status == Advocate.Status.ACTIVE


def test_without_the_change_permission_it_is_forbidden_and_changes_nothing(
    client, viewer, advocate
):
    page = client.get(reverse("advocates:inspect", args=[advocate.pk]))
    response = change_status(client, advocate, action="ban", reason="Because")

    assert page.status_code == 200
    assert "Change status" not in page.content.decode()
    assert response.status_code == 403
    advocate.refresh_from_db()
    assert advocate.status == Advocate.Status.ACTIVE
    assert advocate_audit(advocate) == []


def test_a_paused_advocates_new_sales_earn_nothing_and_are_flagged(client, manager, programme):
    advocate = AdvocateFactory(programme=programme)
    code = RepCodeFactory(advocate=advocate)
    change_status(client, advocate, action="pause", reason="Checking a complaint")

    result = sale(code, "after-pause", 10000)

    assert result.commission is None
    assert FraudSignal.objects.filter(
        order=result.order, kind=FraudSignal.Kind.ADVOCATE_INACTIVE
    ).exists()
