"""Manager screens for Stripe: the webhook events list and page, replaying an event, and the
notices about a half-configured integration."""

import json
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views import View
from wagtail.admin import messages
from wagtail.admin.views.generic import InspectView

from kernel.admin import ListingIndexView, require_permission
from referrals import selectors
from referrals.models import WebhookEvent
from referrals.stripe.events import HANDLERS, stripe_event_replay
from referrals.stripe.reconcile import stripe_reconcile_last

REPLAY_PERMISSION = "referrals.change_webhookevent"


REPLAYABLE = (
    WebhookEvent.Status.RECEIVED,
    WebhookEvent.Status.FAILED,
    WebhookEvent.Status.IGNORED,
)


def stripe_integration_notices() -> list[str]:
    """What is switched off, said to managers on the admin home and the Stripe events page."""
    if not getattr(settings, "STRIPE_SECRET_KEY", ""):
        return [
            "Stripe integration is off: set STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRETS in the "
            "environment to record Stripe payments, pay advocates through Stripe Connect and "
            "reconcile with Stripe."
        ]
    if not [secret for secret in getattr(settings, "STRIPE_WEBHOOK_SECRETS", None) or [] if secret]:
        return [
            "Stripe webhooks are off: set STRIPE_WEBHOOK_SECRETS to the signing secret of the "
            "/stripe/webhook/ endpoint. Until then Stripe's events are refused (it retries for "
            "three days) and only reconciliation can fetch them."
        ]
    return []


def webhook_event_object(event: WebhookEvent) -> str:
    """What the event is about: the id of its data.object."""
    obj = ((event.payload or {}).get("data") or {}).get("object") or {}
    return obj.get("id", "") if isinstance(obj, dict) else ""


def webhook_event_types() -> list[tuple[str, str]]:
    """Types to filter by: those we handle and any other we have stored."""
    stored = WebhookEvent.objects.order_by().values_list("type", flat=True).distinct()
    return [(name, name) for name in sorted({*HANDLERS, *stored})]


@dataclass(frozen=True)
class ReconciliationSummary:
    when: object
    reason: str
    data: dict

    @property
    def clean(self) -> bool:
        return not self.data.get("problems")


def reconciliation_summary() -> ReconciliationSummary | None:
    last = stripe_reconcile_last()
    if last is None:
        return None
    return ReconciliationSummary(when=last.created_at, reason=last.reason, data=last.data)


class WebhookEventIndexView(ListingIndexView):
    template_name = "referrals/admin/stripe_event_index.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if not self.results_only:
            context.update(
                notices=stripe_integration_notices(),
                reconciliation=reconciliation_summary(),
                failed_url=reverse("stripe_events:index") + "?status=failed",
                failed_count=WebhookEvent.objects.filter(status=WebhookEvent.Status.FAILED).count(),
            )
        return context


class WebhookEventInspectView(InspectView):
    template_name = "referrals/admin/stripe_event_inspect.html"

    def get_page_subtitle(self):
        return self.object.stripe_id

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        event = self.object
        context.update(
            payload=json.dumps(event.payload, indent=2, sort_keys=True),
            can_replay=event.status in REPLAYABLE and self.request.user.has_perm(REPLAY_PERMISSION),
            replay_url=reverse("stripe_events:replay", args=[event.pk]),
            events=selectors.audit_trail(event),
            notices=stripe_integration_notices(),
        )
        return context


@method_decorator(transaction.non_atomic_requests, name="dispatch")
class WebhookEventReplayView(View):
    """Apply a stored event again, now (failed, ignored or never applied). Safe: handlers are
        idempotent and a processed event is never re-run. The service leaves the audit row (who,
    before and after)."""

    http_method_names = ["post"]

    def post(self, request, pk):
        require_permission(request, REPLAY_PERMISSION)
        event = get_object_or_404(WebhookEvent, pk=pk)
        if event.status not in REPLAYABLE:
            messages.warning(
                request, f"Event {event.stripe_id} was already processed; nothing to replay."
            )
            return redirect("stripe_events:inspect", event.pk)
        event = stripe_event_replay(event.pk, actor=request.user)
        if event.status == WebhookEvent.Status.PROCESSED:
            messages.success(request, f"Event {event.stripe_id} ({event.type}) replayed: applied.")
        elif event.status == WebhookEvent.Status.IGNORED:
            messages.warning(
                request, f"Event {event.stripe_id} replayed: nothing to apply. {event.error}"
            )
        else:
            messages.error(request, f"Event {event.stripe_id} failed again: {event.error}")
        return redirect("stripe_events:inspect", event.pk)
