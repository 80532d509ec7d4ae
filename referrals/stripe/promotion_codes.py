"""Mirror programmes and rep codes into Stripe, so shoppers can type a rep code in Stripe Checkout.

Each programme has one Stripe coupon carrying its shopper offer (percent off, or a fixed amount in
the programme's currency; duration "once": one payment is discounted). Each rep code has a
promotion code with the same text under its programme's coupon, active while the code, its
advocate and its programme are all active. The programme's minimum order and first-order-only
rule travel as the promotion code's restrictions.

Stripe never changes a coupon's terms (only its name and metadata), nor a promotion code's coupon
or restrictions. So when a programme's offer changes, a new coupon is created and the codes move:
each old promotion code is deactivated, then one with the same text is created under the new
coupon (the text is unique among *active* promotion codes, so the old one goes first). The old
coupon stays in Stripe with no active codes; discounts already given keep pointing at it.

Creating calls carry idempotency keys derived from our ids and the request, so a task retried
after a timeout gets the first object back instead of a second one. Before creating a promotion
code we also look for one Stripe already holds for this rep code (made by a run whose answer was
lost), and adopt it.

Bookkeeping (ids, stripe_synced_at, stripe_sync_error) is written with QuerySet.update(): no
post_save, so neither the /r/ target cache nor the receivers that queue these syncs fire again.

With no STRIPE_SECRET_KEY the integration is off and every function here returns quietly.
"""

import hashlib
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

import stripe
from django.db import transaction
from django.utils import timezone

from advocacy.models import Programme, RepCode, RewardKind
from kernel.jobs import task
from referrals.stripe import client as stripe_api

logger = logging.getLogger(__name__)

# Network trouble, Stripe 5xx and rate limits: worth retrying with the same idempotency keys.
TRANSIENT_ERRORS = (stripe.APIConnectionError, stripe.APIError, stripe.RateLimitError)

# Saves that touch none of these fields change nothing Stripe mirrors (e.g. a programme's
# description, an advocate's payout details), so they queue no sync.
_MIRRORED_FIELDS = {
    "programme": {
        "name",
        "slug",
        "status",
        "currency",
        "shopper_reward_kind",
        "shopper_reward_percent",
        "shopper_reward_amount",
        "shopper_min_order",
        "shopper_first_order_only",
    },
    "advocate": {"status", "programme", "programme_id"},
    "repcode": {"code", "is_active", "advocate", "advocate_id"},
}


# The offer, as Stripe sees it -----------------------------------------------------------------


def coupon_terms(programme: Programme) -> dict | None:
    """The coupon's terms for the programme's shopper offer; None when it offers no discount
    (then there is nothing for a promotion code to hang under)."""
    if programme.shopper_reward_kind == RewardKind.FIXED:
        if programme.shopper_reward_amount <= 0:
            return None
        return {
            "amount_off": programme.shopper_reward_amount,
            "currency": programme.currency.lower(),
            "duration": "once",
        }
    if programme.shopper_reward_percent <= 0:
        return None
    # A decimal string: Stripe takes percent_off as a decimal, and no float comes near it here.
    return {"percent_off": str(programme.shopper_reward_percent), "duration": "once"}


def _restrictions(programme: Programme) -> dict:
    restrictions: dict = {}
    if programme.shopper_min_order > 0:
        restrictions["minimum_amount"] = programme.shopper_min_order
        restrictions["minimum_amount_currency"] = programme.currency.lower()
    if programme.shopper_first_order_only:
        restrictions["first_time_transaction"] = True
    return restrictions


def _offer(programme: Programme) -> str:
    """Everything a coupon and its promotion codes can't change after creation, as one string
    kept in the coupon's metadata: when it differs, the codes move to a new coupon."""
    terms = coupon_terms(programme) or {}
    return json.dumps({**terms, **_restrictions(programme)}, sort_keys=True)


def _coupon_current(coupon: dict | None, programme: Programme) -> bool:
    if coupon is None or coupon.get("deleted") or coupon.get("valid") is False:
        return False
    terms = coupon_terms(programme) or {}
    if "percent_off" in terms:
        percent = coupon.get("percent_off")
        # Stripe answers the decimal as a JSON number; compared, never computed with.
        if percent is None or Decimal(str(percent)) != Decimal(terms["percent_off"]):
            return False
    elif coupon.get("amount_off") != terms.get("amount_off") or (
        str(coupon.get("currency") or "").lower() != terms.get("currency")
    ):
        return False
    return (coupon.get("metadata") or {}).get("offer") == _offer(programme)


def _should_be_active(rep: RepCode) -> bool:
    advocate = rep.advocate
    return (
        rep.is_active
        and advocate.is_active
        and advocate.programme.is_active
        and coupon_terms(advocate.programme) is not None
    )


def _coupon_of(promotion_code: dict) -> str:
    coupon = (promotion_code.get("promotion") or {}).get("coupon")
    return coupon.get("id", "") if isinstance(coupon, dict) else coupon or ""


def _key(prefix: str, params: dict) -> str:
    """An idempotency key from our ids and the exact request: a retry sends the same key, and
    a changed request (a renamed programme) a new one instead of an idempotency error."""
    digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:16]
    return f"{prefix}-{digest}"


def _error_text(exc: Exception) -> str:
    message = getattr(exc, "user_message", None) or str(exc)
    return f"{type(exc).__name__}: {message}"[:1000]


# Programmes -> coupons ----------------------------------------------------------------------


def _coupon_ensure(programme_id: int) -> Programme:
    """The programme with a coupon that carries its current offer (made now when needed).

    The row is locked while Stripe is asked, so two syncs of one programme make one coupon.
    A programme without a discount keeps whatever coupon it had; its codes are deactivated.
    """
    with transaction.atomic():
        programme = Programme.objects.select_for_update().get(pk=programme_id)
        if coupon_terms(programme) is None:
            return programme
        name = programme.name[:40]  # Stripe's limit; customers see it on receipts
        metadata = {
            "programme_id": str(programme.pk),
            "programme": programme.slug,
            "offer": _offer(programme),
        }
        current = programme.stripe_coupon_id
        if current:
            coupon = stripe_api.coupon_retrieve(current)
            if _coupon_current(coupon, programme):
                if coupon.get("name") != name or (coupon.get("metadata") or {}) != metadata:
                    stripe_api.coupon_update(current, name=name, metadata=metadata)
                return programme
        terms = coupon_terms(programme)
        coupon = stripe_api.coupon_create(
            terms=terms,
            name=name,
            metadata=metadata,
            # "after" the coupon it replaces: going back to an earlier offer makes a new coupon
            # rather than replaying the first one (which may since have been deleted).
            idempotency_key=_key(
                f"coupon-programme-{programme.pk}-after-{current or 'none'}",
                {**terms, "name": name, "metadata": metadata},
            ),
        )
        Programme.objects.filter(pk=programme.pk).update(stripe_coupon_id=coupon["id"])
        programme.stripe_coupon_id = coupon["id"]
        logger.info("stripe coupon %s for programme %s", coupon["id"], programme.pk)
        return programme


def programme_coupon_sync(*, programme_id: int) -> "SyncReport | None":
    """Give the programme a coupon for its current offer and bring its codes' promotion codes
    in line (moved to a new coupon, activated or deactivated). Transient Stripe errors are
    raised for the task to retry; others are recorded on the programme."""
    if not stripe_api.enabled():
        return None
    if not Programme.objects.filter(pk=programme_id).exists():
        return None
    try:
        programme = _coupon_ensure(programme_id)
        report = _reconcile(
            [programme],
            promotion_codes=stripe_api.promotion_code_list(coupon_id=programme.stripe_coupon_id)
            if programme.stripe_coupon_id
            else [],
            apply=True,
            check_coupons=False,
        )
    except stripe.StripeError as exc:
        Programme.objects.filter(pk=programme_id).update(stripe_sync_error=_error_text(exc))
        if isinstance(exc, TRANSIENT_ERRORS):
            raise
        return None
    Programme.objects.filter(pk=programme_id).update(
        stripe_synced_at=timezone.now(), stripe_sync_error=""
    )
    return report


# Rep codes -> promotion codes -----------------------------------------------------------------


def _promotion_code_adopt_or_create(rep: RepCode, coupon_id: str) -> dict:
    programme = rep.advocate.programme
    for existing in stripe_api.promotion_code_list(code=rep.code):
        ours = (existing.get("metadata") or {}).get("rep_code_id") == str(rep.pk)
        if ours and _coupon_of(existing) == coupon_id:
            if not existing.get("active"):
                existing = stripe_api.promotion_code_update(existing["id"], active=True)
            return existing
    metadata = {
        "rep_code_id": str(rep.pk),
        "rep_code": rep.code,
        "advocate_id": str(rep.advocate_id),
        "programme_id": str(programme.pk),
    }
    restrictions = _restrictions(programme)
    return stripe_api.promotion_code_create(
        code=rep.code,
        coupon_id=coupon_id,
        metadata=metadata,
        restrictions=restrictions,
        idempotency_key=_key(
            f"promotion-code-repcode-{rep.pk}-{coupon_id}",
            {"code": rep.code, "metadata": metadata, "restrictions": restrictions},
        ),
    )


def _repcode_sync(repcode_id: int) -> str:
    """Make Stripe's promotion code for the rep code match it; returns its id ("" for none).

    Locks the rep code while Stripe is asked, so a code deactivated while its promotion code
    was being created is deactivated after, not before.
    """
    with transaction.atomic():
        rep = (
            RepCode.objects.select_for_update(of=("self",))
            .select_related("advocate__programme")
            .get(pk=repcode_id)
        )
        programme = rep.advocate.programme
        desired = _should_be_active(rep)
        promotion_code = None
        if rep.stripe_promotion_code_id:
            promotion_code = stripe_api.promotion_code_retrieve(rep.stripe_promotion_code_id)
        promotion_id = promotion_code["id"] if promotion_code else ""
        if promotion_code is not None and (
            _coupon_of(promotion_code) != programme.stripe_coupon_id
            or promotion_code["code"].upper() != rep.code
        ):
            # Made for an earlier offer: retire it; a new one under the current coupon follows.
            if promotion_code.get("active"):
                stripe_api.promotion_code_update(promotion_code["id"], active=False)
            promotion_code = None
        if promotion_code is None:
            if desired and programme.stripe_coupon_id:
                promotion_id = _promotion_code_adopt_or_create(rep, programme.stripe_coupon_id)[
                    "id"
                ]
        elif bool(promotion_code.get("active")) != desired:
            stripe_api.promotion_code_update(promotion_code["id"], active=desired)
        RepCode.objects.filter(pk=rep.pk).update(
            stripe_promotion_code_id=promotion_id,
            stripe_synced_at=timezone.now(),
            stripe_sync_error="",
        )
        return promotion_id


def repcode_promotion_sync(*, repcode_id: int) -> str | None:
    """Create, activate or deactivate the rep code's promotion code (and the programme's coupon
    first, when it has none for its current offer). Returns the promotion code id, "" when the
    code has none, None when the integration is off. Transient Stripe errors are raised for the
    task to retry; every error is recorded on the rep code."""
    if not stripe_api.enabled():
        return None
    programme_id = (
        RepCode.objects.filter(pk=repcode_id).values_list("advocate__programme_id", flat=True)
    ).first()
    if programme_id is None:
        return None
    try:
        _coupon_ensure(programme_id)
        return _repcode_sync(repcode_id)
    except stripe.StripeError as exc:
        RepCode.objects.filter(pk=repcode_id).update(stripe_sync_error=_error_text(exc))
        if isinstance(exc, TRANSIENT_ERRORS):
            raise
        return ""


# Reconciling both ways ------------------------------------------------------------------------


class Kind:
    COUPON_MISSING = "coupon missing"
    COUPON_OUTDATED = "coupon outdated"
    CODE_MISSING = "code missing"
    NOT_LINKED = "not linked"
    ACTIVE_DIFFERS = "active differs"
    WRONG_COUPON = "old coupon"
    UNKNOWN = "unknown in Stripe"


@dataclass
class Difference:
    kind: str
    programme: str
    code: str  # our rep code, or the text of a promotion code we don't know
    ours: str  # what Streetteam has
    stripe: str  # what Stripe has
    fixed: bool = False
    error: str = ""


@dataclass
class SyncReport:
    enabled: bool = True
    applied: bool = False
    programmes: int = 0
    codes: int = 0
    promotion_codes: int = 0
    differences: list[Difference] = field(default_factory=list)

    @property
    def errors(self) -> list[Difference]:
        return [d for d in self.differences if d.error]


def _describe(promotion_code: dict) -> str:
    state = "active" if promotion_code.get("active") else "inactive"
    return f"{promotion_code['id']} ({state}, coupon {_coupon_of(promotion_code)})"


def _fix(difference: Difference, apply: bool, action: Callable[[], object]) -> None:
    if not apply:
        return
    try:
        action()
    except stripe.StripeError as exc:
        difference.error = _error_text(exc)
    else:
        difference.fixed = True


def _reconcile(
    programmes: list[Programme],
    *,
    promotion_codes: Iterable[dict],
    apply: bool,
    check_coupons: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> SyncReport:
    """Compare the programmes' coupons and codes with Stripe's promotion codes, both ways.

    `promotion_codes` is what Stripe holds (all of them, or one coupon's). Ours without a
    matching promotion code, or whose promotion code is in another state or under an old
    coupon, are one side; active promotion codes under our coupons (or made by us) that no
    rep code claims are the other. With `apply` each difference is fixed, and marked so.
    """
    report = SyncReport(applied=apply, programmes=len(programmes))
    by_pk = {p.pk: p for p in programmes}
    if check_coupons:
        for programme in programmes:
            if coupon_terms(programme) is None:
                continue
            coupon = (
                stripe_api.coupon_retrieve(programme.stripe_coupon_id)
                if programme.stripe_coupon_id
                else None
            )
            if _coupon_current(coupon, programme):
                continue
            difference = Difference(
                kind=Kind.COUPON_OUTDATED if coupon else Kind.COUPON_MISSING,
                programme=programme.name,
                code="",
                ours=_offer(programme),
                stripe=(coupon or {}).get("id", "") or "none",
            )
            report.differences.append(difference)

            def ensure(programme=programme):
                by_pk[programme.pk] = _coupon_ensure(programme.pk)

            _fix(difference, apply, ensure)

    listed = {p["id"]: p for p in promotion_codes}
    report.promotion_codes = len(listed)
    our_coupons = {p.stripe_coupon_id for p in by_pk.values() if p.stripe_coupon_id}
    claimed: set[str] = set()
    known: dict[str, str] = {}  # rep code pk -> text, for promotion codes made by us

    codes = (
        RepCode.objects.filter(advocate__programme__in=list(by_pk))
        .select_related("advocate__programme")
        .order_by("pk")
    )
    total = codes.count()
    for done, rep in enumerate(codes.iterator(chunk_size=500), start=1):
        programme = by_pk[rep.advocate.programme_id]
        rep.advocate.programme = programme  # with the coupon id made above, if any
        report.codes += 1
        known[str(rep.pk)] = rep.code
        difference = _code_difference(rep, programme, listed, claimed)
        if difference is not None:
            report.differences.append(difference)
            _fix(difference, apply, lambda rep=rep: _repcode_sync(rep.pk))
        if progress is not None:
            progress(done, total)

    for promotion_code in listed.values():
        if promotion_code["id"] in claimed or not promotion_code.get("active"):
            continue
        made_for = (promotion_code.get("metadata") or {}).get("rep_code_id")
        # A stale copy of one of our codes (under an old coupon), or anything under our current
        # coupons. Other promotion codes (the merchant's own, another installation's sharing the
        # account) are not ours to judge.
        ours = known.get(made_for) == promotion_code["code"].upper()
        if not ours and _coupon_of(promotion_code) not in our_coupons:
            continue
        difference = Difference(
            kind=Kind.UNKNOWN,
            programme="",
            code=promotion_code["code"],
            ours="no rep code claims it",
            stripe=_describe(promotion_code),
        )
        report.differences.append(difference)
        _fix(
            difference,
            apply,
            lambda pid=promotion_code["id"]: stripe_api.promotion_code_update(pid, active=False),
        )
    return report


def _code_difference(
    rep: RepCode, programme: Programme, listed: dict[str, dict], claimed: set[str]
) -> Difference | None:
    desired = _should_be_active(rep)
    recorded = None
    if rep.stripe_promotion_code_id:
        recorded = listed.get(rep.stripe_promotion_code_id)
        if recorded is None:
            # Not in the listing (under another coupon, or gone): ask for it.
            recorded = stripe_api.promotion_code_retrieve(rep.stripe_promotion_code_id)
        if recorded is not None:
            claimed.add(recorded["id"])
    ours = "active" if desired else "inactive"

    def difference(kind: str, stripe_side: str) -> Difference:
        return Difference(kind, programme.name, rep.code, ours, stripe_side)

    if recorded is None:
        # One of ours that Stripe holds but we never recorded (a lost answer): adopt it.
        for candidate in listed.values():
            if (candidate.get("metadata") or {}).get("rep_code_id") == str(rep.pk) and (
                _coupon_of(candidate) == programme.stripe_coupon_id
            ):
                claimed.add(candidate["id"])
                if desired or candidate.get("active"):
                    return difference(Kind.NOT_LINKED, _describe(candidate))
                return None
        if desired:
            return difference(Kind.CODE_MISSING, "none")
        return None
    if _coupon_of(recorded) != programme.stripe_coupon_id:
        if desired or recorded.get("active"):
            return difference(Kind.WRONG_COUPON, _describe(recorded))
        return None
    if bool(recorded.get("active")) != desired:
        return difference(Kind.ACTIVE_DIFFERS, _describe(recorded))
    return None


def stripe_sync_all(
    *, apply: bool = False, progress: Callable[[int, int], None] | None = None
) -> SyncReport:
    """Every programme's coupon and every rep code's promotion code against Stripe's list of
    promotion codes; with `apply`, fix each difference. `progress(done, total)` follows the
    codes. Stripe errors while reading are raised; errors while fixing are in the report."""
    if not stripe_api.enabled():
        return SyncReport(enabled=False, applied=apply)
    programmes = list(Programme.objects.order_by("pk"))
    return _reconcile(
        programmes,
        promotion_codes=stripe_api.promotion_code_list(),
        apply=apply,
        progress=progress,
    )


# Queueing after our own changes ---------------------------------------------------------------


def stripe_mirror_after_save(
    model_name: str, pk: int, *, created: bool, update_fields=None
) -> None:
    """Queue the Stripe sync a saved programme, advocate or rep code needs, after commit; nothing
    when the integration is off or the save touched nothing Stripe mirrors."""
    if not stripe_api.enabled():
        return
    if not created and update_fields is not None:
        if not set(update_fields) & _MIRRORED_FIELDS.get(model_name, set()):
            return
    if model_name == "programme":
        _enqueue_on_commit("referrals.tasks.stripe_programme_coupon_sync", pk)
    elif model_name == "repcode":
        _enqueue_on_commit("referrals.tasks.stripe_repcode_promotion_sync", pk)
    elif model_name == "advocate" and not created:
        for code_pk in RepCode.objects.filter(advocate_id=pk).values_list("pk", flat=True):
            _enqueue_on_commit("referrals.tasks.stripe_repcode_promotion_sync", code_pk)


def _enqueue_on_commit(name: str, pk: int) -> None:
    def enqueue():
        try:
            task(name).delay(pk)
        except Exception:
            # The row is saved either way; `manage.py stripe_sync --apply` catches up.
            logger.exception("could not queue %s for %s", name, pk)

    transaction.on_commit(enqueue)
