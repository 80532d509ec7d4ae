"""Audit rows are written by the services that change state, so every door leaves one: the
admin screens (tested with the screens), a management command, a task or a shell. Each
state-changing call writes exactly one row about the object it changes."""

import io
import time
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.utils import timezone

from kernel.errors import ServiceError
from referrals.api.keys import api_key_create, api_key_revoke, api_key_set_programmes
from referrals.models import ApiKey, AuditEvent, WebhookEvent
from referrals.payouts import services as payouts
from referrals.services.commissions import commission_approve
from referrals.stripe.events import stripe_event_record, stripe_event_replay
from tests.factories import PASSWORD, ProgrammeFactory, UserFactory, sale

pytestmark = pytest.mark.django_db

LONG_AGO = timezone.now() - timedelta(days=60)


def rows_about(obj):
    return list(
        AuditEvent.objects.filter(object_type=obj._meta.model_name, object_id=obj.pk).values_list(
            "action", flat=True
        )
    )


@pytest.fixture
def manager():
    return UserFactory(is_staff=True, is_superuser=True)


# ------------------------------------------------------------------------------- API keys


def test_the_create_api_key_command_leaves_an_audit_row(programme):
    call_command("create_api_key", "Till", "--programme", programme.slug, stdout=io.StringIO())

    key = ApiKey.objects.get()
    row = AuditEvent.objects.get()
    assert (row.action, row.actor, row.object_type, row.object_id) == (
        "api_key_created",
        None,  # a command: shown as "system"
        "apikey",
        key.pk,
    )
    assert row.data == {"prefix": key.prefix, "store": "Till", "programmes": programme.name}


def test_each_key_service_audits_once(manager):
    programme = ProgrammeFactory()
    key, _ = api_key_create(name="Shop", actor=manager)
    assert rows_about(key) == ["api_key_created"]
    assert AuditEvent.objects.get().data["programmes"] == "All programmes"

    api_key_set_programmes(api_key=key, programmes=[programme], actor=manager)
    assert rows_about(key).count("api_key_programmes_set") == 1

    api_key_revoke(api_key=key, actor=manager)
    api_key_revoke(api_key=key, actor=manager)  # already revoked: nothing more
    assert rows_about(key).count("api_key_revoked") == 1
    assert AuditEvent.objects.filter(actor=manager).count() == 3


# ------------------------------------------------------------------------------ Stripe events


@pytest.fixture
def failed_event(django_capture_on_commit_callbacks, settings):
    """A refund that arrived before its payment: failed, waiting for a replay."""
    settings.STRIPE_SECRET_KEY = "sk_test_streetteam"
    refund = {
        "id": "ch_1",
        "object": "charge",
        "payment_intent": "pi_late",
        "refunds": {"data": [{"id": "re_1", "amount": 500, "status": "succeeded"}]},
    }
    payload = {
        "id": "evt_refund",
        "object": "event",
        "type": "charge.refunded",
        "created": int(time.time()),
        "data": {"object": refund},
    }
    with django_capture_on_commit_callbacks(execute=True):
        stored, _ = stripe_event_record(payload)
    stored.refresh_from_db()
    assert stored.status == WebhookEvent.Status.FAILED
    return stored


def test_a_replay_outside_the_admin_is_audited_once(failed_event):
    event = stripe_event_replay(failed_event.pk)  # as reconciliation does: no actor

    row = AuditEvent.objects.get()
    assert (row.action, row.actor, row.object_id) == ("stripe_event_replayed", None, event.pk)
    assert row.data == {
        "before": "failed",
        "after": "failed",
        "stripe_id": "evt_refund",
        "type": "charge.refunded",
    }


def test_a_replay_that_applies_nothing_is_not_audited(failed_event):
    WebhookEvent.objects.filter(pk=failed_event.pk).update(status=WebhookEvent.Status.PROCESSED)
    stripe_event_replay(failed_event.pk)
    assert not AuditEvent.objects.exists()


# ------------------------------------------------------------------------------- payouts


@pytest.fixture
def built(rep_code, manager):
    commission = sale(rep_code, "o-1", 5000, LONG_AGO).commission
    commission_approve(commission_id=commission.pk, actor=manager)
    return payouts.payout_batch_build(programme_id=rep_code.advocate.programme_id, actor=manager)


def test_each_batch_service_audits_the_batch_once(built, manager):
    assert rows_about(built) == ["batch_built"]
    payouts.payout_batch_approve(batch_id=built.pk, actor=manager, password=PASSWORD)
    assert rows_about(built).count("batch_approved") == 1
    payouts.payout_batch_execute(batch_id=built.pk, actor=manager)
    assert rows_about(built).count("batch_executed") == 1
    assert len(rows_about(built)) == 3


def test_cancelling_audits_the_batch_once(built, manager):
    payouts.payout_batch_cancel(batch_id=built.pk, actor=manager, reason="Wrong month")
    assert rows_about(built) == ["batch_cancelled", "batch_built"]


def test_each_payout_service_audits_the_payout_once(built, manager):
    payouts.payout_batch_approve(batch_id=built.pk, actor=manager, password=PASSWORD)
    payouts.payout_batch_execute(batch_id=built.pk, actor=manager)
    payout = built.payouts.get()

    payouts.payout_mark_failed(payout_id=payout.pk, actor=manager, reason="Bank said no")
    assert rows_about(payout) == ["payout_failed"]
    assert rows_about(built)[0] == "batch_done"  # its last open payout settled

    retry = payouts.payout_retry(payout_id=payout.pk, actor=manager)
    assert rows_about(retry) == ["payout_retried"]
    assert rows_about(built)[0] == "batch_reopened"

    payouts.payout_mark_paid(payout_id=retry.pk, actor=manager, reference="BANK-1")
    assert rows_about(retry) == ["payout_paid", "payout_retried"]
    assert rows_about(built).count("batch_done") == 2


def test_the_bank_file_export_returns_rows_and_audits_once(built, manager):
    with pytest.raises(ServiceError) as caught:  # not approved and released yet
        payouts.payout_batch_csv_export(batch_id=built.pk, actor=manager)
    assert caught.value.code == "batch_not_exportable"
    assert rows_about(built) == ["batch_built"]

    payouts.payout_batch_approve(batch_id=built.pk, actor=manager, password=PASSWORD)
    payouts.payout_batch_execute(batch_id=built.pk, actor=manager)
    header, row = payouts.payout_batch_csv_export(batch_id=built.pk, actor=manager)

    payout = built.payouts.get()
    assert header[0] == "payout_id"
    assert (row[0], row[-1]) == (payout.pk, f"Streetteam payout {payout.pk}")
    assert rows_about(built).count("batch_exported") == 1
    assert AuditEvent.objects.get(action="batch_exported").data == {"payouts": 1, "file": "generic"}


def test_only_a_manager_with_the_payout_permission_may_export_the_bank_file(built, manager):
    """The file holds full IBANs: staff without the payout permission are refused, and the
    export's audit row names the manager who took it."""
    payouts.payout_batch_approve(batch_id=built.pk, actor=manager, password=PASSWORD)
    payouts.payout_batch_execute(batch_id=built.pk, actor=manager)
    clerk = UserFactory(is_staff=True)

    with pytest.raises(ServiceError) as caught:
        payouts.payout_batch_csv_export(batch_id=built.pk, actor=clerk)
    assert caught.value.code == "permission_denied"
    assert "batch_exported" not in rows_about(built)

    payouts.payout_batch_csv_export(batch_id=built.pk, actor=manager)
    assert AuditEvent.objects.get(action="batch_exported").actor == manager


def test_staff_given_only_the_payout_permission_may_export_the_bank_file(built, manager):
    """Not a superuser (who has every permission): the permission itself opens the file, and
    the same staff member without it is refused."""
    payouts.payout_batch_approve(batch_id=built.pk, actor=manager, password=PASSWORD)
    payouts.payout_batch_execute(batch_id=built.pk, actor=manager)
    treasurer = UserFactory(is_staff=True, is_superuser=False)
    with pytest.raises(ServiceError) as caught:
        payouts.payout_batch_csv_export(batch_id=built.pk, actor=treasurer)
    assert caught.value.code == "permission_denied"

    treasurer.user_permissions.add(
        Permission.objects.get(content_type__app_label="referrals", codename="approve_payoutbatch")
    )
    treasurer = type(treasurer).objects.get(pk=treasurer.pk)  # permissions are cached per object
    header, _row = payouts.payout_batch_csv_export(batch_id=built.pk, actor=treasurer)
    assert header[0] == "payout_id"
    assert AuditEvent.objects.get(action="batch_exported").actor == treasurer
