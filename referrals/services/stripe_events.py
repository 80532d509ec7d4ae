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

from django.db import IntegrityError, transaction
from django.utils import timezone

from advocacy.errors import ServiceError

from ..models import Order, WebhookEvent
from .orders import order_ingest
from .refunds import dispute_close, dispute_open, refund_record

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


def checkout_session_completed(session: dict) -> None:
    """amount_total is what the shopper paid, after the discount and with tax and shipping."""
    if session.get("mode") == "subscription":
        raise Skip("Subscription checkouts are recorded from invoice.paid (not handled yet).")
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
        metadata_code=str(metadata.get("rep_code") or session.get("client_reference_id") or ""),
        shopper_email=details.get("email") or session.get("customer_email") or "",
        shopper_customer_id=_id(session.get("customer")),
        placed_at=_placed_at(session),
    )


def charge_refunded(charge: dict) -> None:
    """Each refund once, by its own id and amount. amount_refunded is cumulative over the
    charge's refunds, so it is never used: a second partial refund would count the first again."""
    order = _order_for(_id(charge.get("payment_intent")), "charge")
    refunds = charge.get("refunds")
    if not isinstance(refunds, dict) or not isinstance(refunds.get("data"), list):
        raise ServiceError(
            "refunds_missing",
            "The charge carries no refund list (charge.refunds); its refunds can't be told apart.",
        )
    for refund in refunds["data"]:
        if refund.get("status") in ("failed", "canceled"):
            continue
        refund_record(order=order, external_id=_id(refund.get("id")), amount=refund.get("amount"))


def charge_dispute_created(dispute: dict) -> None:
    order = _order_for(_id(dispute.get("payment_intent")), "dispute")
    dispute_open(order=order, external_id=_id(dispute.get("id")))


def charge_dispute_closed(dispute: dict) -> None:
    # warning_closed: an inquiry that closed without becoming a chargeback; no money was lost.
    won = dispute.get("status") in ("won", "warning_closed")
    order = _order_for(_id(dispute.get("payment_intent")), "dispute")
    dispute_close(order=order, external_id=_id(dispute.get("id")), won=won)


HANDLERS = {
    "payment_intent.succeeded": payment_intent_succeeded,
    "checkout.session.completed": checkout_session_completed,
    "checkout.session.async_payment_succeeded": checkout_session_completed,
    "charge.refunded": charge_refunded,
    "charge.dispute.created": charge_dispute_created,
    "charge.dispute.closed": charge_dispute_closed,
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
    from ..tasks import stripe_event_apply as stripe_event_apply_task

    try:
        stripe_event_apply_task.delay(event_pk)
    except Exception:
        # The event is stored: it stays "received" and can be replayed. Stripe got its 200.
        logger.exception("could not queue stripe event %s", event_pk)


def stripe_event_apply(event_pk: int, *, replay: bool = False) -> WebhookEvent:
    """Apply a stored event through its handler; never raises for a bad event, it records why.

    Without `replay` only a newly received event is applied (a task delivered twice does nothing
    more); a replay also retries failed and ignored ones. Processed events are never re-run.
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
        handler = HANDLERS.get(event.type)
        event.attempts += 1
        event.error = ""
        try:
            if handler is None:
                raise Skip("No handler for this event type.")
            obj = (event.payload.get("data") or {}).get("object")
            if not isinstance(obj, dict):
                raise ServiceError("payload_invalid", "The event has no data.object.")
            with transaction.atomic():
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
    return event


def stripe_event_replay(event_pk: int) -> WebhookEvent:
    """Apply a failed (or ignored, or never applied) event again, now; processed ones are left."""
    return stripe_event_apply(event_pk, replay=True)
