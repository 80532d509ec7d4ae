"""The managers' commission queue: filters, bulk approve / reject, the hold-release button and
the audit trail on a commission's page."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from referrals.ledger_selectors import balance
from referrals.models import AuditEvent, Commission, FraudSignal, LedgerEntry
from tests.factories import AdvocateFactory, ProgrammeFactory

from .conftest import messages_of

pytestmark = pytest.mark.django_db

QUEUE = reverse("commissions:index")
DECIDE = reverse("commissions:decide")


def decide(client, action, commissions, reason="", next_url=QUEUE):
    return client.post(
        DECIDE,
        {
            "action": action,
            "commissions": [c.pk for c in commissions],
            "reason": reason,
            "next": next_url,
        },
    )


def statuses(*commissions):
    return [Commission.objects.get(pk=c.pk).status for c in commissions]


def test_manager_bulk_approves_two_due_commissions_and_rejects_one(client, manager, make_sale):
    first, second, third = make_sale(), make_sale(), make_sale()

    approved = decide(client, "approve", [first, second], reason="Checked the orders")
    rejected = decide(client, "reject", [third], reason="Order was a test purchase")

    assert approved.status_code == rejected.status_code == 302
    assert approved["Location"] == QUEUE
    assert statuses(first, second, third) == ["approved", "approved", "rejected"]
    # make_sale's commissions are 10% of €100.00 each.
    assert messages_of(approved) == ["Approved 2 commissions worth €20.00."]
    approvals = AuditEvent.objects.filter(action="commission_approved")
    assert {(e.object_id, e.actor_id, e.reason) for e in approvals} == {
        (first.pk, manager.pk, "Checked the orders"),
        (second.pk, manager.pk, "Checked the orders"),
    }
    rejection = AuditEvent.objects.get(action="commission_rejected")
    assert (rejection.object_id, rejection.actor, rejection.reason) == (
        third.pk,
        manager,
        "Order was a test purchase",
    )
    # The rejected earning is netted out of the advocate's balance.
    assert balance(third.advocate, "EUR") == 0


def test_rejecting_without_a_reason_is_refused_and_changes_nothing(client, manager, make_sale):
    commission = make_sale()

    response = decide(client, "reject", [commission], reason="   ")

    assert response.status_code == 302
    assert "Say why the commissions are rejected." in messages_of(response)
    assert statuses(commission) == ["pending"]
    assert not AuditEvent.objects.exists()


def test_a_commission_still_on_hold_is_skipped_in_one_summary_and_the_others_go_ahead(
    client, manager, make_sale
):
    due, held = make_sale(days_ago=40), make_sale(days_ago=2)

    response = decide(client, "approve", [due, held])

    assert response.status_code == 302
    assert statuses(due, held) == ["approved", "pending"]
    assert messages_of(response) == [
        "Approved 1 commission worth €10.00; 1 was skipped because 1 is still on hold."
    ]


def test_a_frozen_or_already_decided_commission_is_a_message_not_a_500(client, manager, make_sale):
    frozen, done = make_sale(), make_sale()
    Commission.objects.filter(pk=frozen.pk).update(frozen=True)
    decide(client, "approve", [done])

    response = decide(client, "reject", [frozen, done], reason="Duplicate")

    assert response.status_code == 302
    assert statuses(frozen, done) == ["rejected", "approved"]
    assert messages_of(response)[-1] == (
        "Rejected 1 commission worth €10.00; 1 was skipped because 1 was already decided."
    )


def test_ticking_nothing_is_a_message(client, manager):
    response = decide(client, "approve", [])

    assert "Tick at least one commission first." in messages_of(response)


def test_staff_without_the_change_permission_is_refused(client, support_user, make_sale):
    commission = make_sale()

    listing = client.get(QUEUE)
    response = decide(client, "approve", [commission])
    release = client.post(reverse("commissions:release_held"))

    assert listing.status_code == 200
    assert 'name="commissions"' not in listing.content.decode()
    assert "Run hold release now" not in listing.content.decode()
    # Wagtail turns PermissionDenied into "Sorry, you do not have permission" on the dashboard.
    assert (response.status_code, response["Location"]) == (302, reverse("wagtailadmin_home"))
    assert (release.status_code, release["Location"]) == (302, reverse("wagtailadmin_home"))
    assert statuses(commission) == ["pending"]
    assert not AuditEvent.objects.exists()


def test_a_group_with_change_commission_may_decide(client, support_user, staff_group, make_sale):
    staff_group.permissions.add(Permission.objects.get(codename="change_commission"))
    client.force_login(User.objects.get(pk=support_user.pk))
    commission = make_sale()

    listing = client.get(QUEUE)
    response = decide(client, "approve", [commission])

    assert f'value="{commission.pk}" form="commission-decisions"' in listing.content.decode()
    assert response.status_code == 302
    assert statuses(commission) == ["approved"]
    # The generic edit view stays off whatever the permission says.
    assert client.get(f"/admin/commissions/edit/{commission.pk}/").status_code == 404


def test_queue_filters(client, manager, make_sale, programme):
    ready = make_sale(days_ago=40)
    held = make_sale(days_ago=3)
    frozen = make_sale(days_ago=40)
    Commission.objects.filter(pk=frozen.pk).update(frozen=True)
    flagged = make_sale(days_ago=40)
    FraudSignal.objects.create(kind="self_referral", order=flagged.order, advocate=None)
    elsewhere = make_sale(advocate=AdvocateFactory(programme=ProgrammeFactory()))

    def listed(**params):
        response = client.get(QUEUE, params)
        assert response.status_code == 200
        return set(response.context["object_list"])

    assert listed(ready="true") == {ready, flagged, elsewhere}
    assert held in listed(ready="false")
    assert ready not in listed(ready="false")
    assert listed(frozen="true") == {frozen}
    assert listed(has_open_fraud="true") == {flagged}
    assert listed(programme=programme.pk) == {ready, held, frozen, flagged}
    assert listed(advocate=ready.advocate.user.email.upper()) == {ready}
    assert listed(status="pending", programme=programme.pk) == {ready, held, frozen, flagged}


def test_queue_shows_flags_and_the_ready_count(client, manager, make_sale):
    flagged = make_sale(days_ago=40)
    FraudSignal.objects.create(kind="self_referral", order=flagged.order)
    make_sale(days_ago=3)

    page = client.get(QUEUE).content.decode()

    assert "Fraud signal" in page
    assert "Ready for review" in page
    assert "1 commission ready for review" in page


def test_hold_release_button_approves_what_the_programme_auto_approves(
    client, manager, make_sale, programme
):
    programme.auto_approve_limit = 1000
    programme.save()
    small, large, held = make_sale(gross=5000), make_sale(gross=50000), make_sale(days_ago=3)

    response = client.post(reverse("commissions:release_held"), {"next": QUEUE})

    assert response.status_code == 302
    assert statuses(small, large, held) == ["approved", "pending", "pending"]
    assert any("1 commission approved automatically" in m for m in messages_of(response))
    assert AuditEvent.objects.get(action="commission_auto_approved").object_id == small.pk


def test_commission_page_shows_its_audit_trail_and_ledger(client, manager, make_sale):
    commission = make_sale()
    decide(client, "reject", [commission], reason="Returned the goods")

    response = client.get(reverse("commissions:inspect", args=[commission.pk]))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Audit trail" in page
    assert f"rejected {commission.advocate.user.display_name}" in page
    assert "Returned the goods" in page
    assert manager.email in page
    assert LedgerEntry.objects.filter(commission=commission).count() == 2
    assert "€10.00" in page
    assert "-€10.00" in page
    assert (
        reverse("audit_log:index") + f"?object_type=commission&amp;object_id={commission.pk}"
        in page
    )


def test_commission_page_offers_approve_and_reject_for_a_pending_commission(
    client, manager, make_sale
):
    commission = make_sale()
    url = reverse("commissions:inspect", args=[commission.pk])

    assert "Approve</button>" in client.get(url).content.decode()
    response = decide(client, "approve", [commission], next_url=url)

    assert response["Location"] == url
    assert statuses(commission) == ["approved"]
    assert "Approve</button>" not in client.get(url).content.decode()


def test_audit_log_lists_and_filters_events(client, manager, make_sale):
    approved, rejected = make_sale(), make_sale()
    decide(client, "approve", [approved])
    decide(client, "reject", [rejected], reason="Fraud ring")
    url = reverse("audit_log:index")

    everything = client.get(url)
    by_action = client.get(url, {"action": "commission_rejected"})
    by_object = client.get(url, {"object_type": "commission", "object_id": approved.pk})
    by_type = client.get(url, {"object_type": "payoutbatch"})

    assert everything.status_code == 200
    assert set(everything.context["object_list"]) == set(AuditEvent.objects.all())
    assert [e.object_id for e in by_action.context["object_list"]] == [rejected.pk]
    assert [e.action for e in by_object.context["object_list"]] == ["commission_approved"]
    assert not by_type.context["object_list"]
    page = by_action.content.decode()
    assert "Fraud ring" in page
    assert manager.email in page
    assert reverse("commissions:inspect", args=[rejected.pk]) in page
    event = AuditEvent.objects.get(action="commission_rejected")
    assert client.get(reverse("audit_log:inspect", args=[event.pk])).status_code == 200


def test_audit_log_is_read_only(client, manager, make_sale):
    decide(client, "approve", [make_sale()])
    event = AuditEvent.objects.get()

    for path in ("new/", f"edit/{event.pk}/", f"delete/{event.pk}/"):
        assert client.get(f"/admin/audit-log/{path}").status_code == 404
    assert timezone.now() - event.created_at < timedelta(minutes=1)
