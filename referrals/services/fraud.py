"""Fraud signals: the patterns raised when an order or a refund is recorded, and a manager's
resolution of a signal.

A flagged order is treated as every flag is (see services/orders.py): kept, credited to nobody,
no commission, a signal for a manager. Resolving the signal either dismisses it (the order stays
without commission; a reason is required) or grants the commission the order would have earned
(`fraud_signal_credit`): created through the commission services for the signal's advocate, its
hold counted from when the order reached us, and approved at once when that hold has ended.

The patterns, each read at most once per order with one indexed query, or none:

- `FAST_ORDER`: the order followed its link click by less than `FAST_ORDER_SECONDS` (the
  click time comes with the link cookie, so this costs no query). An order stamped before its
  click (a shop clock behind ours) is not counted as fast.
- `REPEAT_CUSTOMER`: the shopper (by email hash, else customer id) already placed
  `REPEAT_CUSTOMER_ORDERS - 1` orders through the same code within `REPEAT_CUSTOMER_WINDOW`
  (constants in order_checks). Counted in the code lookup's own query, a subquery on the email
  hash index (or, by customer id alone, the code's).
  Orders carry no IP address (only clicks do, hashed), so "many orders from one IP" is read
  as "many orders from one shopper": the data the order holds.
- `DUPLICATE_ACCOUNT`: the shopper's email is the account email of another advocate of the same
  programme (one advocate earning on another's purchases, or one person with two advocate
  accounts). Read in the code lookup's own query (order_checks.shopper_annotations).
- `REFUND_RATE` (when a refund is recorded): the advocate has at least `REFUND_RATE_MIN_ORDERS`
  refunded orders and their refund rate is at least `REFUND_RATE_FACTOR` times the programme's.
  Raised on the refunded order, once while an earlier one for the advocate is open. The
  commission already earned stays as it is; the open signal keeps it from auto-approval.
"""

from datetime import timedelta

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from advocacy.models import RepCode
from kernel.errors import ServiceError
from kernel.money import format_money
from referrals.links.cookies import LinkReferral
from referrals.models import Attribution, Commission, FraudSignal, Order
from referrals.services.audit import audit
from referrals.services.commissions import commission_approve, commission_create_for_order
from referrals.services.order_checks import REPEAT_CUSTOMER_ORDERS, REPEAT_CUSTOMER_WINDOW

FAST_ORDER_SECONDS = 10
REFUND_RATE_MIN_ORDERS = 5
REFUND_RATE_FACTOR = 3

_REFUNDED = (Order.Status.REFUNDED, Order.Status.PARTIALLY_REFUNDED)


# ------------------------------------------------------------------------------
# Raised when an order or a refund is recorded


def pattern_blocker(
    rep: RepCode,
    *,
    how: str,
    link: LinkReferral | None,
    placed_at,
):
    """(fraud signal kind, note) when the order matches a suspicious pattern, else None.
    Called by `order_ingest` for a referred order nothing else blocked."""
    if getattr(rep, "shopper_other_advocate", False):
        return (
            FraudSignal.Kind.DUPLICATE_ACCOUNT,
            "The shopper's email is the account of another advocate in this programme.",
        )
    if how == Attribution.LINK and link is not None:
        elapsed = placed_at - link.clicked_at
        if timedelta(0) <= elapsed < timedelta(seconds=FAST_ORDER_SECONDS):
            return (
                FraudSignal.Kind.FAST_ORDER,
                f"The order was placed {elapsed.seconds} seconds after the link was clicked.",
            )
    earlier = getattr(rep, "shopper_recent_orders", 0)
    if earlier >= REPEAT_CUSTOMER_ORDERS - 1:
        hours = int(REPEAT_CUSTOMER_WINDOW.total_seconds() // 3600)
        return (
            FraudSignal.Kind.REPEAT_CUSTOMER,
            f"The same shopper placed {earlier + 1} orders with this code within {hours} hours.",
        )
    return None


def refund_rate_check(order: Order) -> FraudSignal | None:
    """After a refund on `order`: flag its advocate when their refund rate is far above the
    programme's. One grouped query over the programme's credited orders; a second one only when
    the threshold is crossed."""
    advocate_id = order.advocate_id
    if advocate_id is None or order.programme_id is None:
        return None
    refunded = Q(status__in=_REFUNDED)
    mine = Q(advocate_id=advocate_id)
    figures = Order.objects.filter(programme_id=order.programme_id, advocate__isnull=False)
    figures = figures.aggregate(
        all_orders=Count("pk"),
        all_refunded=Count("pk", filter=refunded),
        my_orders=Count("pk", filter=mine),
        my_refunded=Count("pk", filter=mine & refunded),
    )
    my_refunded, my_orders = figures["my_refunded"], figures["my_orders"]
    if my_refunded < REFUND_RATE_MIN_ORDERS:
        return None
    # my_refunded / my_orders >= FACTOR * all_refunded / all_orders, in integers.
    if (
        my_refunded * figures["all_orders"]
        < REFUND_RATE_FACTOR * figures["all_refunded"] * my_orders
    ):
        return None
    already = FraudSignal.objects.filter(
        advocate_id=advocate_id, kind=FraudSignal.Kind.REFUND_RATE, resolved_at__isnull=True
    )
    if already.exists():
        return None
    signal, _ = FraudSignal.objects.get_or_create(
        order=order,
        kind=FraudSignal.Kind.REFUND_RATE,
        defaults={
            "advocate_id": advocate_id,
            "detail": (
                f"{my_refunded} of the advocate's {my_orders} orders were refunded, against "
                f"{figures['all_refunded']} of {figures['all_orders']} in the programme."
            ),
        },
    )
    return signal


# ------------------------------------------------------------------------------
# A manager's resolution


def _open_signal(signal_id: int) -> FraudSignal:
    signal = (
        FraudSignal.objects.select_for_update(of=("self",))
        .select_related("order__programme", "advocate__programme")
        .get(pk=signal_id)
    )
    if signal.resolved_at is not None:
        raise ServiceError(
            "signal_resolved",
            f"This signal was already resolved ({signal.get_resolution_display().lower()}).",
        )
    return signal


def _resolve(signal: FraudSignal, *, actor, resolution: str, reason: str, **data) -> None:
    signal.resolved_at = timezone.now()
    signal.resolved_by = actor
    signal.resolution = resolution
    signal.resolution_reason = reason[:500]
    signal.save(update_fields=["resolved_at", "resolved_by", "resolution", "resolution_reason"])
    audit(actor=actor, action=f"fraud_signal_{resolution}", obj=signal, reason=reason, **data)


@transaction.atomic
def fraud_signal_dismiss(*, signal_id: int, actor, reason: str) -> FraudSignal:
    """Close a signal without paying anything: the order stays as it was recorded."""
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("reason_required", "Say why the signal is dismissed.", field="reason")
    signal = _open_signal(signal_id)
    _resolve(signal, actor=actor, resolution=FraudSignal.Resolution.DISMISSED, reason=reason)
    return signal


@transaction.atomic
def fraud_signal_credit(*, signal_id: int, actor, reason: str = "") -> Commission:
    """Grant the commission the signal's order would have earned had it not been flagged, to
    the signal's advocate, and approve it when its hold (counted from the order's arrival) has
    ended; otherwise it stays pending until then. Every open signal on the order is resolved
    with it. Once only: the commission's unique constraint (order, advocate, rule) holds."""
    reason = (reason or "").strip()
    signal = _open_signal(signal_id)
    order, advocate = signal.order, signal.advocate
    if order is None or advocate is None:
        raise ServiceError("signal_not_creditable", "This signal has no order and advocate.")
    if order.programme_id != advocate.programme_id or order.currency != advocate.programme.currency:
        raise ServiceError(
            "signal_not_creditable",
            "The order is not in the advocate's programme or its currency.",
        )
    existing = Commission.objects.filter(
        order=order, advocate=advocate, rule=Commission.Rule.SALE
    ).first()
    if existing is None and order.refunds.exists():
        raise ServiceError(
            "order_refunded",
            "This order has been refunded, so it can't earn now; dismiss the signal instead.",
        )
    commission = existing or commission_create_for_order(
        order=order, advocate=advocate, hold_from=order.created_at
    )
    if commission is None:
        raise ServiceError(
            "nothing_earned", "The programme's reward on this order comes to nothing."
        )
    if order.advocate_id is None:
        order.advocate = advocate
        order.save(update_fields=["advocate"])
    held = commission.hold_until > timezone.now()
    if commission.status == Commission.Status.PENDING and not held and not commission.frozen:
        commission = commission_approve(commission_id=commission.pk, actor=actor, reason=reason)
    others = FraudSignal.objects.select_for_update().filter(order=order, resolved_at__isnull=True)
    data = {
        "commission": commission.pk,
        "amount": commission.amount,
        "currency": commission.currency,
        "status": commission.status,
    }
    for each in [signal, *others.exclude(pk=signal.pk)]:
        _resolve(
            each, actor=actor, resolution=FraudSignal.Resolution.CREDITED, reason=reason, **data
        )
    return commission


def credit_outcome(commission: Commission) -> str:
    """The sentence a manager reads after granting a commission on a flagged order."""
    amount = format_money(commission.amount, commission.currency)
    who = commission.advocate.user.email
    if commission.status == Commission.Status.PENDING:
        return (
            f"Granted {amount} to {who}; it stays pending, on hold until "
            f"{timezone.localtime(commission.hold_until):%d %b %Y}, then awaits approval."
        )
    return f"Granted and {commission.get_status_display().lower()} {amount} to {who}."
