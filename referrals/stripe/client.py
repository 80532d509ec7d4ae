"""Stripe behind one typed module: one function per Stripe call, errors logged with context.

STRIPE_API_BASE lets tests point the client at a local fake server.
"""

import logging
from collections.abc import Iterator

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


# Promotion codes: a coupon per programme, a promotion code per rep code -----------------------
# Shapes of the API version the installed client pins (stripe 16: 2026-10-28.endive): since
# 2025-09-30.clover a promotion code names its coupon as promotion={"type": "coupon", ...}.


def enabled() -> bool:
    """Whether the Stripe integration is on (a secret key is configured)."""
    return bool(getattr(settings, "STRIPE_SECRET_KEY", ""))


def _missing(exc: stripe.StripeError) -> bool:
    return isinstance(exc, stripe.InvalidRequestError) and exc.code == "resource_missing"


def coupon_create(*, terms: dict, name: str, metadata: dict, idempotency_key: str) -> dict:
    """Create a coupon with `terms` (percent_off, or amount_off and currency; duration).

    The idempotency key is derived from our programme and its offer, so a retried task gets the
    first coupon back instead of a second one.
    """
    try:
        coupon = client().v1.coupons.create(
            params={**terms, "name": name, "metadata": metadata},
            options={"idempotency_key": idempotency_key},
        )
    except stripe.StripeError as exc:
        logger.warning("stripe coupon create failed key=%s: %s", idempotency_key, exc)
        raise
    return coupon.to_dict()


def coupon_retrieve(coupon_id: str) -> dict | None:
    """The coupon, or None when Stripe has no such coupon (deleted in the Dashboard)."""
    try:
        coupon = client().v1.coupons.retrieve(coupon_id)
    except stripe.StripeError as exc:
        if _missing(exc):
            return None
        logger.warning("stripe coupon retrieve failed coupon=%s: %s", coupon_id, exc)
        raise
    return coupon.to_dict()


def coupon_update(coupon_id: str, *, name: str, metadata: dict) -> dict:
    """Only a coupon's name and metadata can change; its terms are fixed at creation."""
    try:
        coupon = client().v1.coupons.update(coupon_id, params={"name": name, "metadata": metadata})
    except stripe.StripeError as exc:
        logger.warning("stripe coupon update failed coupon=%s: %s", coupon_id, exc)
        raise
    return coupon.to_dict()


def promotion_code_create(
    *, code: str, coupon_id: str, metadata: dict, restrictions: dict, idempotency_key: str
) -> dict:
    """Create an active promotion code with the customer-facing text `code` under the coupon;
    `restrictions` (minimum_amount..., first_time_transaction) can't be changed later."""
    params = {
        "code": code,
        "promotion": {"type": "coupon", "coupon": coupon_id},
        "metadata": metadata,
    }
    if restrictions:
        params["restrictions"] = restrictions
    try:
        promotion_code = client().v1.promotion_codes.create(
            params=params, options={"idempotency_key": idempotency_key}
        )
    except stripe.StripeError as exc:
        logger.warning("stripe promotion code create failed key=%s: %s", idempotency_key, exc)
        raise
    return promotion_code.to_dict()


def promotion_code_retrieve(promotion_code_id: str) -> dict | None:
    """The promotion code, or None when Stripe has no such promotion code."""
    try:
        promotion_code = client().v1.promotion_codes.retrieve(promotion_code_id)
    except stripe.StripeError as exc:
        if _missing(exc):
            return None
        logger.warning("stripe promotion code retrieve failed id=%s: %s", promotion_code_id, exc)
        raise
    return promotion_code.to_dict()


def promotion_code_update(promotion_code_id: str, *, active: bool) -> dict:
    try:
        promotion_code = client().v1.promotion_codes.update(
            promotion_code_id, params={"active": active}
        )
    except stripe.StripeError as exc:
        logger.warning(
            "stripe promotion code update failed id=%s active=%s: %s",
            promotion_code_id,
            active,
            exc,
        )
        raise
    return promotion_code.to_dict()


def promotion_code_list(*, coupon_id: str = "", code: str = "") -> Iterator[dict]:
    """Every promotion code (active or not), optionally of one coupon or with one code text
    (case-insensitive), newest first (paged by the client)."""
    params: dict = {"limit": 100}
    if coupon_id:
        params["coupon"] = coupon_id
    if code:
        params["code"] = code
    try:
        page = client().v1.promotion_codes.list(params=params)
        for promotion_code in page.auto_paging_iter():
            yield promotion_code.to_dict()
    except stripe.StripeError as exc:
        logger.warning("stripe promotion code list failed params=%s: %s", params, exc)
        raise


# Connect: Express accounts and their onboarding links ---------------------------------------


def account_create_express(*, email: str, country: str, advocate_id: int) -> dict:
    """Create an Express connected account for an advocate; returns the account as a dict.

    The idempotency key is the advocate's id: a double click, or a retry after a crash between
    this call and saving the id, gets the same account back instead of a second one.
    """
    params = {
        "type": "express",
        "email": email,
        "metadata": {"advocate_id": str(advocate_id)},
        # Commission payouts are transfers from the platform: the account only needs to receive.
        "capabilities": {"transfers": {"requested": True}},
    }
    if country:
        params["country"] = country
    try:
        account = client().v1.accounts.create(
            params=params,
            options={"idempotency_key": f"streetteam-connect-account-{advocate_id}"},
        )
    except stripe.StripeError as exc:
        logger.warning("stripe account create failed advocate=%s: %s", advocate_id, exc)
        raise
    return account.to_dict()


def account_retrieve(account_id: str) -> dict:
    try:
        return client().v1.accounts.retrieve(account_id).to_dict()
    except stripe.StripeError as exc:
        logger.warning("stripe account retrieve failed account=%s: %s", account_id, exc)
        raise


def account_link_create(*, account_id: str, refresh_url: str, return_url: str) -> str:
    """A single-use onboarding link (valid a few minutes) for the account; returns its URL."""
    try:
        link = client().v1.account_links.create(
            params={
                "account": account_id,
                "type": "account_onboarding",
                "refresh_url": refresh_url,
                "return_url": return_url,
            }
        )
    except stripe.StripeError as exc:
        logger.warning("stripe account link failed account=%s: %s", account_id, exc)
        raise
    return link.url


def transfers_to(destination: str) -> Iterator[dict]:
    """Every transfer to a connected account, newest first (paged by the client)."""
    try:
        page = client().v1.transfers.list(params={"destination": destination, "limit": 100})
        for transfer in page.auto_paging_iter():
            yield transfer.to_dict()
    except stripe.StripeError as exc:
        logger.warning("stripe transfer list failed destination=%s: %s", destination, exc)
        raise


# Reconciliation: what Stripe says happened ------------------------------------------------


def events_since(*, created_gte: int, types: list[str]) -> Iterator[dict]:
    """Events created at or after `created_gte` (a Unix time) of the given types, newest first.

    Stripe keeps events for 30 days and accepts at most 20 types per request.
    """
    try:
        for start in range(0, len(types), 20):
            page = client().v1.events.list(
                params={
                    "created": {"gte": created_gte},
                    "types": types[start : start + 20],
                    "limit": 100,
                }
            )
            for event in page.auto_paging_iter():
                yield event.to_dict()
    except stripe.StripeError as exc:
        logger.warning("stripe events list failed since=%s: %s", created_gte, exc)
        raise


def payment_intents_since(*, created_gte: int) -> Iterator[dict]:
    """PaymentIntents created at or after `created_gte`, newest first, whatever their status."""
    try:
        page = client().v1.payment_intents.list(
            params={"created": {"gte": created_gte}, "limit": 100}
        )
        for payment_intent in page.auto_paging_iter():
            yield payment_intent.to_dict()
    except stripe.StripeError as exc:
        logger.warning("stripe payment intents list failed since=%s: %s", created_gte, exc)
        raise


# Refunds ----------------------------------------------------------------------------------


def refunds_list(*, charge: str) -> list[dict]:
    """Every refund of a charge, newest first, all pages (GET /v1/refunds?charge=...).

    Since API version 2022-11-15 a charge (and so a charge.refunded event) no longer embeds its
    refunds, and an embedded list held the newest ten at most: this is how each refund is found.
    """
    try:
        page = client().v1.refunds.list(params={"charge": charge, "limit": 100})
        return [refund.to_dict() for refund in page.auto_paging_iter()]
    except stripe.StripeError as exc:
        logger.warning("stripe refunds list failed charge=%s: %s", charge, exc)
        raise


# Invoices: which invoice a payment paid, and the promotion codes behind its discounts --------


def invoice_payments_for(*, payment_intent: str) -> list[dict]:
    """The invoice payments made by a PaymentIntent (GET /v1/invoice_payments): since API
    version 2025-03-31.basil a PaymentIntent no longer names its invoice; this is how the
    invoice is found. Empty for a payment that paid no invoice."""
    try:
        page = client().v1.invoice_payments.list(
            params={
                "payment": {"type": "payment_intent", "payment_intent": payment_intent},
                "limit": 10,
            }
        )
        return [payment.to_dict() for payment in page.data]
    except stripe.StripeError as exc:
        logger.warning("stripe invoice payments list failed pi=%s: %s", payment_intent, exc)
        raise


def invoice_discounts(invoice_id: str) -> list[dict]:
    """The invoice's discounts as objects (GET /v1/invoices/:id?expand[]=discounts): an event's
    invoice lists them as ids only, and there is no endpoint to read a discount by its id."""
    try:
        invoice = client().v1.invoices.retrieve(invoice_id, params={"expand": ["discounts"]})
    except stripe.StripeError as exc:
        logger.warning("stripe invoice retrieve failed invoice=%s: %s", invoice_id, exc)
        raise
    return [d for d in invoice.to_dict().get("discounts") or [] if isinstance(d, dict)]
