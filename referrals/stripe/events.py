"""Stripe events: stored once by id, then applied through the order and refund services.

`stripe_event_record` stores an event whose signature the webhook view has checked (once per
Stripe event id) and queues `stripe_event_apply` on commit. Each handler below takes the event's
`data.object` and is idempotent through the services it calls (orders by (source, external id),
refunds by refund id, disputes by dispute id), so Stripe's retries and replays change nothing.

One order per payment, whatever object an event names: the order's key (PaymentIntent, invoice,
or Charges-API charge) and the other ids of the same payment are linked
(referrals.stripe.identity), so a refund, a dispute or a duplicate payment event finds the one
order. A subscription's payment_intent.succeeded makes no second order: it links to the invoice.

Events out of order: attribution is settled by the end state (a later event carrying the code
attributes an order recorded unattributed, once; referrals.services.attribution). A refund or
dispute whose order isn't recorded yet fails with `order_not_found` and keeps its payload;
replaying it (`stripe_event_replay`, or the daily reconciliation) applies it, and an order
attributed after its refunds gets the reversals they would have made. Every handler is
idempotent, so replays are safe.
"""

import logging

from django.db import IntegrityError, transaction
from django.utils import timezone

from kernel.errors import ServiceError
from kernel.jobs import task
from referrals.models import WebhookEvent
from referrals.services.audit import audit
from referrals.stripe.handlers import (
    account_updated,
    charge_succeeded,
    checkout_session_completed,
    payment_intent_succeeded,
)
from referrals.stripe.invoices import invoice_paid, invoice_payment_paid
from referrals.stripe.payloads import Skip
from referrals.stripe.refunds import (
    charge_dispute_closed,
    charge_dispute_funds_reinstated,
    charge_dispute_opened,
    charge_refunded,
    refund_changed,
)

logger = logging.getLogger(__name__)


# Handlers: one per event type, each given the event's data.object ---------------------------


HANDLERS = {
    "payment_intent.succeeded": payment_intent_succeeded,
    "checkout.session.completed": checkout_session_completed,
    "checkout.session.async_payment_succeeded": checkout_session_completed,
    "charge.succeeded": charge_succeeded,
    "charge.captured": charge_succeeded,
    "charge.refunded": charge_refunded,
    "refund.created": refund_changed,
    "refund.updated": refund_changed,
    "charge.refund.updated": refund_changed,
    "charge.dispute.created": charge_dispute_opened,
    "charge.dispute.updated": charge_dispute_opened,
    "charge.dispute.funds_withdrawn": charge_dispute_opened,
    "charge.dispute.funds_reinstated": charge_dispute_funds_reinstated,
    "charge.dispute.closed": charge_dispute_closed,
    "account.updated": account_updated,
    "invoice.paid": invoice_paid,
    "invoice_payment.paid": invoice_payment_paid,
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
