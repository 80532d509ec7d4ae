"""Handlers of one-off payments, refunds, disputes and Connect accounts: each takes the event's
`data.object`, and is idempotent through the services it calls."""

from datetime import UTC, datetime

import stripe

from advocacy.codes import normalise_code
from advocacy.models import RepCode
from kernel.errors import ServiceError
from referrals.models import Order
from referrals.services.codes import repcode_find
from referrals.services.orders import order_ingest
from referrals.services.refunds import dispute_close, dispute_open, refund_record
from referrals.stripe import client as stripe_api
from referrals.stripe.connect import stripe_account_sync
from referrals.stripe.payloads import (
    Skip,
    amount_of,
    metadata_int,
    object_id,
    order_for_payment_intent,
    placed_at,
)


def payment_intent_succeeded(pi: dict) -> None:
    """amount_received is what the shopper paid; metadata may say the discount (and tax and
    shipping) so the commission base is right: gross = paid + discount - tax - shipping."""
    metadata = pi.get("metadata") or {}
    if "amount_received" not in pi and pi.get("status") == "succeeded":
        # Stripe always sends amount_received; a payload without it (localstripe's) is of a
        # succeeded intent, which received its whole amount.
        paid = amount_of(pi, "amount")
    else:
        paid = amount_of(pi, "amount_received")
    discount = metadata_int(metadata, "discount_amount")
    tax = metadata_int(metadata, "tax_amount")
    shipping = metadata_int(metadata, "shipping_amount")
    order_ingest(
        source=Order.Source.STRIPE,
        external_id=object_id(pi.get("id")),
        currency=str(pi.get("currency") or "").upper(),
        gross_amount=paid + discount - tax - shipping,
        discount_amount=discount,
        tax_amount=tax,
        shipping_amount=shipping,
        metadata_code=str(metadata.get("rep_code") or ""),
        shopper_email=pi.get("receipt_email")
        or metadata.get("email")
        or metadata.get("customer_email")
        or "",
        shopper_customer_id=object_id(pi.get("customer")),
        placed_at=placed_at(pi),
    )


def _session_promotion_codes(session: dict) -> list:
    """The promotion codes applied to a session (ids, or expanded objects): from `discounts`,
    and from `total_details.breakdown` when the payload carries the expanded breakdown."""
    found = [d.get("promotion_code") for d in session.get("discounts") or [] if isinstance(d, dict)]
    breakdown = (session.get("total_details") or {}).get("breakdown") or {}
    for entry in breakdown.get("discounts") or []:
        discount = entry.get("discount") if isinstance(entry, dict) else None
        if isinstance(discount, dict):
            found.append(discount.get("promotion_code"))
    return [p for p in found if object_id(p)]


def _promotion_code_rep_code(session: dict) -> str:
    """The rep code the shopper typed in Checkout, from the session's promotion code: ours by
    its id (stripe_promotion_code_id), else by the promotion code's text (from the expanded
    object, or asked of Stripe), when that text is one of our codes. "" when none is ours.

    A promotion code unknown by id can be one we no longer record (the code moved to a new
    coupon) or the merchant's own; its text tells. If Stripe can't be asked right now the event
    fails, to be replayed, rather than losing the referral to a weaker attribution.
    """
    for promotion_code in _session_promotion_codes(session):
        promotion_id = object_id(promotion_code)
        rep = RepCode.objects.filter(stripe_promotion_code_id=promotion_id).only("code").first()
        if rep is not None:
            return rep.code
        text = promotion_code.get("code") if isinstance(promotion_code, dict) else None
        if not text:
            try:
                retrieved = stripe_api.promotion_code_retrieve(promotion_id)
            except stripe_api.StripeUnavailable:
                continue  # the integration is off: the promotion code can't be read
            except stripe.StripeError as exc:
                raise ServiceError(
                    "stripe_unavailable",
                    f"Reading promotion code {promotion_id} failed ({exc}); replay this event.",
                ) from exc
            text = (retrieved or {}).get("code")
        if text and repcode_find(text) is not None:
            return normalise_code(text)
    return ""


def checkout_session_completed(session: dict) -> None:
    """amount_total is what the shopper paid, after the discount and with tax and shipping.

    Attribution: the promotion code typed in Checkout (as a typed code), else metadata.rep_code,
    else client_reference_id (both as order metadata).
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
    order_ingest(
        source=Order.Source.STRIPE,
        # The PaymentIntent id, so the session and its payment_intent.succeeded are one order.
        external_id=object_id(session.get("payment_intent")) or object_id(session.get("id")),
        currency=str(session.get("currency") or "").upper(),
        gross_amount=paid + discount - tax - shipping,
        discount_amount=discount,
        tax_amount=tax,
        shipping_amount=shipping,
        code=_promotion_code_rep_code(session),
        metadata_code=str(metadata.get("rep_code") or session.get("client_reference_id") or ""),
        shopper_email=details.get("email") or session.get("customer_email") or "",
        shopper_customer_id=object_id(session.get("customer")),
        placed_at=placed_at(session),
    )


def charge_refunded(charge: dict) -> None:
    """Each refund once, by its own id and amount. amount_refunded is cumulative over the
    charge's refunds, so it is never used: a second partial refund would count the first again."""
    order = order_for_payment_intent(object_id(charge.get("payment_intent")), "charge")
    # Oldest first, whatever event brings them: the refund that completes the total takes the
    # rounding remainder, so recording in the order they happened gives one ledger however late
    # or out of order the events arrive. Stripe lists newest first; reversed() keeps ties in
    # that order after the stable sort.
    refunds = sorted(reversed(_charge_refunds(charge)), key=_created)
    for refund in refunds:
        if refund.get("status") in ("failed", "canceled"):
            continue
        refund_record(
            order=order, external_id=object_id(refund.get("id")), amount=refund.get("amount")
        )


def _created(obj: dict) -> int:
    created = obj.get("created")
    return created if isinstance(created, int) and not isinstance(created, bool) else 0


def _charge_refunds(charge: dict) -> list[dict]:
    """The charge's refunds: the embedded list when it is whole, else asked of Stripe.

    Since API version 2022-11-15 a charge no longer embeds `refunds`, and an embedded list stops
    at the newest ten (`has_more`). Listing at apply time also means a late or replayed event
    sees every refund so far; each is still recorded once, by its id.
    """
    embedded = charge.get("refunds")
    if (
        isinstance(embedded, dict)
        and isinstance(embedded.get("data"), list)
        and not embedded.get("has_more")
    ):
        return embedded["data"]
    charge_id = object_id(charge.get("id"))
    if not charge_id:
        raise ServiceError("refunds_missing", "The charge has no id to list its refunds by.")
    try:
        return stripe_api.refunds_list(charge=charge_id)
    except stripe_api.StripeUnavailable as exc:
        raise ServiceError(
            "refunds_missing",
            "The charge carries no refund list (charge.refunds) and the Stripe integration is "
            "off (no STRIPE_SECRET_KEY) to list them; its refunds can't be told apart.",
        ) from exc
    except stripe.StripeError as exc:
        raise ServiceError(
            "stripe_unavailable",
            f"Listing the refunds of charge {charge_id} failed ({exc}); replay this event.",
        ) from exc


def charge_dispute_created(dispute: dict) -> None:
    order = order_for_payment_intent(object_id(dispute.get("payment_intent")), "dispute")
    dispute_open(order=order, external_id=object_id(dispute.get("id")))


def charge_dispute_closed(dispute: dict) -> None:
    # warning_closed: an inquiry that closed without becoming a chargeback; no money was lost.
    won = dispute.get("status") in ("won", "warning_closed")
    order = order_for_payment_intent(object_id(dispute.get("payment_intent")), "dispute")
    dispute_close(order=order, external_id=object_id(dispute.get("id")), won=won)


def _wants_event(handler):
    """Mark a handler that needs the whole event (its `created` time), not only data.object."""
    handler.wants_event = True
    return handler


@_wants_event
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
