"""Stripe events: stored once by id, then applied through the order and refund services.

`stripe_event_record` stores an event whose signature the webhook view has checked (once per
Stripe event id) and queues `stripe_event_apply` on commit. Each handler below takes the event's
`data.object` and is idempotent through the services it calls (orders by (source, external id),
refunds by refund id, disputes by dispute id), so Stripe's retries and replays change nothing.

One order per payment: a Checkout Session and its PaymentIntent are recorded under the
PaymentIntent id, whichever event arrives first; only a session without a PaymentIntent uses the
session id.

Events out of order: a refund or dispute whose order isn't recorded yet fails with
`order_not_found` and keeps its payload. The payment event, when it arrives, records the order but
does not look for refunds or disputes that came before it: replaying the failed event
(`stripe_event_replay`) is the remedy, and it is safe because every handler is idempotent.
"""

import logging
from datetime import UTC, datetime

import stripe
from django.db import IntegrityError, transaction
from django.utils import timezone

from advocacy.codes import normalise_code
from advocacy.models import RepCode
from kernel.errors import ServiceError
from kernel.jobs import task
from referrals.models import Order, WebhookEvent
from referrals.services.audit import audit
from referrals.services.codes import repcode_find
from referrals.services.orders import order_ingest
from referrals.services.refunds import dispute_close, dispute_open, refund_record
from referrals.stripe import client as stripe_api
from referrals.stripe.connect import stripe_account_sync

logger = logging.getLogger(__name__)


class Skip(Exception):  # noqa: N818 - a control-flow signal, not an error
    """The event is valid but has nothing to apply (it is marked ignored, with the reason)."""


# Helpers -------------------------------------------------------------------------------------


def _id(value) -> str:
    """A Stripe reference: an id string, or the expanded object carrying it."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) else ""


def _metadata_int(metadata: dict, key: str) -> int:
    raw = metadata.get(key)
    if raw in (None, ""):
        return 0
    raw = str(raw).strip()
    if not raw.isdigit():
        raise ServiceError(
            "metadata_invalid", f"metadata.{key} must be a whole number, not {raw!r}."
        )
    return int(raw)


def _amount(obj: dict, key: str) -> int:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ServiceError("amount_invalid", f"{key} is missing or not a whole number.")
    return value


def _placed_at(obj: dict) -> datetime | None:
    created = obj.get("created")
    if isinstance(created, int) and not isinstance(created, bool):
        return datetime.fromtimestamp(created, tz=UTC)
    return None


def _order_for(payment_intent: str, what: str) -> Order:
    if not payment_intent:
        raise ServiceError("payment_intent_missing", f"The {what} carries no payment intent.")
    order = Order.objects.filter(source=Order.Source.STRIPE, external_id=payment_intent).first()
    if order is None:
        raise ServiceError(
            "order_not_found",
            f"No Stripe order {payment_intent} is recorded yet (the payment event hasn't been "
            f"applied). Replay this event once it has.",
        )
    return order


# Handlers: one per event type, each given the event's data.object ---------------------------


def payment_intent_succeeded(pi: dict) -> None:
    """amount_received is what the shopper paid; metadata may say the discount (and tax and
    shipping) so the commission base is right: gross = paid + discount - tax - shipping."""
    metadata = pi.get("metadata") or {}
    if "amount_received" not in pi and pi.get("status") == "succeeded":
        # Stripe always sends amount_received; a payload without it (localstripe's) is of a
        # succeeded intent, which received its whole amount.
        paid = _amount(pi, "amount")
    else:
        paid = _amount(pi, "amount_received")
    discount = _metadata_int(metadata, "discount_amount")
    tax = _metadata_int(metadata, "tax_amount")
    shipping = _metadata_int(metadata, "shipping_amount")
    order_ingest(
        source=Order.Source.STRIPE,
        external_id=_id(pi.get("id")),
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
        shopper_customer_id=_id(pi.get("customer")),
        placed_at=_placed_at(pi),
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
    return [p for p in found if _id(p)]


def _promotion_code_rep_code(session: dict) -> str:
    """The rep code the shopper typed in Checkout, from the session's promotion code: ours by
    its id (stripe_promotion_code_id), else by the promotion code's text (from the expanded
    object, or asked of Stripe), when that text is one of our codes. "" when none is ours.

    A promotion code unknown by id can be one we no longer record (the code moved to a new
    coupon) or the merchant's own; its text tells. If Stripe can't be asked right now the event
    fails, to be replayed, rather than losing the referral to a weaker attribution.
    """
    for promotion_code in _session_promotion_codes(session):
        promotion_id = _id(promotion_code)
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
    paid = _amount(session, "amount_total")
    discount = totals.get("amount_discount") or 0
    tax = totals.get("amount_tax") or 0
    shipping = totals.get("amount_shipping") or 0
    details = session.get("customer_details") or {}
    order_ingest(
        source=Order.Source.STRIPE,
        # The PaymentIntent id, so the session and its payment_intent.succeeded are one order.
        external_id=_id(session.get("payment_intent")) or _id(session.get("id")),
        currency=str(session.get("currency") or "").upper(),
        gross_amount=paid + discount - tax - shipping,
        discount_amount=discount,
        tax_amount=tax,
        shipping_amount=shipping,
        code=_promotion_code_rep_code(session),
        metadata_code=str(metadata.get("rep_code") or session.get("client_reference_id") or ""),
        shopper_email=details.get("email") or session.get("customer_email") or "",
        shopper_customer_id=_id(session.get("customer")),
        placed_at=_placed_at(session),
    )


def charge_refunded(charge: dict) -> None:
    """Each refund once, by its own id and amount. amount_refunded is cumulative over the
    charge's refunds, so it is never used: a second partial refund would count the first again."""
    order = _order_for(_id(charge.get("payment_intent")), "charge")
    # Oldest first, whatever event brings them: the refund that completes the total takes the
    # rounding remainder, so recording in the order they happened gives one ledger however late
    # or out of order the events arrive. Stripe lists newest first; reversed() keeps ties in
    # that order after the stable sort.
    refunds = sorted(reversed(_charge_refunds(charge)), key=_created)
    for refund in refunds:
        if refund.get("status") in ("failed", "canceled"):
            continue
        refund_record(order=order, external_id=_id(refund.get("id")), amount=refund.get("amount"))


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
    charge_id = _id(charge.get("id"))
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
    order = _order_for(_id(dispute.get("payment_intent")), "dispute")
    dispute_open(order=order, external_id=_id(dispute.get("id")))


def charge_dispute_closed(dispute: dict) -> None:
    # warning_closed: an inquiry that closed without becoming a chargeback; no money was lost.
    won = dispute.get("status") in ("won", "warning_closed")
    order = _order_for(_id(dispute.get("payment_intent")), "dispute")
    dispute_close(order=order, external_id=_id(dispute.get("id")), won=won)


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
    account_id = _id(account.get("id"))
    updated, stale = stripe_account_sync(
        account=account, as_of=datetime.fromtimestamp(created, tz=UTC)
    )
    if not updated and not stale:
        raise Skip(f"No advocate has the Stripe account {account_id or '(none)'}.")
    if not updated:
        raise Skip("Older than the account state already applied; nothing changed.")


# Renewals: what a subscription invoice is for. "subscription_create" is the first invoice; the
# others (cycle, update, threshold, the legacy "subscription") renew or extend it.
FIRST_INVOICE = "subscription_create"


def _invoice_subscription(invoice: dict) -> str:
    """`subscription` before API version 2025-03-31; `parent.subscription_details` since."""
    direct = _id(invoice.get("subscription"))
    if direct:
        return direct
    details = (invoice.get("parent") or {}).get("subscription_details") or {}
    return _id(details.get("subscription"))


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
    return sum(_amount(entry, "amount") for entry in amounts if isinstance(entry, dict))


def _invoice_tax(invoice: dict) -> int:
    """Exclusive tax only: inclusive tax is already inside the prices, so in the base."""
    if isinstance(invoice.get("total_taxes"), list):  # since 2025-03-31
        return sum(
            _amount(entry, "amount")
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
        promotion_id = _id(promotion)
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
    paid = _amount(invoice, "amount_paid")
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
        external_id=_id(invoice.get("id")),
        currency=str(invoice.get("currency") or "").upper(),
        gross_amount=paid + discount - tax,
        discount_amount=discount,
        tax_amount=tax,
        code="" if renewal else _invoice_promotion_code(invoice),
        metadata_code=str(metadata.get("rep_code") or ""),
        shopper_email=invoice.get("customer_email") or "",
        shopper_customer_id=_id(invoice.get("customer")),
        placed_at=_placed_at({"created": paid_at}) or _placed_at(invoice),
        subscription_id=subscription,
        renewal=renewal,
    )


HANDLERS = {
    "payment_intent.succeeded": payment_intent_succeeded,
    "checkout.session.completed": checkout_session_completed,
    "checkout.session.async_payment_succeeded": checkout_session_completed,
    "charge.refunded": charge_refunded,
    "charge.dispute.created": charge_dispute_created,
    "charge.dispute.closed": charge_dispute_closed,
    "account.updated": account_updated,
    "invoice.paid": invoice_paid,
}


# Recording and applying ----------------------------------------------------------------------


def stripe_event_record(event: dict) -> tuple[WebhookEvent, bool]:
    """Store a verified event once by its id; (event, created). A new event of a type we handle
    is applied by a task after commit; any other type is stored as ignored."""
    stripe_id = str(event["id"])
    handled = event["type"] in HANDLERS
    try:
        with transaction.atomic():
            stored = WebhookEvent.objects.create(
                stripe_id=stripe_id,
                type=str(event["type"])[:100],
                livemode=bool(event.get("livemode")),
                payload=event,
                status=WebhookEvent.Status.RECEIVED if handled else WebhookEvent.Status.IGNORED,
                error="" if handled else "No handler for this event type.",
                processed_at=None if handled else timezone.now(),
            )
            if handled:
                transaction.on_commit(lambda: _enqueue(stored.pk))
    except IntegrityError:
        return WebhookEvent.objects.get(stripe_id=stripe_id), False
    return stored, True


def _enqueue(event_pk: int) -> None:
    try:
        task("referrals.tasks.stripe_event_apply").delay(event_pk)
    except Exception:
        # The event is stored: it stays "received" and can be replayed. Stripe got its 200.
        logger.exception("could not queue stripe event %s", event_pk)


def stripe_event_apply(event_pk: int, *, replay: bool = False, actor=None) -> WebhookEvent:
    """Apply a stored event through its handler; never raises for a bad event, it records why.

    Without `replay` only a newly received event is applied (a task delivered twice does nothing
    more); a replay also retries failed and ignored ones, and leaves one audit row
    (`stripe_event_replayed`, by `actor`: a manager, or None for reconciliation). Processed
    events are never re-run.
    """
    with transaction.atomic():
        event = WebhookEvent.objects.select_for_update().get(pk=event_pk)
        allowed = (
            {WebhookEvent.Status.RECEIVED, WebhookEvent.Status.FAILED, WebhookEvent.Status.IGNORED}
            if replay
            else {WebhookEvent.Status.RECEIVED}
        )
        if event.status not in allowed:
            return event
        handler, before = HANDLERS.get(event.type), event.status
        event.attempts += 1
        event.error = ""
        try:
            if handler is None:
                raise Skip("No handler for this event type.")
            obj = (event.payload.get("data") or {}).get("object")
            if not isinstance(obj, dict):
                raise ServiceError("payload_invalid", "The event has no data.object.")
            with transaction.atomic():
                if getattr(handler, "wants_event", False):
                    handler(obj, event=event.payload)
                else:
                    handler(obj)
        except Skip as exc:
            event.status = WebhookEvent.Status.IGNORED
            event.error = str(exc)
        except ServiceError as exc:
            event.status = WebhookEvent.Status.FAILED
            event.error = f"{exc.code}: {exc.message}"
        except Exception as exc:
            logger.exception("stripe event %s (%s) failed", event.stripe_id, event.type)
            event.status = WebhookEvent.Status.FAILED
            event.error = f"{type(exc).__name__}: {exc}"
        else:
            event.status = WebhookEvent.Status.PROCESSED
        event.processed_at = timezone.now()
        event.save(update_fields=["status", "error", "attempts", "processed_at"])
        if replay:
            audit(
                actor=actor,
                action="stripe_event_replayed",
                obj=event,
                before=before,
                after=event.status,
                stripe_id=event.stripe_id,
                type=event.type,
            )
    return event


def stripe_event_replay(event_pk: int, *, actor=None) -> WebhookEvent:
    """Apply a failed (or ignored, or never applied) event again, now, audited; processed ones
    are left (and nothing is audited)."""
    return stripe_event_apply(event_pk, replay=True, actor=actor)
