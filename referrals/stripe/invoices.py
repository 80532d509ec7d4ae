"""invoice.paid: subscriptions. The first paid invoice is attributed like any order; renewals earn
the recurring commission of that first order's advocate within the programme's months."""

from kernel.errors import ServiceError
from referrals.models import Order, WebhookEvent
from referrals.services.orders import order_ingest
from referrals.services.stores import store_built_in
from referrals.stripe.discounts import invoice_promotion_codes, rep_code_of_promotion_codes
from referrals.stripe.identity import stripe_links_record
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


def _invoice_paid_by(invoice: dict) -> list[str]:
    """The PaymentIntents and charges that paid the invoice, as far as the payload says:
    `payment_intent` and `charge` before API version 2025-03-31.basil; since, only
    `payments.data[].payment` when the sender expanded it (else invoice_payment.paid, or
    asking Stripe, links them: referrals.stripe.identity)."""
    found = [object_id(invoice.get("payment_intent")), object_id(invoice.get("charge"))]
    payments = invoice.get("payments")
    if isinstance(payments, dict):
        for entry in payments.get("data") or []:
            payment = (entry.get("payment") or {}) if isinstance(entry, dict) else {}
            found += [object_id(payment.get("payment_intent")), object_id(payment.get("charge"))]
    return [i for i in found if i]


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
    invoice_id = object_id(invoice.get("id"))
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
    code = "" if renewal else rep_code_of_promotion_codes(invoice_promotion_codes(invoice))
    stripe_links_record(order_key=invoice_id, ids=_invoice_paid_by(invoice))
    order_ingest(
        source=Order.Source.STRIPE,
        store=store_built_in(Order.Source.STRIPE),
        external_id=invoice_id,
        currency=str(invoice.get("currency") or "").upper(),
        gross_amount=paid + discount - tax,
        discount_amount=discount,
        tax_amount=tax,
        code=code,
        metadata_code=str(metadata.get("rep_code") or ""),
        shopper_email=invoice.get("customer_email") or "",
        shopper_customer_id=object_id(invoice.get("customer")),
        placed_at=placed_at({"created": paid_at}) or placed_at(invoice),
        subscription_id=subscription,
        renewal=renewal,
        paid=True,
    )


def invoice_payment_paid(payment: dict) -> None:
    """invoice_payment.paid (API 2025-03-31.basil on): which PaymentIntent or charge paid which
    invoice. Only links them, so the PaymentIntent's own events and its refunds and disputes
    find the invoice's order; the order itself is recorded from invoice.paid."""
    invoice_id = object_id(payment.get("invoice"))
    if not invoice_id:
        raise ServiceError("payload_invalid", "The invoice payment names no invoice.")
    if payment.get("status") not in (None, "paid"):
        raise Skip(f"Invoice payment status {payment.get('status')!r}: nothing was paid.")
    method = payment.get("payment") or {}
    ids = [object_id(method.get("payment_intent")), object_id(method.get("charge"))]
    stripe_links_record(order_key=invoice_id, ids=[i for i in ids if i])
