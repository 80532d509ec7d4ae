"""Handlers of payments (PaymentIntents, Checkout Sessions, Charges-API charges) and Connect
accounts: each takes the event's `data.object` (and, marked `wants_event`, the event), and is
idempotent through the services it calls. Refunds and disputes: referrals.stripe.refunds;
invoices: referrals.stripe.invoices.

One order per payment, whatever event tells of it first: a PaymentIntent's order is keyed by the
PaymentIntent (a Checkout Session links to it), a subscription payment's by its invoice (its
payment_intent.succeeded only links the PaymentIntent and charge to the invoice), a Charges-API
payment's by the charge. A later event about a recorded, unattributed order attributes it
(`order_attribute`): the end state doesn't depend on the arrival order.
"""

from datetime import UTC, datetime

from kernel.errors import ServiceError
from referrals.models import Order
from referrals.services.attribution import OrderAmounts, order_attribute
from referrals.services.orders import order_ingest
from referrals.services.stores import store_built_in
from referrals.stripe.connect import stripe_account_sync
from referrals.stripe.discounts import rep_code_of_promotion_codes, session_promotion_codes
from referrals.stripe.identity import invoice_of_payment_intent, stripe_links_record
from referrals.stripe.payloads import (
    Skip,
    amount_of,
    metadata_int,
    object_id,
    placed_at,
    wants_event,
)


def stripe_order_record(
    *, external_id: str, amounts: OrderAmounts, code: str = "", metadata_code: str = "", **fields
):
    """Record a paid Stripe order (never refused for a reused one-use offer: the money is
    taken), or complete the one already recorded under this key with what this event knows."""
    result = order_ingest(
        source=Order.Source.STRIPE,
        store=store_built_in(Order.Source.STRIPE),
        external_id=external_id,
        gross_amount=amounts.gross_amount,
        discount_amount=amounts.discount_amount,
        tax_amount=amounts.tax_amount,
        shipping_amount=amounts.shipping_amount,
        code=code,
        metadata_code=metadata_code,
        paid=True,
        **fields,
    )
    if not result.created:
        order_attribute(
            order=result.order,
            code=code,
            metadata_code=metadata_code,
            shopper_email=fields.get("shopper_email", ""),
            amounts=amounts,
        )
    return result


def _amounts_from_metadata(paid: int, metadata: dict) -> OrderAmounts:
    """metadata may say the discount (and tax and shipping) so the commission base is right:
    gross = paid + discount - tax - shipping."""
    discount = metadata_int(metadata, "discount_amount")
    tax = metadata_int(metadata, "tax_amount")
    shipping = metadata_int(metadata, "shipping_amount")
    return OrderAmounts(paid + discount - tax - shipping, discount, tax, shipping)


def _legacy_charges(obj: dict) -> list[str]:
    """Charge ids a PaymentIntent embedded before API version 2022-11-15 (`charges.data`)."""
    charges = (obj.get("charges") or {}).get("data") or []
    return [object_id(c) for c in charges if object_id(c)]


def _shopper_email(obj: dict, metadata: dict) -> str:
    return (
        obj.get("receipt_email")
        or (obj.get("billing_details") or {}).get("email")
        or metadata.get("email")
        or metadata.get("customer_email")
        or ""
    )


@wants_event
def payment_intent_succeeded(pi: dict, *, event: dict) -> None:
    """amount_received is what the shopper paid. A PaymentIntent that paid an invoice is the
    invoice's order (recorded from invoice.paid): its ids are linked to the invoice, no order."""
    pi_id = object_id(pi.get("id"))
    charges = [object_id(pi.get("latest_charge")), *_legacy_charges(pi)]
    invoice = invoice_of_payment_intent(pi, event=event, ask_stripe=True)
    if invoice:
        stripe_links_record(order_key=invoice, ids=[pi_id, *charges])
        return
    stripe_links_record(order_key=pi_id, ids=charges)
    metadata = pi.get("metadata") or {}
    if "amount_received" not in pi and pi.get("status") == "succeeded":
        # Stripe always sends amount_received; a payload without it (localstripe's) is of a
        # succeeded intent, which received its whole amount.
        paid = amount_of(pi, "amount")
    else:
        paid = amount_of(pi, "amount_received")
    stripe_order_record(
        external_id=pi_id,
        amounts=_amounts_from_metadata(paid, metadata),
        currency=str(pi.get("currency") or "").upper(),
        metadata_code=str(metadata.get("rep_code") or ""),
        shopper_email=_shopper_email(pi, metadata),
        shopper_customer_id=object_id(pi.get("customer")),
        placed_at=placed_at(pi),
    )


def checkout_session_completed(session: dict) -> None:
    """amount_total is what the shopper paid, after the discount and with tax and shipping.

    Attribution: the promotion code typed in Checkout (as a typed code), else metadata.rep_code,
    else client_reference_id (both as order metadata). Recorded under the PaymentIntent id, so
    the session and its payment_intent.succeeded are one order whichever comes first.
    """
    if session.get("mode") == "subscription":
        raise Skip("Subscription checkouts are recorded from their invoice.paid events.")
    if session.get("payment_status") not in ("paid", "no_payment_required"):
        raise Skip(
            f"Payment status {session.get('payment_status')!r}: waiting for "
            "checkout.session.async_payment_succeeded."
        )
    metadata = session.get("metadata") or {}
    totals = session.get("total_details") or {}
    paid = amount_of(session, "amount_total")
    discount = totals.get("amount_discount") or 0
    tax = totals.get("amount_tax") or 0
    shipping = totals.get("amount_shipping") or 0
    details = session.get("customer_details") or {}
    session_id = object_id(session.get("id"))
    key = object_id(session.get("payment_intent")) or session_id
    stripe_links_record(order_key=key, ids=[session_id])
    stripe_order_record(
        external_id=key,
        amounts=OrderAmounts(paid + discount - tax - shipping, discount, tax, shipping),
        currency=str(session.get("currency") or "").upper(),
        code=rep_code_of_promotion_codes(session_promotion_codes(session)),
        metadata_code=str(metadata.get("rep_code") or session.get("client_reference_id") or ""),
        shopper_email=details.get("email") or session.get("customer_email") or "",
        shopper_customer_id=object_id(session.get("customer")),
        placed_at=placed_at(session),
    )


def charge_succeeded(charge: dict) -> None:
    """charge.succeeded / charge.captured. A charge of a PaymentIntent or of an invoice is linked
    to that payment's order (recorded from its own event). A charge of neither is a Charges-API
    payment (POST /v1/charges): the order, keyed by the charge id, once it is captured."""
    charge_id = object_id(charge.get("id"))
    owner = object_id(charge.get("invoice")) or object_id(charge.get("payment_intent"))
    if owner:
        stripe_links_record(order_key=owner, ids=[charge_id])
        return
    if not charge.get("paid") or charge.get("captured") is False:
        raise Skip("The charge is not paid and captured yet: waiting for charge.captured.")
    metadata = charge.get("metadata") or {}
    if "amount_captured" in charge:
        paid = amount_of(charge, "amount_captured")
    else:
        paid = amount_of(charge, "amount")
    if paid <= 0:
        raise ServiceError("amount_invalid", "The charge captured nothing.")
    stripe_order_record(
        external_id=charge_id,
        amounts=_amounts_from_metadata(paid, metadata),
        currency=str(charge.get("currency") or "").upper(),
        metadata_code=str(metadata.get("rep_code") or ""),
        shopper_email=_shopper_email(charge, metadata),
        shopper_customer_id=object_id(charge.get("customer")),
        placed_at=placed_at(charge),
    )


@wants_event
def account_updated(account: dict, *, event: dict) -> None:
    """A connected account's state, as of the event's `created`: an event older than the state
    already applied (it arrived late, or after a direct read) changes nothing."""
    created = event.get("created")
    if isinstance(created, bool) or not isinstance(created, int):
        raise ServiceError("payload_invalid", "The event has no created time.")
    account_id = object_id(account.get("id"))
    updated, stale = stripe_account_sync(
        account=account, as_of=datetime.fromtimestamp(created, tz=UTC)
    )
    if not updated and not stale:
        raise Skip(f"No advocate has the Stripe account {account_id or '(none)'}.")
    if not updated:
        raise Skip("Older than the account state already applied; nothing changed.")
