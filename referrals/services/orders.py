"""Recording a sale: the one door every integration uses (sandbox store, Stripe, the API).

`order_ingest` validates the amounts, attributes the order (code typed > link cookie > account
referred at signup > order metadata; a typed code we don't know is noted, not fatal), records it
at most once per (store, external id), enforces the programme's shopper offer (one use per
shopper, first order only: services/order_checks.py, by email or customer id), and creates the
pending commission. Problems that are not the shopper's fault (a paused advocate, a
self-referral, a programme that has ended, a one-use offer with no shopper to check it against,
the suspicious patterns of services/fraud.py) never block the sale: the order is kept, earns
nothing, and a fraud signal asks a manager to look.

Subscriptions: the first paid invoice is an order like any other. A renewal (`renewal=True`)
is attributed as its subscription's first order was, and earns a recurring commission for the
advocate credited there while it falls within the programme's recurring months
(`commissions.commission_create_for_renewal`); after them it is recorded without commission.
A renewal whose first order isn't recorded yet is refused (`subscription_first_order_missing`),
so it can be applied again once the first payment is in.

Stores: an order belongs to the store that reported it, and its id means something in that store
only. A store's API key may attribute only to its programmes (`programmes`): a code or a click
of any other programme is treated exactly as an unknown one, so no answer tells it apart.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from advocacy.codes import normalise_code
from advocacy.models import Programme, RepCode
from kernel.errors import ServiceError
from kernel.money import MAX_AMOUNT
from referrals.conf import app_settings
from referrals.hashing import email_hash
from referrals.links.cookies import LinkReferral
from referrals.models import Attribution, Commission, DiscountRedemption, FraudSignal, Order, Store
from referrals.services.codes import CODE_SHAPE
from referrals.services.commissions import (
    commission_create_for_new_order,
    commission_create_for_renewal,
)
from referrals.services.fraud import pattern_blocker
from referrals.services.order_checks import (
    OFFER_REUSED,
    commission_blocker,
    offer_blocker,
    offer_used,
    shopper_annotations,
    shopper_key,
)
from referrals.services.stores import store_built_in

_CURRENCY = re.compile(r"^[A-Z]{3}$")


@dataclass
class IngestResult:
    order: Order
    created: bool
    commission: Commission | None = None
    # Why the order earns nothing, when it doesn't (shown to the integrator, not the shopper).
    notes: list[str] = field(default_factory=list)


def _check_amount(name: str, value, *, positive: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ServiceError("amount_invalid", f"{name} must be a whole number of minor units.")
    if positive and value <= 0:
        raise ServiceError("amount_invalid", f"{name} must be greater than zero.")
    if value > MAX_AMOUNT:
        raise ServiceError("amount_invalid", f"{name} is larger than any real order.")
    if value < 0:
        raise ServiceError("amount_invalid", f"{name} must not be negative.")


# What recording an order reads of a code, its advocate, their user and programme (attribution,
# the checks, the commission); the rest of those rows (texts, JSON, Stripe state) stays unread.
_ATTRIBUTION_FIELDS = (
    "code",
    "is_active",
    "advocate__status",
    "advocate__user__email",
    "advocate__programme__name",
    "advocate__programme__status",
    "advocate__programme__currency",
    "advocate__programme__attribution_window_days",
    "advocate__programme__hold_days",
    "advocate__programme__shopper_one_use",
    "advocate__programme__shopper_first_order_only",
    "advocate__programme__advocate_reward_kind",
    "advocate__programme__advocate_reward_percent",
    "advocate__programme__advocate_reward_amount",
    "advocate__programme__advocate_recurring_months",
)


def _code_for_attribution(
    code: str,
    shopper: dict | None = None,
    programmes: frozenset[int] | None = None,
    placed_at: datetime | None = None,
) -> RepCode | None:
    """codes.repcode_find for recording an order: the same code (any letter case) and rows, with
    only _ATTRIBUTION_FIELDS loaded (a third of the columns: less to compile and to read, about
    a tenth of an ingested order's time). Anything else read from them would cost a query of
    its own: add it to the list instead. `shopper` (email, customer id): whether the shopper is
    the advocate is read in the same query (order_checks.shopper_annotations). `programmes`:
    the only programmes whose codes count (None: any), a code of another one is not found."""
    normalised = normalise_code(code)
    if not CODE_SHAPE.match(normalised):
        return None
    codes = RepCode.objects.all()
    if programmes is not None:
        codes = codes.filter(advocate__programme_id__in=programmes)
    return (
        codes.select_related("advocate__user", "advocate__programme")
        .only(*_ATTRIBUTION_FIELDS)
        .annotate(
            **shopper_annotations(
                **(shopper or {"shopper_email": "", "shopper_customer_id": ""}),
                placed_at=placed_at,
            )
        )
        .filter(code=normalised)
        .order_by()
        .first()
    )


# How far a store's clock may be from ours: an order stamped up to this before its click (the
# store's clock behind) still follows the click, and one stamped up to this in the future is
# accepted as now-ish; further ahead is refused.
CLOCK_SKEW = timedelta(minutes=5)


def _within_window(programme: Programme, clicked_at: datetime, placed_at: datetime) -> bool:
    """An order counts while clicked_at - CLOCK_SKEW <= placed_at <= clicked_at + window (the
    last second included)."""
    window = timedelta(days=programme.attribution_window_days)
    return clicked_at - CLOCK_SKEW <= placed_at <= clicked_at + window


def resolve_attribution(
    *,
    code: str,
    link: LinkReferral | None,
    shopper_user,
    metadata_code: str,
    placed_at: datetime,
    shopper_email: str = "",
    shopper_customer_id: str = "",
    programmes: frozenset[int] | None = None,
) -> tuple[RepCode | None, str]:
    """Which code gets the credit, and how. A typed code that doesn't exist is a claim that
    doesn't hold: the order is attributed by what else does (link, account, metadata).
    `programmes` (None: any): every source only counts for these, as if others didn't exist."""
    shopper = {"shopper_email": shopper_email, "shopper_customer_id": shopper_customer_id}
    lookup = {"placed_at": placed_at}
    if code:
        rep = _code_for_attribution(code, shopper, programmes, **lookup)
        if rep is not None:
            return rep, Attribution.CODE
    if link is not None:
        rep = _code_for_attribution(link.code, shopper, programmes, **lookup)
        if rep and _within_window(rep.advocate.programme, link.clicked_at, placed_at):
            return rep, Attribution.LINK
    referred = getattr(shopper_user, "referred_by", None) if shopper_user else None
    if referred is not None:
        rep = _code_for_attribution(referred.rep_code.code, shopper, programmes, **lookup)
        if rep and _within_window(rep.advocate.programme, referred.clicked_at, placed_at):
            return rep, Attribution.ACCOUNT
    if metadata_code:
        rep = _code_for_attribution(metadata_code, shopper, programmes, **lookup)
        if rep is not None:
            return rep, Attribution.METADATA
    return None, Attribution.NONE


def order_ingest(
    *,
    source: str,
    external_id: str,
    currency: str,
    gross_amount: int,
    discount_amount: int = 0,
    tax_amount: int = 0,
    shipping_amount: int = 0,
    code: str = "",
    link: LinkReferral | None = None,
    metadata_code: str = "",
    shopper_email: str = "",
    shopper_customer_id: str = "",
    shopper_user=None,
    placed_at: datetime | None = None,
    subscription_id: str = "",
    renewal: bool = False,
    paid: bool = False,
    store: Store | None = None,
    programmes: frozenset[int] | None = None,
) -> IngestResult:
    """Record one sale, at most once per (store, external_id). See the module docstring.

    `store`: where the order comes from (default: the built-in store of `source`; its kind must
    be `source`). `programmes`: the only programmes the order may be attributed to (None: any),
    the API key's scope.

    `paid`: the shopper has already paid (a payment provider's event), so the order can't be
    refused: a one-use offer used again is recorded with the order, without its commission, and
    flagged for review (OFFER_REUSED) instead of failing with `offer_already_used`.

    Everything is read and checked before the one transaction that writes (order, redemption,
    commission, ledger entry, fraud signal), so that transaction needs no savepoints: when one
    of the unique constraints refuses a row, the whole write rolls back and the conflict is
    answered afterwards (the order stored concurrently, or the offer already used).
    """
    if source not in Order.Source.values:
        raise ServiceError("source_invalid", f"Unknown order source {source!r}.")
    if store is None:
        store = store_built_in(source)
    elif store.kind != source:
        raise ServiceError("source_invalid", f"The store {store} doesn't take {source} orders.")
    external_id = (external_id or "").strip()
    if not external_id or len(external_id) > 255:
        raise ServiceError("external_id_invalid", "An order id of 1 to 255 characters is needed.")

    # A repeat is answered from its first recording. Asked as an existence check first, so that
    # a new order (the usual case) costs the cheapest of reads.
    if Order.objects.filter(store=store, external_id=external_id).exists():
        existing = _recorded(store, external_id)
        if existing is not None:
            return existing

    if not isinstance(currency, str) or not _CURRENCY.match(currency):
        raise ServiceError("currency_invalid", "Currency must be a three-letter ISO 4217 code.")
    _check_amount("gross_amount", gross_amount, positive=True)
    _check_amount("discount_amount", discount_amount)
    _check_amount("tax_amount", tax_amount)
    _check_amount("shipping_amount", shipping_amount)
    if discount_amount > gross_amount:
        raise ServiceError("amount_invalid", "The discount can't be larger than the order.")
    placed_at = placed_at or timezone.now()
    if timezone.is_naive(placed_at):
        raise ServiceError(
            "placed_at_invalid", "The order time must include a time zone.", field="placed_at"
        )
    if placed_at > timezone.now() + CLOCK_SKEW:
        raise ServiceError(
            "placed_at_invalid", "The order time is in the future.", field="placed_at"
        )
    # Stripe's timestamps are Stripe's own and arrive signed; a shop's placed_at is its claim.
    max_age = timedelta(days=app_settings.ORDER_MAX_AGE_DAYS)
    if source != Order.Source.STRIPE and placed_at < timezone.now() - max_age:
        raise ServiceError(
            "placed_at_invalid",
            f"The order time is more than {app_settings.ORDER_MAX_AGE_DAYS} days ago; "
            "orders that old are not attributed.",
            field="placed_at",
        )

    first = None
    if renewal:
        first = _subscription_first_order(store=store, subscription_id=subscription_id)
        rep, how = first.rep_code, first.attribution
    else:
        rep, how = resolve_attribution(
            code=code,
            link=link,
            shopper_user=shopper_user,
            metadata_code=metadata_code,
            placed_at=placed_at,
            shopper_email=shopper_email,
            shopper_customer_id=shopper_customer_id,
            programmes=programmes,
        )
    # The typed code was not recognised (resolve_attribution passed over it): noted, not fatal.
    rejected_code = code.strip()[:64] if code and how != Attribution.CODE else ""
    programme = rep.advocate.programme if rep else None
    if programme is not None and currency != programme.currency:
        raise ServiceError(
            "currency_mismatch",
            f"The {programme.name} programme runs in {programme.currency}; this order is in "
            f"{currency}.",
        )

    email_key = email_hash(shopper_email)
    key = shopper_key(shopper_email=shopper_email, shopper_customer_id=shopper_customer_id)
    blocker = (
        commission_blocker(rep, shopper_user=shopper_user, shopper_email_hash=email_key)
        if rep is not None
        else None
    )
    if blocker is None:
        blocker = offer_blocker(
            programme,
            discount_amount=discount_amount,
            renewal=renewal,
            paid=paid,
            shopper_key=key,
            shopper_email_hash=email_key,
            shopper_customer_id=shopper_customer_id,
        )
    # A renewal's discount is the first order's offer continuing, not a second use of it.
    one_use_offer = bool(
        programme is not None
        and not renewal
        and discount_amount > 0
        and programme.shopper_one_use
        and key
    )
    if blocker is None and rep is not None and first is None:
        blocker = pattern_blocker(
            rep,
            how=how,
            link=link,
            placed_at=placed_at,
        )
    if one_use_offer and paid and blocker is None and offer_used(programme, key):
        blocker, one_use_offer = OFFER_REUSED, False
    try:
        with transaction.atomic():
            order = Order.objects.create(
                source=source,
                store=store,
                external_id=external_id,
                programme=programme,
                rep_code=rep,
                attribution=how,
                # A sale is credited at once unless something blocks it; a renewal only once
                # its recurring commission is known (_renewal_credit).
                advocate=rep.advocate if rep and blocker is None and first is None else None,
                shopper_email_hash=email_key,
                rejected_code=rejected_code,
                shopper_customer_id=shopper_customer_id or "",
                subscription_id=subscription_id or "",
                shopper_user=shopper_user,
                currency=currency,
                gross_amount=gross_amount,
                discount_amount=discount_amount,
                net_amount=gross_amount - discount_amount,
                tax_amount=tax_amount,
                shipping_amount=shipping_amount,
                placed_at=placed_at,
            )
            if one_use_offer:
                DiscountRedemption.objects.create(programme=programme, shopper_key=key, order=order)
            result = IngestResult(order=order, created=True)
            if rep is None:
                return result
            if blocker is not None:
                kind, note = blocker
                FraudSignal.objects.create(
                    kind=kind, order=order, advocate=rep.advocate, detail=note
                )
                result.notes.append(note)
                return result
            if first is not None:
                return _renewal_credit(result, first)
            result.commission = commission_create_for_new_order(order=order, advocate=rep.advocate)
            return result
    except IntegrityError as exc:
        # Rolled back whole. The same order arrived concurrently and the other request stored
        # it first: answer from that recording.
        existing = _recorded(store, external_id)
        if existing is not None:
            return existing
        if one_use_offer and offer_used(programme, key):
            if paid:  # the same shopper's other order took the offer first, concurrently
                return order_ingest(
                    source=source,
                    external_id=external_id,
                    currency=currency,
                    gross_amount=gross_amount,
                    discount_amount=discount_amount,
                    tax_amount=tax_amount,
                    shipping_amount=shipping_amount,
                    code=code,
                    link=link,
                    metadata_code=metadata_code,
                    shopper_email=shopper_email,
                    shopper_customer_id=shopper_customer_id,
                    shopper_user=shopper_user,
                    placed_at=placed_at,
                    subscription_id=subscription_id,
                    renewal=renewal,
                    paid=paid,
                    store=store,
                    programmes=programmes,
                )
            # The order is not recorded with a discount the shopper had no right to.
            raise ServiceError(
                "offer_already_used", "This shopper has already used the programme's offer."
            ) from exc
        raise


def order_warnings(order: Order) -> list[str]:
    """What the integrator should know about how an order was recorded (not why it earns
    nothing: that is IngestResult.notes)."""
    if not order.rejected_code:
        return []
    how = (
        "unattributed"
        if order.attribution == Attribution.NONE
        else f"attributed by {order.get_attribution_display().lower()} instead"
    )
    return [
        f"The code {order.rejected_code!r} is not one we recognise: the order is recorded "
        f"{how}, and the code noted on it."
    ]


def _recorded(store: Store, external_id: str) -> IngestResult | None:
    """The first recording of this order, answered to a repeat delivery; None when new."""
    order = Order.objects.filter(store=store, external_id=external_id).first()
    if order is None:
        return None
    return IngestResult(order=order, created=False, commission=order.commissions.first())


def _subscription_first_order(*, store: Store, subscription_id: str) -> Order:
    """The subscription's first order: its earliest, since renewals are only recorded after it."""
    if not subscription_id:
        raise ServiceError("subscription_missing", "A renewal needs the subscription it renews.")
    first = (
        Order.objects.filter(store=store, subscription_id=subscription_id)
        .select_related("programme", "rep_code__advocate__programme", "advocate")
        .order_by("placed_at", "pk")
        .first()
    )
    if first is None:
        raise ServiceError(
            "subscription_first_order_missing",
            f"The first payment of subscription {subscription_id} isn't recorded yet, so this "
            "renewal can't be credited. Apply it again once the first payment is in.",
        )
    return first


def _renewal_credit(result: IngestResult, first: Order) -> IngestResult:
    order = result.order
    if first.advocate is None:
        result.notes.append("The subscription's first payment earned no commission.")
        return result
    commission = commission_create_for_renewal(order=order, first_order=first)
    if commission is None:
        result.notes.append(
            "The renewal is past the programme's recurring months: no commission on it."
        )
        return result
    order.advocate = first.advocate
    order.save(update_fields=["advocate"])
    result.commission = commission
    return result
