"""Stripe behind one typed module: one function per Stripe call, errors logged with context.

STRIPE_API_BASE lets tests point the client at a local fake server.
"""

import logging

import stripe
from django.conf import settings

logger = logging.getLogger(__name__)


class StripeUnavailable(Exception):
    """Stripe is not configured (no secret key): the integration is off."""


def client() -> stripe.StripeClient:
    key = getattr(settings, "STRIPE_SECRET_KEY", "")
    if not key:
        raise StripeUnavailable("STRIPE_SECRET_KEY is not set.")
    base = getattr(settings, "STRIPE_API_BASE", "")
    return stripe.StripeClient(
        key,
        base_addresses={"api": base} if base else None,
        max_network_retries=2,
    )


def transfer_create(
    *, amount: int, currency: str, destination: str, idempotency_key: str, metadata: dict
) -> str:
    """Move `amount` minor units to a connected account; returns the transfer id.

    The idempotency key makes a repeated call (a retry after a crash) return the first transfer.
    """
    try:
        transfer = client().v1.transfers.create(
            params={
                "amount": amount,
                "currency": currency.lower(),
                "destination": destination,
                "metadata": metadata,
            },
            options={"idempotency_key": idempotency_key},
        )
    except stripe.StripeError as exc:
        logger.warning(
            "stripe transfer failed key=%s destination=%s: %s", idempotency_key, destination, exc
        )
        raise
    return transfer.id
