"""The Stripe webhook: check the signature on the raw body, store the event once, answer at once.

Applying the event happens in a task (referrals.stripe.events), so Stripe gets its 200
fast and a slow or failing apply never makes it retry. Every secret in STRIPE_WEBHOOK_SECRETS is
tried, so a secret can be rotated without dropping events.
"""

import json
import logging
import time

import stripe
from django.conf import settings
from django.db import transaction
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from referrals.stripe.events import stripe_event_record

logger = logging.getLogger(__name__)

# Seconds a signed timestamp stays valid: replayed captures older than this are refused.
TOLERANCE = 300


def _signed_at(header: str) -> int | None:
    """The header's timestamp (its first `t=`, the one Stripe's check signs), or None."""
    for item in header.split(","):
        name, _, value = item.partition("=")
        if name.strip() == "t":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _signature_ok(body: str, header: str, secrets: list[str]) -> bool:
    # Stripe's check refuses only timestamps older than the tolerance; one from the future
    # (a capture signed ahead, or a clock far off) would stay replayable until then, so the
    # tolerance holds both ways.
    signed_at = _signed_at(header)
    if signed_at is None or abs(time.time() - signed_at) > TOLERANCE:
        return False
    for secret in secrets:
        try:
            stripe.WebhookSignature.verify_header(body, header, secret, tolerance=TOLERANCE)
        except stripe.SignatureVerificationError:
            continue
        return True
    return False


@csrf_exempt
@require_POST
@transaction.non_atomic_requests
def stripe_webhook(request):
    secrets = [s for s in (getattr(settings, "STRIPE_WEBHOOK_SECRETS", None) or []) if s]
    if not secrets:
        return JsonResponse({"error": "Stripe webhooks are not configured."}, status=503)
    try:
        body = request.body.decode("utf-8")
    except UnicodeDecodeError:
        return JsonResponse({"error": "The body is not UTF-8."}, status=400)
    header = request.headers.get("Stripe-Signature", "")
    if not header or not _signature_ok(body, header, secrets):
        logger.warning("stripe webhook refused: bad, missing or stale signature")
        return JsonResponse({"error": "Invalid Stripe signature."}, status=400)
    try:
        event = json.loads(body)
        if not isinstance(event, dict) or not isinstance(event.get("id"), str):
            raise ValueError("no event id")
        if not isinstance(event.get("type"), str):
            raise ValueError("no event type")
    except (ValueError, RecursionError):  # a body nested too deep for the parser: not an event
        return JsonResponse({"error": "The body is not a Stripe event."}, status=400)
    stored, created = stripe_event_record(event)
    # Applied at commit when the task runs in-process: say what became of it, not "received".
    stored.refresh_from_db(fields=["status"])
    return JsonResponse({"received": True, "duplicate": not created, "status": stored.status})
