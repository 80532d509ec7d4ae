"""Reconciliation: what Stripe says happened since a date, against what we recorded.

Webhooks can be lost (an outage longer than Stripe's retries, a misconfigured secret) and an
applied event can fail. `stripe_reconcile` lists, since a date:

- events Stripe sent of the types we handle that we never received (delivery failed), and
  events we stored but never applied or that failed;
- succeeded PaymentIntents with no order here, and Stripe orders here whose payment Stripe
  doesn't list as succeeded.

With `apply`, missed events are recorded and applied through the same services as the webhook
(oldest first, so a subscription's first invoice comes before its renewals), then failed or
stuck ones are replayed; both are idempotent, so running it twice changes nothing more.
Each run leaves its summary in the audit log (`stripe_reconciled`), which the admin shows.

Stripe keeps events for 30 days: older missed events can't be fetched any more.
"""

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta

from django.utils import timezone

from referrals.models import AuditEvent, Order, StripeLink, WebhookEvent
from referrals.stripe.events import (
    HANDLERS,
    stripe_event_apply,
    stripe_event_record,
    stripe_event_replay,
)

EVENT_RETENTION = timedelta(days=30)
AUDIT_ACTION = "stripe_reconciled"
# How many ids of each kind the stored summary keeps (the command prints them all).
SUMMARY_IDS = 20
_CHUNK = 500
_OPEN = (WebhookEvent.Status.RECEIVED, WebhookEvent.Status.FAILED)


@dataclass
class EventLine:
    stripe_id: str
    type: str
    created: datetime | None
    status: str  # ours: received / failed / processed / ignored; "missing" when never received
    error: str = ""


@dataclass
class PaymentLine:
    id: str  # the PaymentIntent id (or our order's external id)
    amount: int
    currency: str
    created: datetime | None
    note: str = ""


@dataclass
class ReconcileReport:
    since: datetime
    checked_at: datetime
    applied_requested: bool = False
    events_checked: int = 0
    payments_checked: int = 0
    missed_events: list[EventLine] = field(default_factory=list)
    unsettled_events: list[EventLine] = field(default_factory=list)
    applied: list[EventLine] = field(default_factory=list)
    missing_orders: list[PaymentLine] = field(default_factory=list)
    unknown_orders: list[PaymentLine] = field(default_factory=list)

    @property
    def events_open(self) -> list[EventLine]:
        """Events still not applied after this run: all missed and unsettled ones, or with
        `apply` those that failed again."""
        if self.applied_requested:
            return [e for e in self.applied if e.status in _OPEN]
        return [*self.missed_events, *self.unsettled_events]

    @property
    def problems(self) -> int:
        """What still needs a person after this run."""
        return len(self.events_open) + len(self.missing_orders) + len(self.unknown_orders)

    def summary(self) -> dict:
        """What the audit row keeps: counts and the first ids of each kind (JSON-safe)."""

        def ids(lines):
            return [line.stripe_id if isinstance(line, EventLine) else line.id for line in lines]

        return {
            "since": self.since.isoformat(),
            "applied_requested": self.applied_requested,
            "events_checked": self.events_checked,
            "payments_checked": self.payments_checked,
            "missed_events": len(self.missed_events),
            "unsettled_events": len(self.unsettled_events),
            "applied": len(self.applied),
            "events_open": len(self.events_open),
            "missing_orders": len(self.missing_orders),
            "unknown_orders": len(self.unknown_orders),
            "problems": self.problems,
            "missed_event_ids": ids(self.missed_events)[:SUMMARY_IDS],
            "missing_order_ids": ids(self.missing_orders)[:SUMMARY_IDS],
            "unknown_order_ids": ids(self.unknown_orders)[:SUMMARY_IDS],
        }

    def as_dict(self) -> dict:
        return asdict(self)


def _when(timestamp) -> datetime | None:
    if isinstance(timestamp, int) and not isinstance(timestamp, bool):
        return datetime.fromtimestamp(timestamp, tz=UTC)
    return None


def _id(value) -> str:
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) else ""


def _invoice_payment_intents(invoice: dict) -> list[str]:
    """The PaymentIntents that paid an invoice: `payment_intent` before API version
    2025-03-31, `payments.data[].payment.payment_intent` since."""
    found = [_id(invoice.get("payment_intent"))]
    payments = invoice.get("payments")
    for payment in (payments.get("data") if isinstance(payments, dict) else None) or []:
        if isinstance(payment, dict):
            found.append(_id((payment.get("payment") or {}).get("payment_intent")))
    return [pi for pi in found if pi]


def _linked_invoices(pi_ids: list[str]) -> dict[str, str]:
    """PaymentIntent -> the invoice it paid, from the links events recorded (StripeLink)."""
    found = {}
    for start in range(0, len(pi_ids), _CHUNK):
        rows = StripeLink.objects.filter(
            stripe_id__in=pi_ids[start : start + _CHUNK], order_key__startswith="in_"
        ).values_list("stripe_id", "order_key")
        found.update(rows)
    return found


def _stored(stripe_ids: list[str]) -> dict[str, WebhookEvent]:
    stored = {}
    for start in range(0, len(stripe_ids), _CHUNK):
        chunk = stripe_ids[start : start + _CHUNK]
        stored.update(
            (event.stripe_id, event)
            for event in WebhookEvent.objects.filter(stripe_id__in=chunk).only(
                "pk", "stripe_id", "status"
            )
        )
    return stored


def _line(event: WebhookEvent) -> EventLine:
    created = (event.payload or {}).get("created")
    return EventLine(
        stripe_id=event.stripe_id,
        type=event.type,
        created=_when(created) or event.received_at,
        status=event.status,
        error=event.error,
    )


def stripe_reconcile(
    *, since: datetime, apply: bool = False, progress: Callable[[str], None] | None = None
) -> ReconcileReport:
    """Compare Stripe with our records since `since` (see the module docstring). Raises
    `stripe_api.StripeUnavailable` when the integration is off, `stripe.StripeError` when
    Stripe can't be read; records nothing then."""
    from referrals.stripe import client as stripe_api

    say = progress or (lambda message: None)
    report = ReconcileReport(since=since, checked_at=timezone.now(), applied_requested=apply)
    created_gte = int(since.timestamp())

    say("Reading events from Stripe…")
    events = []
    for event in stripe_api.events_since(created_gte=created_gte, types=sorted(HANDLERS)):
        events.append(event)
        if len(events) % 500 == 0:
            say(f"  {len(events)} events so far…")
    report.events_checked = len(events)
    stored = _stored([event["id"] for event in events])
    missed = sorted(
        (event for event in events if event["id"] not in stored),
        key=lambda event: (event.get("created") or 0, event["id"]),
    )
    report.missed_events = [
        EventLine(e["id"], e.get("type", ""), _when(e.get("created")), "missing") for e in missed
    ]
    unsettled = WebhookEvent.objects.filter(
        status__in=[WebhookEvent.Status.RECEIVED, WebhookEvent.Status.FAILED],
        received_at__gte=since,
    ).order_by("received_at", "pk")
    report.unsettled_events = [_line(event) for event in unsettled]
    say(
        f"{len(events)} events in Stripe: {len(missed)} never received here, "
        f"{len(report.unsettled_events)} received but failed or not applied."
    )

    if apply:
        for n, event in enumerate(missed, 1):
            say(f"  applying {n}/{len(missed)}: {event['type']} {event['id']}")
            row, _ = stripe_event_record(event)
            report.applied.append(_line(stripe_event_apply(row.pk)))
        for n, line in enumerate(report.unsettled_events, 1):
            say(f"  replaying {n}/{len(report.unsettled_events)}: {line.type} {line.stripe_id}")
            row = WebhookEvent.objects.get(stripe_id=line.stripe_id)
            report.applied.append(_line(stripe_event_replay(row.pk)))

    say("Reading payments from Stripe…")
    intents = {}
    for payment_intent in stripe_api.payment_intents_since(created_gte=created_gte):
        intents[payment_intent["id"]] = payment_intent
    succeeded = {pi_id: pi for pi_id, pi in intents.items() if pi.get("status") == "succeeded"}
    report.payments_checked = len(succeeded)
    # Subscription payments are recorded under their invoice: map PaymentIntent -> invoice.
    invoice_of = {}
    paid_invoices = set()
    for event in events:
        if event.get("type") == "invoice.paid":
            invoice = (event.get("data") or {}).get("object") or {}
            paid_invoices.add(_id(invoice.get("id")))
            for pi_id in _invoice_payment_intents(invoice):
                invoice_of[pi_id] = _id(invoice.get("id"))
    for event in events:
        if event.get("type") == "invoice_payment.paid":  # API 2025-03-31.basil on
            payment = (event.get("data") or {}).get("object") or {}
            pi_id = _id((payment.get("payment") or {}).get("payment_intent"))
            if pi_id:
                invoice_of.setdefault(pi_id, _id(payment.get("invoice")))
    # Before basil a PaymentIntent names its invoice; since, the links the webhook recorded do.
    links = _linked_invoices([pi_id for pi_id in succeeded if pi_id not in invoice_of])
    for pi_id, pi in succeeded.items():
        invoice_of.setdefault(pi_id, _id(pi.get("invoice")) or links.get(pi_id, ""))
    candidates = [*succeeded, *filter(None, invoice_of.values())]
    recorded = set()
    for start in range(0, len(candidates), _CHUNK):
        recorded.update(
            Order.objects.filter(
                source=Order.Source.STRIPE, external_id__in=candidates[start : start + _CHUNK]
            ).values_list("external_id", flat=True)
        )
    report.missing_orders = [
        PaymentLine(
            id=pi_id,
            amount=pi.get("amount_received") or pi.get("amount") or 0,
            currency=str(pi.get("currency") or "").upper(),
            created=_when(pi.get("created")),
            note=f"invoice {invoice_of[pi_id]}" if invoice_of.get(pi_id) else "",
        )
        for pi_id, pi in sorted(succeeded.items(), key=lambda item: item[1].get("created") or 0)
        if pi_id not in recorded and invoice_of.get(pi_id) not in recorded
    ]

    ours = Order.objects.filter(source=Order.Source.STRIPE, placed_at__gte=since).order_by(
        "placed_at"
    )
    # Invoices can only be checked while Stripe still lists their events.
    events_cover = since >= report.checked_at - EVENT_RETENTION
    for order in ours.only(
        "external_id", "net_amount", "tax_amount", "shipping_amount", "currency", "placed_at"
    ):
        ref = order.external_id
        if ref.startswith("pi_") and ref not in succeeded:
            status = intents.get(ref, {}).get("status")
            note = f"Stripe says {status}" if status else "not in Stripe's list"
        elif ref.startswith("in_") and events_cover and ref not in paid_invoices:
            note = "no invoice.paid event in Stripe"
        else:
            continue
        report.unknown_orders.append(
            PaymentLine(
                id=ref,
                amount=order.net_amount + order.tax_amount + order.shipping_amount,
                currency=order.currency,
                created=order.placed_at,
                note=note,
            )
        )
    say(
        f"{len(succeeded)} succeeded payments: {len(report.missing_orders)} without an order "
        f"here; {len(report.unknown_orders)} orders here Stripe doesn't know as paid."
    )
    AuditEvent.objects.create(
        actor=None,
        action=AUDIT_ACTION,
        object_type="stripe",
        object_id=0,
        reason=f"{report.problems} to look at" if report.problems else "All matched",
        data=report.summary(),
    )
    return report


def stripe_reconcile_last() -> AuditEvent | None:
    """The latest reconciliation's audit row (its `data` is `ReconcileReport.summary()`)."""
    return AuditEvent.objects.filter(action=AUDIT_ACTION).order_by("-created_at", "-id").first()
