"""invoice.paid: subscriptions. The first paid invoice is attributed like any order; renewals earn
the recurring commission of that first order's advocate within the programme's months."""

from advocacy.models import RepCode
from referrals.models import Order, WebhookEvent
from referrals.services.orders import order_ingest
from referrals.stripe.payloads import Skip, amount_of, object_id, placed_at

# Renewals: what a subscription invoice is for. "subscription_create" is the first invoice; the
# others (cycle, update, threshold, the legacy "subscription") renew or extend it.
FIRST_INVOICE = "subscription_create"


def _invoice_subscription(invoice: dict) -> str:
    """`subscription` before API version 2025-03-31; `parent.subscription_details` since."""
    direct = object_id(invoice.get("subscription"))
    if direct:
        return direct
    details = (invoice.get("parent") or {}).get("subscription_details") or {}
    return object_id(details.get("subscription"))


def _invoice_metadata(invoice: dict) -> dict:
    """The subscription's metadata (where Checkout puts rep_code), then the invoice's own."""
    merged = {}
    for details in (
        (invoice.get("parent") or {}).get("subscription_details"),
        invoice.get("subscription_details"),
    ):
        if isinstance(details, dict) and isinstance(details.get("metadata"), dict):
            merged.update(details["metadata"])
    if isinstance(invoice.get("metadata"), dict):
        merged.update(invoice["metadata"])
    return merged


def _invoice_discount(invoice: dict) -> int:
    amounts = invoice.get("total_discount_amounts") or []
    return sum(amount_of(entry, "amount") for entry in amounts if isinstance(entry, dict))


def _invoice_tax(invoice: dict) -> int:
    """Exclusive tax only: inclusive tax is already inside the prices, so in the base."""
    if isinstance(invoice.get("total_taxes"), list):  # since 2025-03-31
        return sum(
            amount_of(entry, "amount")
            for entry in invoice["total_taxes"]
            if isinstance(entry, dict) and entry.get("tax_behavior") != "inclusive"
        )
    tax = invoice.get("tax")
    return tax if isinstance(tax, int) and not isinstance(tax, bool) else 0


def _invoice_promotion_code(invoice: dict) -> str:
    """The rep code behind a promotion code on the invoice (discounts expanded), or "": the
    merchant's own promotion codes are not rep codes and attribute nothing."""
    for discount in invoice.get("discounts") or []:
        promotion = discount.get("promotion_code") if isinstance(discount, dict) else None
        promotion_id = object_id(promotion)
        text = promotion.get("code") if isinstance(promotion, dict) else None
        matches = RepCode.objects.none()
        if promotion_id:
            matches = RepCode.objects.filter(stripe_promotion_code_id=promotion_id)
        if isinstance(text, str) and text:
            matches = matches | RepCode.objects.filter(code=text.upper())
        rep = matches.first()
        if rep is not None:
            return rep.code
    return ""


def _trial_started(subscription_id: str) -> bool:
    """Did this subscription start with a free first invoice (a trial), which made no order?
    Then its first paid invoice, though billed as a renewal, is the first order."""
    free_first = WebhookEvent.objects.filter(
        type="invoice.paid",
        payload__data__object__billing_reason=FIRST_INVOICE,
        payload__data__object__amount_paid=0,
    )
    return (
        free_first.filter(payload__data__object__subscription=subscription_id).exists()
        or free_first.filter(
            payload__data__object__parent__subscription_details__subscription=subscription_id
        ).exists()
    )


def invoice_paid(invoice: dict) -> None:
    """One order per paid invoice, by the invoice id. The first invoice of a subscription is
    attributed like any order; renewals follow the first order (see `order_ingest`).
    gross = paid + discount - exclusive tax."""
    paid = amount_of(invoice, "amount_paid")
    if paid == 0:
        raise Skip("Nothing was paid (a trial or a fully discounted invoice): no order.")
    subscription = _invoice_subscription(invoice)
    renewal = bool(subscription) and invoice.get("billing_reason") != FIRST_INVOICE
    if (
        renewal
        and not Order.objects.filter(
            source=Order.Source.STRIPE, subscription_id=subscription
        ).exists()
        and _trial_started(subscription)
    ):
        renewal = False  # the first paid invoice after a free trial is the first order
    discount = _invoice_discount(invoice)
    tax = _invoice_tax(invoice)
    metadata = _invoice_metadata(invoice)
    paid_at = (invoice.get("status_transitions") or {}).get("paid_at")
    order_ingest(
        source=Order.Source.STRIPE,
        external_id=object_id(invoice.get("id")),
        currency=str(invoice.get("currency") or "").upper(),
        gross_amount=paid + discount - tax,
        discount_amount=discount,
        tax_amount=tax,
        code="" if renewal else _invoice_promotion_code(invoice),
        metadata_code=str(metadata.get("rep_code") or ""),
        shopper_email=invoice.get("customer_email") or "",
        shopper_customer_id=object_id(invoice.get("customer")),
        placed_at=placed_at({"created": paid_at}) or placed_at(invoice),
        subscription_id=subscription,
        renewal=renewal,
    )
