"""Commissions: the amount, the one row per order and rule with its `earned` entry, subscription
renewals within the programme's months, approval and rejection, and the periodic release of
held commissions. Expectations are literal amounts and dates."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from advocacy.models import RewardKind
from kernel.errors import ServiceError
from referrals.models import AuditEvent, Commission, FraudSignal, LedgerEntry
from referrals.services import commissions as svc
from referrals.services.refunds import dispute_open, refund_record
from tests.factories import OrderFactory, UserFactory, sale

pytestmark = pytest.mark.django_db


def reward(programme, **fields):
    for name, value in fields.items():
        setattr(programme, name, value)
    programme.save(update_fields=list(fields))


# --------------------------------------------------------------------------------- amount


@pytest.mark.parametrize(
    ("percent", "base", "expected"),
    [("10", 12_345, 1_235), ("10", 12_344, 1_234), ("7.5", 1_000, 75), ("100", 999, 999)],
)
def test_a_percent_reward_is_rounded_half_up(advocate, percent, base, expected):
    reward(advocate.programme, advocate_reward_percent=Decimal(percent))
    assert svc.commission_amount(advocate, base) == expected


def test_a_fixed_reward_is_paid_whole_but_never_more_than_the_base(advocate):
    reward(advocate.programme, advocate_reward_kind=RewardKind.FIXED, advocate_reward_amount=500)
    assert svc.commission_amount(advocate, 10_000) == 500
    assert svc.commission_amount(advocate, 499) == 499


# --------------------------------------------------------------------------------- create


def test_a_commission_is_the_reward_on_the_net_amount_with_its_earned_entry(advocate):
    order = OrderFactory(
        programme=advocate.programme, gross_amount=10_000, discount_amount=2_000, tax_amount=900
    )
    before = timezone.now()

    commission = svc.commission_create_for_order(order=order, advocate=advocate)

    assert (commission.amount, commission.base_amount, commission.currency) == (800, 8_000, "EUR")
    assert (commission.status, commission.rule) == ("pending", "sale")
    assert before + timedelta(days=30) <= commission.hold_until
    assert commission.hold_until <= timezone.now() + timedelta(days=30)
    entry = LedgerEntry.objects.get(commission=commission)
    assert (entry.kind, entry.amount, entry.reference) == (
        LedgerEntry.Kind.EARNED,
        800,
        f"commission:{commission.pk}",
    )
    assert entry.memo == f"Order {order.external_id}"
    assert entry.advocate_id == advocate.pk

    again = svc.commission_create_for_order(order=order, advocate=advocate)
    assert again.pk == commission.pk
    assert LedgerEntry.objects.count() == 1


def test_a_reward_of_nothing_makes_no_commission(advocate):
    reward(advocate.programme, advocate_reward_percent=Decimal("0"))
    order = OrderFactory(programme=advocate.programme, gross_amount=10_000)
    assert svc.commission_create_for_order(order=order, advocate=advocate) is None
    assert svc.commission_create_for_new_order(order=order, advocate=advocate) is None
    assert Commission.objects.count() == 0


def test_a_reward_of_one_cent_is_a_commission(advocate):
    reward(advocate.programme, advocate_reward_kind=RewardKind.FIXED, advocate_reward_amount=1)
    order = OrderFactory(programme=advocate.programme, gross_amount=10_000)
    assert svc.commission_create_for_order(order=order, advocate=advocate).amount == 1
    other = OrderFactory(programme=advocate.programme, gross_amount=10_000)
    assert svc.commission_create_for_new_order(order=other, advocate=advocate).amount == 1


# ------------------------------------------------------------------------------- renewals


@pytest.mark.parametrize(
    ("moment", "months", "expected"),
    [
        (datetime(2027, 1, 31, 9, 30, tzinfo=UTC), 1, datetime(2027, 2, 28, 9, 30, tzinfo=UTC)),
        (datetime(2028, 1, 31, 9, 30, tzinfo=UTC), 1, datetime(2028, 2, 29, 9, 30, tzinfo=UTC)),
        (datetime(2027, 11, 15, tzinfo=UTC), 2, datetime(2028, 1, 15, tzinfo=UTC)),
        (datetime(2027, 12, 15, tzinfo=UTC), 1, datetime(2028, 1, 15, tzinfo=UTC)),
        (datetime(2027, 3, 31, tzinfo=UTC), 12, datetime(2028, 3, 31, tzinfo=UTC)),
        (datetime(2027, 5, 31, tzinfo=UTC), 25, datetime(2029, 6, 30, tzinfo=UTC)),
    ],
)
def test_add_months_keeps_the_day_or_takes_the_months_last(moment, months, expected):
    assert svc.add_months(moment, months) == expected


def test_renewals_earn_until_the_programmes_months_after_the_first_payment(advocate):
    first = OrderFactory(
        programme=advocate.programme,
        advocate=advocate,
        placed_at=datetime(2027, 1, 31, 12, tzinfo=UTC),
    )
    assert svc.recurring_commission_until(first) is None  # first payment only
    assert svc.commission_create_for_renewal(order=first, first_order=first) is None

    reward(advocate.programme, advocate_recurring_months=3)
    first.refresh_from_db()
    until = datetime(2027, 4, 30, 12, tzinfo=UTC)
    assert svc.recurring_commission_until(first) == until

    last = OrderFactory(programme=advocate.programme, placed_at=until)
    late = OrderFactory(programme=advocate.programme, placed_at=until + timedelta(seconds=1))
    earned = svc.commission_create_for_renewal(order=last, first_order=first)
    assert (earned.rule, earned.amount, earned.advocate_id) == ("recurring", 1_000, advocate.pk)
    assert svc.commission_create_for_renewal(order=late, first_order=first) is None


def test_a_renewal_of_an_unreferred_subscription_earns_nothing(advocate):
    reward(advocate.programme, advocate_recurring_months=3)
    first = OrderFactory(programme=advocate.programme, advocate=None)
    renewal = OrderFactory(programme=advocate.programme, placed_at=first.placed_at)
    assert svc.commission_create_for_renewal(order=renewal, first_order=first) is None


# ---------------------------------------------------------------------- approve and reject


def test_a_commission_on_hold_or_frozen_is_not_approved(rep_code):
    commission = sale(rep_code, "o-1", 10_000).commission
    with pytest.raises(ServiceError) as held:
        svc.commission_approve(commission_id=commission.pk)
    assert held.value.code == "still_on_hold"

    Commission.objects.filter(pk=commission.pk).update(hold_until=timezone.now())
    dispute_open(order=commission.order, external_id="dp_1")
    with pytest.raises(ServiceError) as frozen:
        svc.commission_approve(commission_id=commission.pk)
    assert frozen.value.code == "commission_frozen"
    assert Commission.objects.get(pk=commission.pk).status == "pending"


def test_a_commission_whose_hold_just_ended_is_approved_with_its_audit_row(rep_code):
    manager = UserFactory(is_staff=True)
    commission = sale(rep_code, "o-1", 10_000).commission
    Commission.objects.filter(pk=commission.pk).update(hold_until=timezone.now())

    approved = svc.commission_approve(commission_id=commission.pk, actor=manager, reason="Fine")

    assert approved.status == "approved"
    row = AuditEvent.objects.get(action="commission_approved")
    assert (row.actor, row.reason, row.data) == (
        manager,
        "Fine",
        {"before": "pending", "after": "approved"},
    )


def test_a_rejection_needs_a_reason_and_nets_out_what_is_left(rep_code):
    manager = UserFactory(is_staff=True)
    commission = sale(rep_code, "o-1", 10_000).commission
    with pytest.raises(ServiceError) as caught:
        svc.commission_reject(commission_id=commission.pk, actor=manager, reason="  ")
    assert (caught.value.code, caught.value.field) == ("reason_required", "reason")

    refund_record(order=commission.order, external_id="re_1", amount=2_500)  # 250 reversed
    svc.commission_reject(commission_id=commission.pk, actor=manager, reason="Self-referral")

    entry = LedgerEntry.objects.get(reference=f"commission:{commission.pk}:rejected")
    assert (entry.kind, entry.amount, entry.memo) == ("reversed", -750, "Self-referral")
    assert Commission.objects.get(pk=commission.pk).status == "rejected"
    assert sum(commission.ledger.values_list("amount", flat=True)) == 0


def test_the_same_move_twice_is_refused_by_code(rep_code):
    commission = sale(rep_code, "o-1", 10_000).commission
    Commission.objects.filter(pk=commission.pk).update(hold_until=timezone.now())
    svc.commission_approve(commission_id=commission.pk)
    with pytest.raises(ServiceError) as caught:
        svc.commission_approve(commission_id=commission.pk)
    assert caught.value.code == "transition_invalid"


# --------------------------------------------------------------------------------- release


def test_release_approves_within_the_limit_and_leaves_the_rest_for_review(rep_code, programme):
    reward(programme, auto_approve_limit=1_000)
    now = timezone.now()
    at_limit = sale(rep_code, "o-1", 10_000).commission  # 1000: at the limit
    above = sale(rep_code, "o-2", 10_010).commission  # 1001
    flagged = sale(rep_code, "o-3", 5_000).commission
    FraudSignal.objects.create(kind="self_referral", order=flagged.order)
    cleared = sale(rep_code, "o-4", 5_000).commission
    FraudSignal.objects.create(kind="self_referral", order=cleared.order, resolved_at=now)
    frozen = sale(rep_code, "o-5", 5_000).commission
    dispute_open(order=frozen.order, external_id="dp_1")
    waiting = sale(rep_code, "o-6", 5_000).commission
    due = [at_limit, above, flagged, cleared, frozen]
    Commission.objects.filter(pk__in=[c.pk for c in due]).update(hold_until=now)
    Commission.objects.filter(pk=waiting.pk).update(hold_until=now + timedelta(seconds=60))

    result = svc.commissions_release_held(now=now)

    assert result == {"auto_approved": 2, "awaiting_review": 2}
    status = dict(Commission.objects.values_list("pk", "status"))
    assert [status[c.pk] for c in (at_limit, cleared)] == ["approved", "approved"]
    assert [status[c.pk] for c in (above, flagged, frozen, waiting)] == ["pending"] * 4
    row = AuditEvent.objects.filter(action="commission_auto_approved").first()
    assert row.reason == "Hold ended; within the programme's auto-approve limit."


def test_release_approves_nothing_by_itself_when_the_programme_sets_no_limit(rep_code):
    commission = sale(rep_code, "o-1", 10_000).commission
    Commission.objects.filter(pk=commission.pk).update(hold_until=timezone.now())

    assert svc.commissions_release_held() == {"auto_approved": 0, "awaiting_review": 1}
