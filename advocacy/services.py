"""Writes for programmes, advocates and rep codes."""

import logging

from allauth.account.models import EmailAddress
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from advocacy.cache import targets_invalidate
from advocacy.codes import normalise_code, random_code
from advocacy.iban import validate_iban
from advocacy.models import Advocate, Programme, RepCode
from advocacy.signals import advocate_status_changed
from advocacy.tasks import payout_details_changed_email
from kernel.errors import ServiceError
from kernel.money import CURRENCY_EXPONENTS

logger = logging.getLogger(__name__)

ACCOUNT_HOLDER_MAX = 70  # what a SEPA credit transfer carries for the creditor's name


def user_has_verified_email(user) -> bool:
    return EmailAddress.objects.filter(user=user, email__iexact=user.email, verified=True).exists()


@transaction.atomic
def programme_join(*, user, programme: Programme, accept_terms: bool) -> Advocate:
    """Make `user` an active advocate of `programme` with a rep code, or say why not.

    Joining twice is harmless: the existing membership comes back unchanged.
    """
    if not programme.is_active:
        raise ServiceError("programme_inactive", "This programme is not taking new advocates.")
    if not user_has_verified_email(user):
        raise ServiceError(
            "email_unverified", "Please verify your email address before you join a programme."
        )
    existing = Advocate.objects.select_for_update().filter(user=user, programme=programme).first()
    if existing and existing.status in (Advocate.Status.ACTIVE, Advocate.Status.PAUSED):
        return existing
    if existing and existing.status == Advocate.Status.BANNED:
        raise ServiceError("advocate_banned", "This account can no longer join this programme.")
    if not existing and programme.join_policy == Programme.JoinPolicy.INVITE:
        raise ServiceError("invite_only", "This programme is by invitation only.")
    if not accept_terms:
        raise ServiceError(
            "terms_not_accepted", "Please accept the programme terms to join.", field="accept_terms"
        )

    now = timezone.now()
    if existing:  # an invitation being taken up
        existing.status = Advocate.Status.ACTIVE
        existing.joined_at = now
        existing.terms_accepted_at = now
        existing.save(update_fields=["status", "joined_at", "terms_accepted_at"])
        advocate = existing
    else:
        try:
            with transaction.atomic():
                advocate = Advocate.objects.create(
                    user=user,
                    programme=programme,
                    status=Advocate.Status.ACTIVE,
                    joined_at=now,
                    terms_accepted_at=now,
                )
        except IntegrityError:
            # A concurrent join won the race; theirs is as good as ours.
            return Advocate.objects.get(user=user, programme=programme)
    if not advocate.codes.filter(is_active=True).exists():
        repcode_issue(advocate=advocate)
    targets_invalidate()  # the advocate's codes work from now on
    return advocate


def repcode_issue(*, advocate: Advocate, channel: str = "", attempts: int = 5) -> RepCode:
    """Give the advocate a new random code; retries on the (rare) collision."""
    for _ in range(attempts):
        try:
            with transaction.atomic():
                rep = RepCode.objects.create(code=random_code(), advocate=advocate, channel=channel)
        except IntegrityError:
            continue
        targets_invalidate()  # a cached "unknown code" for it would hide it
        return rep
    raise ServiceError("code_collision", "Could not find a free code; please try again.")


def repcode_create_vanity(*, advocate: Advocate, code: str, channel: str = "") -> RepCode:
    """A code a manager chose (e.g. ANNA10). Unique site-wide, case-insensitively."""
    normalised = normalise_code(code)
    rep = RepCode(code=normalised, advocate=advocate, channel=channel, is_vanity=True)
    try:
        rep.full_clean(exclude=["advocate"], validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        message = " ".join(exc.message_dict.get("code", exc.messages))
        raise ServiceError("code_invalid", message, field="code") from exc
    try:
        with transaction.atomic():
            rep.save()
    except IntegrityError as exc:
        raise ServiceError("code_taken", f"The code {normalised} is already taken.") from exc
    targets_invalidate()
    return rep


def repcode_deactivate(*, rep_code: RepCode) -> RepCode:
    rep_code.is_active = False
    rep_code.save(update_fields=["is_active"])
    targets_invalidate()
    return rep_code


# What a manager may do to an advocate's status, and the status it leads to. A banned advocate
# may be reactivated (a ban by mistake); an invited one has not joined yet, so there is nothing
# to pause.
STATUS_ACTIONS = {
    "pause": Advocate.Status.PAUSED,
    "ban": Advocate.Status.BANNED,
    "reactivate": Advocate.Status.ACTIVE,
}
STATUS_ACTIONS_FROM = {
    "pause": (Advocate.Status.ACTIVE,),
    "ban": (Advocate.Status.ACTIVE, Advocate.Status.PAUSED),
    "reactivate": (Advocate.Status.PAUSED, Advocate.Status.BANNED),
}
STATUS_REASON_MAX = 500
_PAST = {"pause": "paused", "ban": "banned", "reactivate": "reactivated"}


def advocate_status_actions(advocate: Advocate) -> list[str]:
    """The status actions open to a manager for `advocate` now ("pause", "ban", "reactivate")."""
    return [action for action, sources in STATUS_ACTIONS_FROM.items() if advocate.status in sources]


@transaction.atomic
def advocate_status_change(*, advocate_id: int, action: str, reason: str, actor) -> Advocate:
    """Pause, ban or reactivate an advocate; a reason is required to pause or ban.

    What the status does is decided elsewhere and unchanged here: a paused or banned advocate's
    new orders earn nothing (flagged "advocate not active"), payout batches leave them out and
    payouts already built are refused. Money already earned stays in their ledger. The change is
    audited (by referrals, listening to `advocate_status_changed`) in the same transaction.
    """
    if action not in STATUS_ACTIONS:
        raise ServiceError("status_action_invalid", "Choose what to do.", field="action")
    reason = " ".join((reason or "").split())
    if action != "reactivate" and not reason:
        raise ServiceError(
            "status_reason_missing",
            f"Say why you {action} this advocate: the reason is kept in the audit log.",
            field="reason",
        )
    if len(reason) > STATUS_REASON_MAX:
        raise ServiceError(
            "status_reason_too_long",
            f"Use at most {STATUS_REASON_MAX} characters for the reason.",
            field="reason",
        )
    advocate = Advocate.objects.select_for_update().get(pk=advocate_id)
    if advocate.status not in STATUS_ACTIONS_FROM[action]:
        raise ServiceError(
            "status_transition_invalid",
            f"This advocate is {advocate.get_status_display().lower()}: they can't be "
            f"{_PAST[action]}.",
            field="action",
        )
    before = advocate.status
    advocate.status = STATUS_ACTIONS[action]
    advocate.status_reason = reason
    advocate.status_changed_at = timezone.now()
    advocate.save(update_fields=["status", "status_reason", "status_changed_at"])
    targets_invalidate()  # the advocate's codes are looked up with their status
    advocate_status_changed.send(
        sender=Advocate,
        advocate=advocate,
        actor=actor,
        before=before,
        after=advocate.status,
        reason=reason,
    )
    return advocate


@transaction.atomic
def advocate_payout_details_update(
    *,
    advocate: Advocate,
    method: str,
    account_holder: str = "",
    iban: str | None = None,
    paypal_email: str = "",
) -> Advocate:
    """Set how `advocate` is paid; the caller has checked that its user re-authenticated.

    Only the chosen method's details are kept (switching to PayPal forgets the IBAN). For a bank
    account `iban=None` keeps the IBAN already on file, so the holder's name can be corrected
    without typing the IBAN again. When anything changed, the advocate is emailed after commit
    ("your payout details were changed"), so a change they didn't make doesn't go unnoticed.
    """
    advocate = Advocate.objects.select_for_update().get(pk=advocate.pk)
    previous = (advocate.payout_method, advocate.payout_details or {})

    if method == Advocate.PayoutMethod.BANK:
        holder = " ".join(account_holder.split())
        if not holder:
            raise ServiceError(
                "account_holder_missing",
                "Enter the name on the bank account.",
                field="account_holder",
            )
        if len(holder) > ACCOUNT_HOLDER_MAX:
            raise ServiceError(
                "account_holder_too_long",
                f"Use at most {ACCOUNT_HOLDER_MAX} characters for the account holder's name.",
                field="account_holder",
            )
        if not iban:
            iban = previous[1].get("iban") if previous[0] == method else None
            if not iban:
                raise ServiceError("iban_missing", "Enter your IBAN.", field="iban")
        try:
            iban = validate_iban(iban)
        except ValidationError as exc:
            raise ServiceError("iban_invalid", exc.messages[0], field="iban") from exc
        details = {"account_holder": holder, "iban": iban}
    elif method == Advocate.PayoutMethod.PAYPAL:
        email = paypal_email.strip()
        try:
            validate_email(email)
        except ValidationError as exc:
            raise ServiceError(
                "paypal_email_invalid",
                "Enter the email address of your PayPal account.",
                field="paypal_email",
            ) from exc
        local, _, domain = email.rpartition("@")
        details = {"email": f"{local}@{domain.lower()}"}
    elif method == Advocate.PayoutMethod.STRIPE_CONNECT:
        details = {}  # the connected account's id arrives through Stripe's onboarding
    else:
        raise ServiceError(
            "payout_method_invalid", "Choose how you want to be paid.", field="method"
        )

    if (method, details) == previous:
        return advocate
    advocate.payout_method = method
    advocate.payout_details = details
    advocate.save(update_fields=["payout_method", "payout_details"])
    # The details themselves are never logged.
    logger.info("Payout details changed for advocate %s (method %s)", advocate.pk, method)
    changed_at = timezone.now().isoformat()
    transaction.on_commit(lambda: payout_details_changed_email.delay(advocate.pk, changed_at))
    return advocate


CUSTOMER_BATCH_LIMIT = 1000


def customers_upsert(*, rows: list[dict], source: str = "api") -> dict:
    """Insert or update shop customers by email, in one statement whatever the batch size.

    Each row: email, currency, and optionally name, external_id, order_count, total_spent,
    first_order_at, last_order_at. A bad row rejects the whole batch (nothing changes) with the
    row's index in the error, so the caller can fix it and send again.
    """
    from django.core.validators import validate_email

    from advocacy.models import Customer
    from kernel.money import CURRENCY_EXPONENTS, MAX_AMOUNT

    if not rows:
        raise ServiceError("customers_empty", "Send at least one customer.")
    if len(rows) > CUSTOMER_BATCH_LIMIT:
        raise ServiceError(
            "customers_too_many", f"Send at most {CUSTOMER_BATCH_LIMIT} customers per request."
        )
    by_email: dict[str, Customer] = {}
    for index, row in enumerate(rows):
        email = (row.get("email") or "").strip().lower()
        try:
            validate_email(email)
        except ValidationError as exc:
            raise ServiceError(
                "customer_invalid", f"Customer {index}: not an email address.", field="email"
            ) from exc
        currency = row.get("currency") or ""
        if currency not in CURRENCY_EXPONENTS:
            raise ServiceError(
                "customer_invalid",
                f"Customer {index}: unsupported currency {currency!r}.",
                field="currency",
            )
        total = row.get("total_spent") or 0
        count = row.get("order_count") or 0
        if not (0 <= total <= MAX_AMOUNT) or not (0 <= count <= 10**9):
            raise ServiceError(
                "customer_invalid",
                f"Customer {index}: totals must be between 0 and a sane maximum.",
            )
        first, last = row.get("first_order_at"), row.get("last_order_at")
        for moment in (first, last):
            if moment is not None and timezone.is_naive(moment):
                raise ServiceError(
                    "customer_invalid", f"Customer {index}: order times need a time zone."
                )
        if first and last and last < first:
            raise ServiceError(
                "customer_invalid", f"Customer {index}: the last order is before the first."
            )
        by_email[email] = Customer(
            email=email,
            name=(row.get("name") or "")[:150],
            external_id=(row.get("external_id") or "")[:255],
            source=source,
            currency=currency,
            order_count=count,
            total_spent=total,
            first_order_at=first,
            last_order_at=last,
        )
    existing = set(
        Customer.objects.filter(email__in=list(by_email)).values_list("email", flat=True)
    )
    now = timezone.now()
    for customer in by_email.values():
        customer.created_at = customer.updated_at = now
    Customer.objects.bulk_create(
        list(by_email.values()),
        update_conflicts=True,
        unique_fields=["email"],
        update_fields=[
            "name",
            "external_id",
            "source",
            "currency",
            "order_count",
            "total_spent",
            "first_order_at",
            "last_order_at",
            "updated_at",
        ],
        batch_size=500,
    )
    return {"created": len(by_email) - len(existing), "updated": len(existing)}


@transaction.atomic
def programme_currency_change(*, programme_id: int, currency: str, actor=None) -> Programme:
    """Change a programme's currency, refused (`currency_locked`) once money was recorded in
    it: commissions and ledger entries stay in the currency they were earned in."""
    programme = Programme.objects.select_for_update().get(pk=programme_id)
    if currency not in CURRENCY_EXPONENTS:
        raise ServiceError(
            "currency_invalid", f"Unsupported currency {currency!r}.", field="currency"
        )
    refusal = programme.currency_change_refusal(currency)
    if refusal:
        raise ServiceError("currency_locked", refusal, field="currency")
    programme.currency = currency
    programme.save(update_fields=["currency"])
    return programme
