"""Attribution settled by the end state, not by the order events arrive in.

A payment provider can tell about one payment several times: Stripe sends the PaymentIntent's
payment_intent.succeeded and the Checkout Session's checkout.session.completed, in any order,
and only the session carries the code the shopper typed (and the discount, tax and shipping).
Whichever comes first records the order (`order_ingest`); `order_attribute` lets a later one
complete it, so the end state is the one the events would have made in the other order:

- an unattributed order is attributed once, with the commission and `earned` ledger entry it
  would have had, and what its refunds and disputes recorded since would have done to it;
- an order already attributed (or flagged) is never attributed again;
- the breakdown of what was paid (discount, tax, shipping) is taken from the later event when
  the order has none and the later event has one: same total paid, no commission on it yet
  (a breakdown once recorded stays, whichever event brings the other).

The database decides who wins: the order row is locked, and the attribution is written by an
update that only matches an order still without a code.
"""

from dataclasses import dataclass

from django.db import IntegrityError, transaction

from kernel.errors import ServiceError
from referrals.hashing import email_hash
from referrals.models import Attribution, Commission, DiscountRedemption, FraudSignal, Order
from referrals.services.commissions import commission_create_for_order
from referrals.services.order_checks import (
    OFFER_REUSED,
    OFFER_UNVERIFIABLE,
    commission_blocker,
    offer_used,
    shopper_key,
)
from referrals.services.orders import resolve_attribution
from referrals.services.refunds import commission_settle_past_events, order_total_paid


@dataclass(frozen=True)
class OrderAmounts:
    """What a later event says was paid, in minor units (gross before the discount)."""

    gross_amount: int
    discount_amount: int = 0
    tax_amount: int = 0
    shipping_amount: int = 0

    @property
    def paid(self) -> int:
        return self.gross_amount - self.discount_amount + self.tax_amount + self.shipping_amount


@transaction.atomic
def order_attribute(
    *,
    order: Order,
    code: str = "",
    metadata_code: str = "",
    shopper_email: str = "",
    amounts: OrderAmounts | None = None,
) -> Commission | None:
    """Complete an order recorded before the event that carries its attribution (see the module
    docstring); the commission created, or None when nothing was (or could be) credited."""
    order = Order.objects.select_for_update().select_related("shopper_user").get(pk=order.pk)
    if order.rep_code_id is not None or order.attribution != Attribution.NONE:
        return None  # attributed (or flagged) already: never attributed twice
    if order.subscription_id:
        return None  # a subscription's invoice is attributed by its own invoice.paid only
    _refine(order, amounts=amounts, shopper_email=shopper_email)
    rep, how = resolve_attribution(
        code=code,
        link=None,
        shopper_user=order.shopper_user,
        metadata_code=metadata_code,
        placed_at=order.placed_at,
        shopper_email=shopper_email,
        shopper_customer_id=order.shopper_customer_id,
    )
    if rep is None:
        return None
    programme = rep.advocate.programme
    if order.currency != programme.currency:
        raise ServiceError(
            "currency_mismatch",
            f"The {programme.name} programme runs in {programme.currency}; this order is in "
            f"{order.currency}.",
        )
    email_key = order.shopper_email_hash
    key = email_key or shopper_key(shopper_email="", shopper_customer_id=order.shopper_customer_id)
    blocker = commission_blocker(rep, shopper_user=order.shopper_user, shopper_email_hash=email_key)
    if blocker is None and order.discount_amount > 0 and programme.shopper_one_use and not key:
        blocker = OFFER_UNVERIFIABLE
    if (
        blocker is None
        and order.discount_amount > 0
        and programme.shopper_one_use
        and key
        and not _redeem(order, programme, key)
    ):
        blocker = OFFER_REUSED
    credited = rep.advocate if blocker is None else None
    won = Order.objects.filter(pk=order.pk, rep_code__isnull=True).update(
        programme=programme, rep_code=rep, attribution=how, advocate=credited
    )
    if not won:
        return None
    order.refresh_from_db()
    if blocker is not None:
        kind, note = blocker
        FraudSignal.objects.get_or_create(
            order=order, kind=kind, defaults={"advocate": rep.advocate, "detail": note}
        )
        return None
    commission = commission_create_for_order(order=order, advocate=rep.advocate)
    if commission is not None:
        commission = commission_settle_past_events(commission=commission)
    return commission


def _refine(order: Order, *, amounts: OrderAmounts | None, shopper_email: str) -> None:
    fields = []
    if shopper_email and not order.shopper_email_hash:
        order.shopper_email_hash = email_hash(shopper_email)
        fields.append("shopper_email_hash")
    if (
        amounts is not None
        and not (order.discount_amount or order.tax_amount or order.shipping_amount)
        and (amounts.discount_amount or amounts.tax_amount or amounts.shipping_amount)
        and amounts.paid == order_total_paid(order)
        and 0 <= amounts.discount_amount <= amounts.gross_amount
        and amounts.gross_amount > 0
        and min(amounts.tax_amount, amounts.shipping_amount) >= 0
        and not order.commissions.exists()
    ):
        order.gross_amount = amounts.gross_amount
        order.discount_amount = amounts.discount_amount
        order.net_amount = amounts.gross_amount - amounts.discount_amount
        order.tax_amount = amounts.tax_amount
        order.shipping_amount = amounts.shipping_amount
        fields += ["gross_amount", "discount_amount", "net_amount", "tax_amount", "shipping_amount"]
    if fields:
        order.save(update_fields=fields)


def _redeem(order: Order, programme, shopper_key: str) -> bool:
    """Take the programme's one-use offer for this order; False when the shopper had used it."""
    if offer_used(programme, shopper_key):
        return False
    try:
        with transaction.atomic():
            DiscountRedemption.objects.create(
                programme=programme, shopper_key=shopper_key, order=order
            )
    except IntegrityError:
        return False
    return True
