"""Commissions: computed once from the order's net amount, stored, and written to the ledger."""

from calendar import monthrange
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from advocacy.models import Advocate, RewardKind
from kernel.errors import ServiceError
from kernel.jobs import enqueue_on_commit
from kernel.money import percent_of
from referrals.ledger_selectors import commission_outstanding
from referrals.models import Commission, LedgerEntry, Order
from referrals.services.audit import audit
from referrals.services.ledger import ledger_write


def commission_amount(advocate: Advocate, base_amount: int) -> int:
    """The advocate's reward on a net amount, rounded half-up; never more than the base."""
    programme = advocate.programme
    if programme.advocate_reward_kind == RewardKind.PERCENT:
        amount = percent_of(base_amount, programme.advocate_reward_percent)
    else:
        amount = programme.advocate_reward_amount
    return min(amount, base_amount)


@transaction.atomic
def commission_create_for_order(
    *,
    order: Order,
    advocate: Advocate,
    rule: str = Commission.Rule.SALE,
    hold_from: datetime | None = None,
) -> Commission | None:
    """A pending commission for `advocate` on `order`, with its `earned` ledger entry.

    The base is the order's net amount: after the shopper's discount, without tax and shipping.
    At most one per (order, advocate, rule), however often this is called; None when the reward
    comes to nothing. `hold_from`: when the hold started counting (default now; a commission
    granted later on a flagged order counts from the order's arrival).
    """
    amount = commission_amount(advocate, order.net_amount)
    if amount <= 0:
        return None
    try:
        with transaction.atomic():
            commission = _commission_insert(order, advocate, rule, amount, hold_from)
    except IntegrityError:
        return Commission.objects.get(order=order, advocate=advocate, rule=rule)
    _commission_earned(commission, order)
    return commission


def commission_create_for_new_order(
    *, order: Order, advocate: Advocate, rule: str = Commission.Rule.SALE
) -> Commission | None:
    """commission_create_for_order for an order inserted in the caller's still-open transaction.

    Nothing can hold a commission on an order nobody else can see yet, so no savepoint guards
    the insert (two round trips fewer per ingested order); the unique constraint still stands,
    and a violation would abort the caller's transaction rather than be answered here.
    """
    amount = commission_amount(advocate, order.net_amount)
    if amount <= 0:
        return None
    commission = _commission_insert(order, advocate, rule, amount)
    _commission_earned(commission, order)
    return commission


def _commission_insert(
    order: Order, advocate: Advocate, rule: str, amount: int, hold_from: datetime | None = None
) -> Commission:
    return Commission.objects.create(
        order=order,
        advocate=advocate,
        rule=rule,
        currency=order.currency,
        base_amount=order.net_amount,
        amount=amount,
        status=Commission.Status.PENDING,
        # The hold counts from when the order reached us: the shop's placed_at is its claim, and
        # a backdated one must not skip the window in which refunds arrive.
        hold_until=(hold_from or timezone.now()) + timedelta(days=advocate.programme.hold_days),
    )


def _commission_earned(commission: Commission, order: Order) -> None:
    ledger_write(
        advocate_id=commission.advocate_id,
        currency=commission.currency,
        amount=commission.amount,
        kind=LedgerEntry.Kind.EARNED,
        reference=f"commission:{commission.pk}",
        commission=commission,
        memo=f"Order {order.external_id}",
    )
    _notify(commission, "earned")


def add_months(moment: datetime, months: int) -> datetime:
    """The same day and time `months` later; the month's last day when it is shorter."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, monthrange(year, month)[1]))


def recurring_commission_until(first_order: Order) -> datetime | None:
    """The last moment a renewal of `first_order`'s subscription still earns (inclusive), or
    None when the programme pays on the first payment only."""
    months = first_order.programme.advocate_recurring_months if first_order.programme else 0
    return add_months(first_order.placed_at, months) if months else None


def commission_create_for_renewal(*, order: Order, first_order: Order) -> Commission | None:
    """The recurring commission on a subscription renewal, for the advocate credited with the
    subscription's first payment, while the renewal falls within the programme's
    `advocate_recurring_months` of that first payment; None outside them."""
    until = recurring_commission_until(first_order)
    if first_order.advocate is None or until is None or order.placed_at > until:
        return None
    return commission_create_for_order(
        order=order, advocate=first_order.advocate, rule=Commission.Rule.RECURRING
    )


def _locked(commission_id: int) -> Commission:
    return (
        Commission.objects.select_for_update()
        .select_related("advocate__programme", "order")
        .get(pk=commission_id)
    )


def commission_transition(
    *, commission: Commission, to: str, actor=None, reason: str = "", action: str | None = None
) -> Commission:
    """Move a (locked) commission one step forward, with its audit row. The only place that
    changes Commission.status, so the TRANSITIONS map is the whole truth."""
    if to not in Commission.TRANSITIONS[commission.status]:
        raise ServiceError(
            "transition_invalid",
            f"This commission is already {commission.get_status_display().lower()}; "
            f"it can't become {to}.",
        )
    before = commission.status
    commission.status = to
    commission.save(update_fields=["status"])
    audit(
        actor=actor,
        action=action or f"commission_{to}",
        obj=commission,
        reason=reason,
        before=before,
        after=to,
    )
    return commission


@transaction.atomic
def commission_approve(*, commission_id: int, actor=None, reason: str = "") -> Commission:
    """Approve a pending commission whose hold has ended (a manager, or the auto-approve rule)."""
    commission = _locked(commission_id)
    if commission.frozen:
        raise ServiceError("commission_frozen", "This commission is frozen by an open dispute.")
    if commission.status == Commission.Status.PENDING and commission.hold_until > timezone.now():
        raise ServiceError(
            "still_on_hold", f"This commission is on hold until {commission.hold_until:%d %b %Y}."
        )
    commission_transition(
        commission=commission, to=Commission.Status.APPROVED, actor=actor, reason=reason
    )
    _notify(commission, "approved")
    return commission


@transaction.atomic
def commission_reject(*, commission_id: int, actor, reason: str) -> Commission:
    """Reject a pending commission: it never becomes payable; its earning is netted out."""
    if not reason.strip():
        raise ServiceError("reason_required", "Say why the commission is rejected.", field="reason")
    commission = _locked(commission_id)
    commission_transition(
        commission=commission, to=Commission.Status.REJECTED, actor=actor, reason=reason
    )
    outstanding = commission_outstanding(commission)
    if outstanding:
        ledger_write(
            advocate_id=commission.advocate_id,
            currency=commission.currency,
            amount=-outstanding,
            kind=LedgerEntry.Kind.REVERSED,
            reference=f"commission:{commission.pk}:rejected",
            commission=commission,
            memo=reason,
        )
    _notify(commission, "reversed")
    return commission


def commissions_release_held(*, now=None) -> dict:
    """The periodic step: commissions whose hold has ended are approved automatically when the
    programme allows it (amount within its auto-approve limit, no fraud signal on the order);
    the rest stay pending and appear in the managers' queue as ready for review."""
    now = now or timezone.now()
    due = Commission.objects.filter(
        status=Commission.Status.PENDING, frozen=False, hold_until__lte=now
    )
    auto = (
        due.filter(advocate__programme__auto_approve_limit__gt=0)
        .filter(amount__lte=F("advocate__programme__auto_approve_limit"))
        .exclude(
            Q(order__fraud_signals__resolved_at__isnull=True, order__fraud_signals__isnull=False)
        )
        .values_list("pk", flat=True)
    )
    approved = 0
    for pk in list(auto):
        with transaction.atomic():
            commission = _locked(pk)
            if commission.status != Commission.Status.PENDING or commission.frozen:
                continue  # changed since we looked
            commission_transition(
                commission=commission,
                to=Commission.Status.APPROVED,
                reason="Hold ended; within the programme's auto-approve limit.",
                action="commission_auto_approved",
            )
            _notify(commission, "approved")
            approved += 1
    return {"auto_approved": approved, "awaiting_review": due.count()}


def _notify(commission: Commission, event: str) -> None:
    enqueue_on_commit("referrals.tasks.commission_email", commission.pk, event)
