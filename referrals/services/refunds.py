"""Refunds and disputes: the one service every integration calls when money goes back.

Refunds reverse the order's commissions in proportion to what has been refunded (out of what
the shopper paid: net + tax + shipping): after any sequence of refunds, what they reversed of a
commission is commission × refunded / paid, rounded half-up once (each refund reverses the
difference between that target and what was reversed before it, so small refunds don't drift);
the refund that brings the total refunded to the full amount reverses whatever is left, so a
full refund always nets the commissions to zero. A refund after payout leaves a negative
payable balance that later payouts absorb. A dispute freezes the commissions until it is won
or lost.
"""

from decimal import ROUND_HALF_UP, Decimal

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from kernel.errors import ServiceError
from kernel.money import MAX_AMOUNT
from referrals.ledger_selectors import commission_outstanding
from referrals.models import Commission, Dispute, LedgerEntry, Order, Refund
from referrals.services.audit import audit
from referrals.services.commissions import _notify, commission_transition
from referrals.services.fraud import refund_rate_check
from referrals.services.ledger import ledger_write


def order_total_paid(order: Order) -> int:
    return order.net_amount + order.tax_amount + order.shipping_amount


def _reverse(commission: Commission, amount: int, *, reference: str, memo: str, actor) -> None:
    """Write a reversal of `amount` (> 0) and close the commission when nothing is left."""
    ledger_write(
        advocate_id=commission.advocate_id,
        currency=commission.currency,
        amount=-amount,
        kind=LedgerEntry.Kind.REVERSED,
        reference=reference,
        commission=commission,
        memo=memo,
    )
    if commission_outstanding(commission) <= 0 and commission.status in (
        Commission.Status.PENDING,
        Commission.Status.APPROVED,
    ):
        commission_transition(
            commission=commission, to=Commission.Status.REVERSED, actor=actor, reason=memo
        )
    _notify(commission, "reversed")


def _reversed_by_refunds(commission: Commission) -> int:
    """What refunds have reversed of this commission so far (a positive amount)."""
    total = commission.ledger.filter(
        kind=LedgerEntry.Kind.REVERSED, reference__startswith="refund:"
    ).aggregate(total=Sum("amount", default=0))["total"]
    return -total


def _reverse_refund_share(
    commission: Commission, refund: Refund, *, paid: int, refunded: int, actor
) -> None:
    """Bring what refunds reversed of the commission to its share of everything refunded so
    far (`refunded`, this refund included): commission × refunded / paid, rounded half-up once,
    minus what earlier refunds reversed. Rounding each refund on its own would drift (250
    refunds of 0.4 cent each reverse nothing); the refund that completes the full amount
    reverses all that is left, so a full refund nets the commission to zero."""
    outstanding = commission_outstanding(commission)
    if outstanding <= 0:
        return
    if refunded >= paid:
        share = outstanding
    else:
        exact = Decimal(commission.amount) * Decimal(refunded) / Decimal(paid)
        target = int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
        share = min(outstanding, target - _reversed_by_refunds(commission))
    if share > 0:
        _reverse(
            commission,
            share,
            reference=f"refund:{refund.pk}:commission:{commission.pk}",
            memo=f"Refund {refund.external_id} on order {refund.order.external_id}",
            actor=actor,
        )


@transaction.atomic
def refund_record(
    *, order: Order, external_id: str, amount: int, currency: str = "", actor=None
) -> Refund:
    """Record one refund (idempotent by its id) and reverse commissions accordingly.

    `currency` (optional, any letter case) must be the order's: a refund is never converted.
    The same refund id again with the same amount is answered with the first recording; with
    another amount it is refused (`refund_id_reused`), never silently dropped."""
    external_id = (external_id or "").strip()
    if not external_id or len(external_id) > 255:
        raise ServiceError("refund_id_invalid", "A refund id of 1 to 255 characters is needed.")
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= MAX_AMOUNT:
        raise ServiceError("amount_invalid", "The refund amount must be a positive whole number.")
    if currency and (not isinstance(currency, str) or currency.upper() != order.currency):
        raise ServiceError(
            "refund_currency_mismatch",
            f"The order was paid in {order.currency}; a refund of it can't be in {currency}.",
            field="currency",
        )
    order = Order.objects.select_for_update().get(pk=order.pk)
    existing = order.refunds.filter(external_id=external_id).first()
    if existing is not None:
        return _same_refund(existing, amount)
    paid = order_total_paid(order)
    refunded_before = order.refunds.aggregate(total=Sum("amount", default=0))["total"]
    if refunded_before + amount > paid:
        raise ServiceError(
            "refund_too_large",
            f"Refunds would total {refunded_before + amount}, more than the {paid} paid.",
        )
    try:
        with transaction.atomic():
            refund = Refund.objects.create(order=order, external_id=external_id, amount=amount)
    except IntegrityError:
        return _same_refund(order.refunds.get(external_id=external_id), amount)
    refunded = refunded_before + amount
    full = refunded == paid

    commissions = (
        Commission.objects.select_for_update().filter(order=order).select_related("advocate")
    )
    for commission in commissions:
        _reverse_refund_share(commission, refund, paid=paid, refunded=refunded, actor=actor)
    order.status = Order.Status.REFUNDED if full else Order.Status.PARTIALLY_REFUNDED
    order.save(update_fields=["status"])
    audit(actor=actor, action="refund_recorded", obj=order, amount=amount, refund=external_id)
    refund_rate_check(order)
    return refund


def _same_refund(existing: Refund, amount: int) -> Refund:
    if existing.amount != amount:
        raise ServiceError(
            "refund_id_reused",
            f"Refund {existing.external_id} was recorded for {existing.amount}, not {amount}: "
            "a new refund needs a new id.",
            field="refund_id",
        )
    return existing


@transaction.atomic
def dispute_open(*, order: Order, external_id: str, actor=None) -> Dispute:
    """A chargeback was opened: freeze the order's commissions (idempotent by dispute id)."""
    order = Order.objects.select_for_update().get(pk=order.pk)
    dispute, created = Dispute.objects.get_or_create(order=order, external_id=external_id)
    if created:
        for commission in Commission.objects.select_for_update().filter(order=order):
            if not commission.frozen:
                _freeze(commission, actor=actor, reason=f"Dispute {external_id} opened")
    return dispute


def _freeze(commission: Commission, *, actor, reason: str) -> None:
    """Hold a commission out of payouts while a dispute is open, with its audit row."""
    commission.frozen = True
    commission.save(update_fields=["frozen"])
    audit(actor=actor, action="commission_frozen", obj=commission, reason=reason)


@transaction.atomic
def dispute_close(*, order: Order, external_id: str, won: bool, actor=None) -> Dispute:
    """Won: the commissions are restored. Lost: what is left of them is reversed."""
    order = Order.objects.select_for_update().get(pk=order.pk)
    dispute = (
        Dispute.objects.select_for_update().filter(order=order, external_id=external_id).first()
    )
    if dispute is None:
        # A close can arrive before its open (events out of order): the open it implies froze
        # nothing yet, so record it and settle at once.
        dispute = Dispute.objects.create(order=order, external_id=external_id)
    if dispute.status != Dispute.Status.OPEN:
        return dispute
    dispute.status = Dispute.Status.WON if won else Dispute.Status.LOST
    dispute.closed_at = timezone.now()
    dispute.save(update_fields=["status", "closed_at"])
    still_disputed = order.disputes.filter(status=Dispute.Status.OPEN).exists()
    for commission in (
        Commission.objects.select_for_update().filter(order=order).select_related("advocate")
    ):
        if not won:
            outstanding = commission_outstanding(commission)
            if outstanding > 0:
                _reverse(
                    commission,
                    outstanding,
                    reference=f"dispute:{dispute.pk}:commission:{commission.pk}",
                    memo=f"Dispute {external_id} lost",
                    actor=actor,
                )
        if commission.frozen and not still_disputed:
            commission.frozen = False
            commission.save(update_fields=["frozen"])
            audit(
                actor=actor,
                action="commission_unfrozen",
                obj=commission,
                reason=f"Dispute {external_id} {'won' if won else 'lost'}",
            )
    return dispute


@transaction.atomic
def commission_settle_past_events(*, commission: Commission, actor=None) -> Commission:
    """Give a commission created after its order's refunds and disputes (the order was
    attributed by a later event) what those would have done had it existed: each refund's share
    reversed, oldest first, by the same rule and ledger reference as `refund_record`; frozen
    while a dispute is open; what is left reversed for a lost one. Idempotent: each reversal's
    ledger reference is unique."""
    order = Order.objects.select_for_update().get(pk=commission.order_id)
    commission = (
        Commission.objects.select_for_update().select_related("advocate").get(pk=commission.pk)
    )
    paid = order_total_paid(order)
    refunded = 0
    for refund in order.refunds.order_by("pk"):
        refunded += refund.amount
        refund.order = order
        _reverse_refund_share(commission, refund, paid=paid, refunded=refunded, actor=actor)
    for dispute in order.disputes.order_by("pk"):
        if dispute.status == Dispute.Status.LOST:
            outstanding = commission_outstanding(commission)
            if outstanding > 0:
                _reverse(
                    commission,
                    outstanding,
                    reference=f"dispute:{dispute.pk}:commission:{commission.pk}",
                    memo=f"Dispute {dispute.external_id} lost",
                    actor=actor,
                )
        elif dispute.status == Dispute.Status.OPEN and not commission.frozen:
            _freeze(commission, actor=actor, reason=f"Dispute {dispute.external_id} open")
    return commission
