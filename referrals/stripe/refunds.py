"""Handlers of refunds and disputes: each finds the order by whichever ids the object names
(`stripe_order_find`: PaymentIntent, charge, the invoice they paid) and goes through the refund
and dispute services, idempotent by the refund's and the dispute's own ids.

Refunds are recorded from the Refund objects Stripe sends (refund.created, refund.updated,
charge.refund.updated), each once by its id. charge.refunded is the fallback: before API version
2022-11-15 its charge embeds its refunds; since, it says only `amount_refunded`, and the refunds
are listed from Stripe unless those already recorded cover that amount. Either way a refund is
recorded by its id, so the same refund is never reversed twice whichever events bring it.

Disputes: charge.dispute.created, .updated and .funds_withdrawn open it (freeze the commissions;
each names the same dispute, so one opening), .closed settles it (won or warning_closed
restores, lost reverses). .funds_reinstated is stored as ignored: the money coming back follows
a won dispute, which charge.dispute.closed already settled.
"""

import stripe

from kernel.errors import ServiceError
from referrals.models import Order
from referrals.services.refunds import dispute_close, dispute_open, refund_record
from referrals.stripe import client as stripe_api
from referrals.stripe.identity import stripe_order_find
from referrals.stripe.payloads import Skip, object_id, wants_event

# A refund in these states returned no money, or not yet: nothing is reversed. A pending refund
# can still fail (a bank transfer refund, say); the refund.updated that says "succeeded" records
# it, so a failure never leaves a reversal behind for money the shop kept.
_NO_MONEY_BACK = ("pending", "failed", "canceled", "requires_action")


@wants_event
def refund_changed(refund: dict, *, event: dict) -> None:
    """refund.created / refund.updated / charge.refund.updated: the refund itself."""
    refund_id = object_id(refund.get("id"))
    status = refund.get("status")
    if status in _NO_MONEY_BACK:
        raise Skip(
            f"Refund {refund_id} is {status}: no money has gone back, nothing to reverse yet."
        )
    order = stripe_order_find(
        what="refund",
        event=event,
        payment_intent=object_id(refund.get("payment_intent")),
        charge=object_id(refund.get("charge")),
    )
    refund_record(
        order=order,
        external_id=refund_id,
        amount=refund.get("amount"),
        currency=_currency(refund),
    )


@wants_event
def charge_refunded(charge: dict, *, event: dict) -> None:
    """Each refund once, by its own id and amount. amount_refunded is cumulative over the
    charge's refunds, so it is never recorded as a refund: a second partial refund would count
    the first again; it only tells whether the refunds recorded so far cover the charge's."""
    order = stripe_order_find(
        what="charge",
        event=event,
        payment_intent=object_id(charge.get("payment_intent")),
        charge=object_id(charge.get("id")),
    )
    embedded = charge.get("refunds")
    whole = (
        isinstance(embedded, dict)
        and isinstance(embedded.get("data"), list)
        and not embedded.get("has_more")
    )
    if not whole and _covered(order, charge.get("amount_refunded")):
        return  # the refund events recorded them already; Stripe needn't be asked
    refunds = embedded["data"] if whole else _listed(charge)
    # Oldest first, whatever event brings them: the refund that completes the total takes the
    # rounding remainder, so recording in the order they happened gives one ledger however late
    # or out of order the events arrive. Stripe lists newest first; reversed() keeps ties in
    # that order after the stable sort.
    for refund in sorted(reversed(refunds), key=_created):
        if refund.get("status") in _NO_MONEY_BACK:
            continue
        refund_record(
            order=order,
            external_id=object_id(refund.get("id")),
            amount=refund.get("amount"),
            currency=_currency(refund),
        )


def _currency(refund: dict) -> str:
    """The refund's own currency (Stripe writes it lower-case); refund_record refuses one that
    isn't the order's rather than take USD cents as EUR."""
    currency = refund.get("currency")
    return currency if isinstance(currency, str) else ""


def _covered(order: Order, amount_refunded) -> bool:
    if isinstance(amount_refunded, bool) or not isinstance(amount_refunded, int):
        return False
    recorded = sum(order.refunds.values_list("amount", flat=True))
    return 0 < amount_refunded <= recorded


def _created(obj: dict) -> int:
    created = obj.get("created")
    return created if isinstance(created, int) and not isinstance(created, bool) else 0


def _listed(charge: dict) -> list[dict]:
    """The charge's refunds, asked of Stripe (GET /v1/refunds?charge=...): since API version
    2022-11-15 a charge no longer embeds them, and an embedded list stops at the newest ten
    (`has_more`). Listing at apply time also means a late or replayed event sees every refund
    so far; each is still recorded once, by its id."""
    charge_id = object_id(charge.get("id"))
    if not charge_id:
        raise ServiceError("refunds_missing", "The charge has no id to list its refunds by.")
    try:
        return stripe_api.refunds_list(charge=charge_id)
    except stripe_api.StripeUnavailable as exc:
        raise ServiceError(
            "refunds_missing",
            "The charge carries no refund list (charge.refunds) and the Stripe integration is "
            "off (no STRIPE_SECRET_KEY) to list them; its refunds can't be told apart. The "
            "refund.created events record them: subscribe to those.",
        ) from exc
    except stripe.StripeError as exc:
        raise ServiceError(
            "stripe_unavailable",
            f"Listing the refunds of charge {charge_id} failed ({exc}); replay this event "
            "(the refund.created events record them too).",
        ) from exc


def _dispute_order(dispute: dict, event: dict) -> Order:
    """A dispute names its charge; one on a Charges-API payment has no PaymentIntent."""
    return stripe_order_find(
        what="dispute",
        event=event,
        payment_intent=object_id(dispute.get("payment_intent")),
        charge=object_id(dispute.get("charge")),
    )


@wants_event
def charge_dispute_opened(dispute: dict, *, event: dict) -> None:
    """charge.dispute.created / .updated / .funds_withdrawn: the dispute is open (idempotent by
    its id; one already closed stays closed)."""
    if dispute.get("status") in ("won", "lost", "warning_closed"):
        return charge_dispute_closed(dispute, event=event)
    dispute_open(order=_dispute_order(dispute, event), external_id=object_id(dispute.get("id")))


@wants_event
def charge_dispute_closed(dispute: dict, *, event: dict) -> None:
    # warning_closed: an inquiry that closed without becoming a chargeback; no money was lost.
    won = dispute.get("status") in ("won", "warning_closed")
    order = _dispute_order(dispute, event)
    dispute_close(order=order, external_id=object_id(dispute.get("id")), won=won)


def charge_dispute_funds_reinstated(dispute: dict) -> None:
    raise Skip(
        "Funds reinstated follow a won dispute: charge.dispute.closed settles it, so nothing "
        "more is applied."
    )
