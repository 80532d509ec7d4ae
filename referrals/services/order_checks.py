"""What recording an order checks about its shopper: is it the advocate themselves, may the
programme's shopper offer be used on it (one use, first order only). Used by `order_ingest`
and by late attribution (`order_attribute`).

The advocate is recognised by any of: their account; any email address on it (allauth
EmailAddress rows; the primary compared in its normalised form, so "+tags" and Gmail dots don't
hide it); a customer id that is theirs (a shop customer imported with one of their addresses,
or the customer id of an earlier order of theirs flagged as a self-referral). Those facts are
read in the same query as the code (`shopper_annotations`), so the check costs no extra read.
"""

from datetime import datetime, timedelta

from allauth.account.models import EmailAddress
from django.db.models import Count, Exists, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce, Lower

from advocacy.models import Advocate, Customer, Programme, RepCode
from kernel.errors import ServiceError
from referrals.hashing import email_hash, keyed_hash
from referrals.models import DiscountRedemption, FraudSignal, Order

OFFER_REUSED = (
    FraudSignal.Kind.OFFER_REUSED,
    "Paid with the programme's one-use offer the shopper had already used: recorded, without "
    "the commission on this second use.",
)
OFFER_UNVERIFIABLE = (
    FraudSignal.Kind.OFFER_UNVERIFIABLE,
    "Discounted under the programme's one-use offer without a customer email or id, so the "
    "one use can't be checked: recorded, without the commission.",
)
NOT_FIRST_ORDER = (
    FraudSignal.Kind.OFFER_REUSED,
    "Paid with the programme's first-order offer by a shopper who had ordered before: "
    "recorded, without the commission.",
)

# services.fraud's "many orders from one shopper" pattern: this many orders (the new one
# included) with one code within the window.
REPEAT_CUSTOMER_ORDERS = 3
REPEAT_CUSTOMER_WINDOW = timedelta(hours=24)


def shopper_key(*, shopper_email: str, shopper_customer_id: str) -> str:
    """Who the shopper is, for one-use offers: their email's hash, else their customer id's."""
    return email_hash(shopper_email) or keyed_hash("customer", (shopper_customer_id or "").strip())


def shopper_annotations(
    *, shopper_email: str, shopper_customer_id: str, placed_at: datetime | None = None
) -> dict:
    """Annotations for a RepCode query: is this shopper the code's advocate by an address on
    their account (`shopper_own_address`) or by a customer id (`shopper_own_customer`), or
    another advocate of the same programme by their account email (`shopper_other_advocate`,
    for services.fraud: account emails are stored lower-case and unique, an index lookup), and,
    given `placed_at`, how many orders the shopper placed with the code within
    REPEAT_CUSTOMER_WINDOW before it (`shopper_recent_orders`, services.fraud.pattern_blocker).
    """
    annotations = {}
    advocate_user = OuterRef("advocate__user_id")
    email = (shopper_email or "").strip()
    if email:
        annotations["shopper_own_address"] = Exists(
            EmailAddress.objects.filter(user_id=advocate_user, email__iexact=email)
        )
        annotations["shopper_other_advocate"] = Exists(
            Advocate.objects.filter(
                user__email=email.lower(), programme_id=OuterRef("advocate__programme_id")
            ).exclude(pk=OuterRef("advocate_id"))
        )
    if placed_at is not None:
        recent = recent_orders_of_shopper(
            shopper_email_hash=email_hash(shopper_email), shopper_customer_id=shopper_customer_id
        )
        if recent is not None:
            annotations["shopper_recent_orders"] = Coalesce(
                Subquery(
                    recent.filter(
                        rep_code_id=OuterRef("pk"),
                        placed_at__gte=placed_at - REPEAT_CUSTOMER_WINDOW,
                        placed_at__lte=placed_at,
                    )
                    .order_by()
                    .values("rep_code_id")
                    .annotate(count=Count("pk"))
                    .values("count")
                ),
                0,
            )
    customer_id = (shopper_customer_id or "").strip()
    if customer_id:
        addresses = EmailAddress.objects.filter(user_id=OuterRef(OuterRef("advocate__user_id")))
        annotations["shopper_own_customer"] = Exists(
            Customer.objects.filter(external_id=customer_id).filter(
                Q(email=Lower(OuterRef("advocate__user__email")))
                | Q(email__in=addresses.values(lower=Lower("email")))
            )
        ) | Exists(
            Order.objects.filter(shopper_customer_id=customer_id).filter(
                Q(shopper_user_id=advocate_user)
                | Q(
                    fraud_signals__kind=FraudSignal.Kind.SELF_REFERRAL,
                    fraud_signals__advocate_id=OuterRef("advocate_id"),
                )
            )
        )
    return annotations


def recent_orders_of_shopper(*, shopper_email_hash: str, shopper_customer_id: str):
    """The shopper's orders, by their email hash (indexed) or else their customer id; None when
    the order names neither."""
    customer_id = (shopper_customer_id or "").strip()
    if shopper_email_hash:
        return Order.objects.filter(shopper_email_hash=shopper_email_hash)
    if customer_id:
        return Order.objects.filter(shopper_customer_id=customer_id)
    return None


def is_self_referral(rep: RepCode, *, shopper_user, shopper_email_hash: str) -> bool:
    advocate_user = rep.advocate.user
    if shopper_user is not None and shopper_user.pk == advocate_user.pk:
        return True
    if getattr(rep, "shopper_own_address", False) or getattr(rep, "shopper_own_customer", False):
        return True
    return bool(shopper_email_hash) and shopper_email_hash == email_hash(advocate_user.email)


def commission_blocker(rep: RepCode, *, shopper_user, shopper_email_hash: str):
    """(fraud signal kind, note) when this referral must earn nothing, else None.

    Checked when the order arrives, not only at the click: an advocate paused since sharing the
    link earns nothing on it.
    """
    if is_self_referral(rep, shopper_user=shopper_user, shopper_email_hash=shopper_email_hash):
        return FraudSignal.Kind.SELF_REFERRAL, "The advocate referred their own order."
    if not rep.advocate.programme.is_active:
        return FraudSignal.Kind.PROGRAMME_INACTIVE, "The programme was not active at the order."
    if not rep.advocate.is_active or not rep.is_active:
        return (
            FraudSignal.Kind.ADVOCATE_INACTIVE,
            f"The advocate's status was {rep.advocate.get_status_display().lower()} "
            "or the code was deactivated.",
        )
    return None


def offer_used(programme: Programme, shopper_key: str) -> bool:
    return DiscountRedemption.objects.filter(programme=programme, shopper_key=shopper_key).exists()


def ordered_before(
    programme: Programme, *, shopper_email_hash: str, shopper_customer_id: str
) -> bool:
    """Has this shopper (by email hash or customer id) an order in the programme already."""
    who = Q()
    if shopper_email_hash:
        who |= Q(shopper_email_hash=shopper_email_hash)
    if shopper_customer_id:
        who |= Q(shopper_customer_id=shopper_customer_id)
    if not who:
        return False
    return Order.objects.filter(who, programme=programme).exists()


def offer_blocker(
    programme: Programme | None,
    *,
    discount_amount: int,
    renewal: bool,
    paid: bool,
    shopper_key: str,
    shopper_email_hash: str,
    shopper_customer_id: str,
):
    """The programme's shopper offer at ingestion: (fraud signal kind, note) when the order is
    recorded without its commission, None when the offer holds; raises when an unpaid order
    (the API) must be refused. A renewal's discount is the first order's offer continuing."""
    if programme is None or renewal or discount_amount <= 0:
        return None
    if programme.shopper_one_use and not shopper_key:
        return OFFER_UNVERIFIABLE
    if programme.shopper_first_order_only and ordered_before(
        programme, shopper_email_hash=shopper_email_hash, shopper_customer_id=shopper_customer_id
    ):
        if paid:
            return NOT_FIRST_ORDER
        raise ServiceError("not_first_order", "This offer is for a first order only.", field="code")
    return None
