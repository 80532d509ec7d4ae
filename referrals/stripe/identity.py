"""A Stripe payment's identity: the one order every later event about it finds.

An order is recorded under one id (its key): the invoice for a subscription payment, the
PaymentIntent for a one-off payment, the charge for a Charges-API payment, the Checkout Session
only when it has no PaymentIntent. Events name other objects of the same money: a refund names its
charge (and perhaps its PaymentIntent), a dispute its charge, a subscription's
payment_intent.succeeded its PaymentIntent. Whenever an event says how two objects belong
together, `stripe_links_record` keeps it (StripeLink, unique by Stripe id), so refunds, disputes
and duplicate payment events land on the one order whatever object they name.

Which invoice a PaymentIntent paid: before API version 2025-03-31.basil the PaymentIntent (and
the Charge) says so in `invoice`, and the invoice names its `payment_intent` and `charge`; since,
neither does, and Stripe's answer is the invoice payments list (`invoice_payment.paid` events, or
GET /v1/invoice_payments), asked only when an event of that version leaves it open.
"""

import stripe

from kernel.errors import ServiceError
from referrals.models import Order, StripeLink
from referrals.stripe import client as stripe_api
from referrals.stripe.payloads import object_id

# The API version since which PaymentIntents, Charges and Invoices no longer name each other.
BASIL = "2025-03-31"
# Links are followed at most this far (charge -> PaymentIntent -> invoice).
_HOPS = 3


def stripe_links_record(*, order_key: str, ids: list[str]) -> None:
    """Say that each of `ids` belongs to the order recorded (or to be recorded) under
    `order_key`; an id already linked keeps its first link (the unique constraint decides)."""
    rows = [
        StripeLink(stripe_id=stripe_id, order_key=order_key)
        for stripe_id in dict.fromkeys(ids)
        if stripe_id and stripe_id != order_key
    ]
    if rows:
        StripeLink.objects.bulk_create(rows, ignore_conflicts=True)


def stripe_order_key(stripe_id: str) -> str:
    """The order key a Stripe object belongs to, following links; the id itself when unlinked."""
    key = stripe_id
    for _ in range(_HOPS):
        nxt = StripeLink.objects.filter(stripe_id=key).values_list("order_key", flat=True).first()
        if not nxt or nxt == key:
            break
        key = nxt
    return key


def _order_for_key(key: str) -> Order | None:
    return Order.objects.filter(source=Order.Source.STRIPE, external_id=key).first()


def is_basil_or_later(event: dict | None) -> bool:
    """Whether the event was rendered in API version 2025-03-31.basil or later (Stripe names the
    endpoint's version in every event; an event without one is read by its fields only)."""
    version = (event or {}).get("api_version")
    return isinstance(version, str) and version[:10] >= BASIL


def invoice_of_payment_intent(pi: dict, *, event: dict | None, ask_stripe: bool) -> str:
    """The invoice a PaymentIntent paid, or "" for a payment of no invoice. Read from the
    PaymentIntent before basil (`invoice`), else from the links; with `ask_stripe`, an event of
    basil or later that leaves it open is settled by listing the PaymentIntent's invoice payments
    (a retryable `stripe_unavailable` failure when Stripe can't be reached)."""
    if "invoice" in pi:  # the shape before 2025-03-31.basil: null for a payment of no invoice
        return object_id(pi.get("invoice"))
    pi_id = object_id(pi.get("id"))
    key = stripe_order_key(pi_id) if pi_id else ""
    if key.startswith("in_"):
        return key
    if not (ask_stripe and pi_id and is_basil_or_later(event)):
        return ""
    return _invoice_asked_of_stripe(pi_id)


def _invoice_asked_of_stripe(pi_id: str) -> str:
    if not stripe_api.enabled():
        return ""
    try:
        payments = stripe_api.invoice_payments_for(payment_intent=pi_id)
    except stripe.InvalidRequestError:
        return ""  # Stripe answered: no invoice payment can be listed for this PaymentIntent
    except stripe.StripeError as exc:
        raise ServiceError(
            "stripe_unavailable",
            f"Asking Stripe which invoice PaymentIntent {pi_id} paid failed ({exc}); "
            "replay this event.",
        ) from exc
    for payment in payments:
        invoice = object_id(payment.get("invoice"))
        if invoice:
            stripe_links_record(order_key=invoice, ids=[pi_id])
            return invoice
    return ""


def stripe_order_find(
    *, what: str, event: dict | None, payment_intent: str = "", charge: str = ""
) -> Order:
    """The order a refund's or a dispute's money belongs to, by whichever ids it names.

    A PaymentIntent nobody linked yet may have paid an invoice: in an event of API basil or
    later, where nothing else says so, Stripe is asked before giving up. Not found:
    `order_not_found`, to be replayed once the payment is in.
    """
    ids = [i for i in (charge, payment_intent) if i]
    if not ids:
        raise ServiceError("payload_invalid", f"The {what} names no charge nor payment intent.")
    for stripe_id in ids:
        order = _order_for_key(stripe_order_key(stripe_id))
        if order is not None:
            stripe_links_record(order_key=order.external_id, ids=ids)
            return order
    if payment_intent and is_basil_or_later(event):
        invoice = _invoice_asked_of_stripe(payment_intent)
        order = _order_for_key(invoice) if invoice else None
        if order is not None:
            stripe_links_record(order_key=order.external_id, ids=ids)
            return order
    raise ServiceError(
        "order_not_found",
        f"No Stripe order for {' / '.join(ids)} is recorded yet (the payment event hasn't been "
        f"applied). Replay this event once it has.",
    )
