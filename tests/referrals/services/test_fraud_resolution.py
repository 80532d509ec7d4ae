"""A manager resolves a fraud signal (services/fraud.py): dismissed with a reason, or the
commission the order would have earned granted once, held from the order's arrival, approved
when that hold has ended; the decision recorded on the signal and in the audit log."""

from datetime import timedelta

import pytest
from django.utils import timezone

from kernel.errors import ServiceError
from referrals.ledger_selectors import balance
from referrals.models import AuditEvent, Commission, FraudSignal, LedgerEntry, Order
from referrals.services.fraud import credit_outcome, fraud_signal_credit, fraud_signal_dismiss
from referrals.services.refunds import refund_record
from tests.factories import UserFactory

from .test_order_ingest import ingest

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(db):
    return UserFactory(is_staff=True)


def flag(rep_code, *, arrived_days_ago=40, external_id="flagged-1"):
    """A self-referred order (flagged, no commission) that reached us `arrived_days_ago` ago."""
    result = ingest(
        external_id=external_id, code=rep_code.code, shopper_email=rep_code.advocate.user.email
    )
    Order.objects.filter(pk=result.order.pk).update(
        created_at=timezone.now() - timedelta(days=arrived_days_ago)
    )
    return FraudSignal.objects.get(order=result.order)


def test_granting_a_commission_on_a_flagged_order_past_its_hold_approves_it(rep_code, manager):
    signal = flag(rep_code)

    commission = fraud_signal_credit(signal_id=signal.pk, actor=manager, reason="Staff purchase")

    commission.refresh_from_db()
    assert (commission.advocate, commission.order, commission.rule) == (
        rep_code.advocate,
        signal.order,
        Commission.Rule.SALE,
    )
    assert (commission.amount, commission.currency, commission.status) == (1000, "EUR", "approved")
    entry = LedgerEntry.objects.get()
    assert (entry.kind, entry.amount, entry.currency, entry.reference) == (
        "earned",
        1000,
        "EUR",
        f"commission:{commission.pk}",
    )
    assert balance(rep_code.advocate, "EUR") == 1000
    signal.refresh_from_db()
    assert signal.resolution == FraudSignal.Resolution.CREDITED
    assert (signal.resolved_by, signal.resolution_reason) == (manager, "Staff purchase")
    assert timezone.now() - signal.resolved_at < timedelta(seconds=5)
    assert Order.objects.get(pk=signal.order_id).advocate == rep_code.advocate
    resolved = AuditEvent.objects.get(action="fraud_signal_credited")
    assert (resolved.actor, resolved.object_type, resolved.object_id, resolved.reason) == (
        manager,
        "fraudsignal",
        signal.pk,
        "Staff purchase",
    )
    assert resolved.data == {
        "commission": commission.pk,
        "amount": 1000,
        "currency": "EUR",
        "status": "approved",
    }
    approved = AuditEvent.objects.get(action="commission_approved")
    assert (approved.actor, approved.object_id) == (manager, commission.pk)
    assert credit_outcome(commission) == (
        f"Granted and approved €10.00 to {rep_code.advocate.user.email}."
    )


def test_a_grant_within_the_hold_stays_pending_until_the_order_plus_the_hold(rep_code, manager):
    signal = flag(rep_code, arrived_days_ago=10)
    arrived = Order.objects.get(pk=signal.order_id).created_at

    commission = fraud_signal_credit(signal_id=signal.pk, actor=manager)

    assert commission.status == Commission.Status.PENDING
    assert commission.hold_until == arrived + timedelta(days=30)
    assert not AuditEvent.objects.filter(action="commission_approved").exists()
    assert "it stays pending, on hold until" in credit_outcome(commission)
    assert FraudSignal.objects.get().resolution == FraudSignal.Resolution.CREDITED


def test_a_signal_is_granted_once_only(rep_code, manager):
    signal = flag(rep_code)
    fraud_signal_credit(signal_id=signal.pk, actor=manager)

    with pytest.raises(ServiceError) as again:
        fraud_signal_credit(signal_id=signal.pk, actor=manager)

    assert again.value.code == "signal_resolved"
    assert Commission.objects.count() == LedgerEntry.objects.count() == 1


def test_granting_resolves_every_open_signal_on_the_order(rep_code, manager):
    signal = flag(rep_code)
    other = FraudSignal.objects.create(
        kind=FraudSignal.Kind.FAST_ORDER, order=signal.order, advocate=rep_code.advocate
    )

    fraud_signal_credit(signal_id=signal.pk, actor=manager, reason="Known customer")

    other.refresh_from_db()
    assert (other.resolution, other.resolved_by) == (FraudSignal.Resolution.CREDITED, manager)
    assert AuditEvent.objects.filter(action="fraud_signal_credited").count() == 2


def test_a_refunded_order_cannot_be_granted(rep_code, manager):
    signal = flag(rep_code)
    refund_record(order=signal.order, external_id="re_1", amount=500)

    with pytest.raises(ServiceError) as refused:
        fraud_signal_credit(signal_id=signal.pk, actor=manager)

    assert refused.value.code == "order_refunded"
    assert not Commission.objects.exists()
    assert FraudSignal.objects.get(pk=signal.pk).resolved_at is None


def test_dismissing_needs_a_reason_and_pays_nothing(rep_code, manager):
    signal = flag(rep_code)

    with pytest.raises(ServiceError) as refused:
        fraud_signal_dismiss(signal_id=signal.pk, actor=manager, reason="  ")
    assert (refused.value.code, refused.value.field) == ("reason_required", "reason")
    assert FraudSignal.objects.get().resolved_at is None

    fraud_signal_dismiss(signal_id=signal.pk, actor=manager, reason="Really their own order")

    signal.refresh_from_db()
    assert (signal.resolution, signal.resolved_by, signal.resolution_reason) == (
        FraudSignal.Resolution.DISMISSED,
        manager,
        "Really their own order",
    )
    assert not Commission.objects.exists()
    assert not LedgerEntry.objects.exists()
    dismissed = AuditEvent.objects.get(action="fraud_signal_dismissed")
    assert (dismissed.actor, dismissed.object_id, dismissed.reason) == (
        manager,
        signal.pk,
        "Really their own order",
    )
    with pytest.raises(ServiceError):
        fraud_signal_credit(signal_id=signal.pk, actor=manager)
