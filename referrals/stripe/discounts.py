"""The rep code behind a discount in Checkout or on an invoice: the promotion code typed.

Ours by the promotion code's id (`RepCode.stripe_promotion_code_id`), else by its text when that
text is one of our codes (a code that moved to a new coupon, whose old promotion code we no longer
record). What Stripe sends is often ids only: an invoice's `discounts` are discount ids (there is
no endpoint to read a discount: the invoice is read again with its discounts expanded), and a
promotion code is an id whose text is read from Stripe. When Stripe can't be reached the event
fails with `stripe_unavailable`, to be replayed, rather than be recorded with the referral lost;
with the integration off (no secret key) nothing of ours can be behind a promotion code.
"""

import stripe

from advocacy.codes import normalise_code
from advocacy.models import RepCode
from kernel.errors import ServiceError
from referrals.services.codes import repcode_find
from referrals.stripe import client as stripe_api
from referrals.stripe.payloads import object_id


def _unavailable(what: str, exc: Exception) -> ServiceError:
    return ServiceError("stripe_unavailable", f"{what} failed ({exc}); replay this event.")


def rep_code_of_promotion_codes(promotion_codes: list) -> str:
    """The first of these promotion codes (ids or expanded objects) that is one of our rep codes,
    normalised; "" when none is ours."""
    for promotion_code in promotion_codes:
        promotion_id = object_id(promotion_code)
        if not promotion_id:
            continue
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
                raise _unavailable(f"Reading promotion code {promotion_id}", exc) from exc
            text = (retrieved or {}).get("code")
        if text and repcode_find(text) is not None:
            return normalise_code(text)
    return ""


def session_promotion_codes(session: dict) -> list:
    """A Checkout Session's promotion codes: from `discounts`, and from
    `total_details.breakdown` when the payload carries the expanded breakdown."""
    found = [d.get("promotion_code") for d in session.get("discounts") or [] if isinstance(d, dict)]
    breakdown = (session.get("total_details") or {}).get("breakdown") or {}
    for entry in breakdown.get("discounts") or []:
        discount = entry.get("discount") if isinstance(entry, dict) else None
        if isinstance(discount, dict):
            found.append(discount.get("promotion_code"))
    return [p for p in found if object_id(p)]


def invoice_promotion_codes(invoice: dict) -> list:
    """An invoice's promotion codes. Its `discounts` are ids in every API version unless the
    event's sender expanded them: then the invoice is read from Stripe with them expanded."""
    discounts = [d for d in invoice.get("discounts") or [] if object_id(d)]
    if any(not isinstance(d, dict) for d in discounts):
        invoice_id = object_id(invoice.get("id"))
        try:
            discounts = stripe_api.invoice_discounts(invoice_id)
        except stripe_api.StripeUnavailable:
            return []  # the integration is off: no promotion code of ours exists in Stripe
        except stripe.StripeError as exc:
            raise _unavailable(f"Reading the discounts of invoice {invoice_id}", exc) from exc
    return [d.get("promotion_code") for d in discounts if object_id(d.get("promotion_code"))]
