"""Commissions: computed once from the order's net amount, stored, and written to the ledger."""

from datetime import timedelta

from django.db import IntegrityError, transaction

from advocacy.models import Advocate, RewardKind
from advocacy.money import percent_of

from ..models import Commission, LedgerEntry, Order


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
    *, order: Order, advocate: Advocate, rule: str = Commission.Rule.SALE
) -> Commission | None:
    """A pending commission for `advocate` on `order`, with its `earned` ledger entry.

    The base is the order's net amount: after the shopper's discount, without tax and shipping.
    At most one per (order, advocate, rule), however often this is called; None when the reward
    comes to nothing.
    """
    amount = commission_amount(advocate, order.net_amount)
    if amount <= 0:
        return None
    try:
        with transaction.atomic():
            commission = Commission.objects.create(
                order=order,
                advocate=advocate,
                rule=rule,
                currency=order.currency,
                base_amount=order.net_amount,
                amount=amount,
                status=Commission.Status.PENDING,
                hold_until=order.placed_at + timedelta(days=advocate.programme.hold_days),
            )
    except IntegrityError:
        return Commission.objects.get(order=order, advocate=advocate, rule=rule)
    LedgerEntry.objects.create(
        advocate=advocate,
        currency=commission.currency,
        amount=commission.amount,
        kind=LedgerEntry.Kind.EARNED,
        reference=f"commission:{commission.pk}",
        commission=commission,
        memo=f"Order {order.external_id}",
    )
    return commission
