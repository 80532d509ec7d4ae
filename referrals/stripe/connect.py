"""Stripe Connect for advocates: one Express account each, set up on Stripe's own pages.

`stripe_connect_onboarding_url` makes the account the first time (idempotency key from the
advocate id, so a double click or a retry is still one account) and returns a fresh, single-use
Account Link to Stripe's onboarding. The account's state (details submitted, payouts enabled,
what Stripe still needs) is mirrored on the advocate from two sources: `account.updated` events
and a direct read when the advocate comes back from Stripe (`stripe_connect_refresh`), so the
page they land on is right even before the webhook arrives.

Out of order: each state is applied with the time it was true (the event's `created`, or now for
a direct read); a state older than the one already applied is ignored, so a late event never
rolls the account back.
"""

from datetime import datetime

import stripe
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from advocacy.models import Advocate
from advocacy.services import advocate_payout_details_update
from kernel.errors import ServiceError
from referrals.stripe import client as stripe_api

# Countries where Stripe offers Express accounts (https://docs.stripe.com/connect/express-accounts,
# "Supported countries"); the advocate picks theirs before Stripe's pages open.
EXPRESS_COUNTRIES = {
    "AT": "Austria",
    "AU": "Australia",
    "BE": "Belgium",
    "BG": "Bulgaria",
    "CA": "Canada",
    "CH": "Switzerland",
    "CY": "Cyprus",
    "CZ": "Czech Republic",
    "DE": "Germany",
    "DK": "Denmark",
    "EE": "Estonia",
    "ES": "Spain",
    "FI": "Finland",
    "FR": "France",
    "GB": "United Kingdom",
    "GR": "Greece",
    "HR": "Croatia",
    "HU": "Hungary",
    "IE": "Ireland",
    "IT": "Italy",
    "JP": "Japan",
    "LI": "Liechtenstein",
    "LT": "Lithuania",
    "LU": "Luxembourg",
    "LV": "Latvia",
    "MT": "Malta",
    "NL": "Netherlands",
    "NO": "Norway",
    "NZ": "New Zealand",
    "PL": "Poland",
    "PT": "Portugal",
    "RO": "Romania",
    "SE": "Sweden",
    "SG": "Singapore",
    "SI": "Slovenia",
    "SK": "Slovakia",
    "US": "United States",
}


def stripe_connect_available() -> bool:
    """Connect needs the Stripe integration on (a secret key set)."""
    return bool(getattr(settings, "STRIPE_SECRET_KEY", ""))


def _read_now() -> datetime:
    """When a direct read of the account was true, to the second like an event's `created`:
    an event from the same second is not older than the read, so it still applies."""
    return timezone.now().replace(microsecond=0)


def _stripe_failure(exc: Exception) -> ServiceError:
    if isinstance(exc, stripe_api.StripeUnavailable):
        return ServiceError(
            "stripe_off", "Payouts through Stripe are not available on this site right now."
        )
    return ServiceError(
        "stripe_error",
        "Stripe didn't answer as expected, so nothing was changed. Please try again in a minute.",
    )


def stripe_connect_onboarding_url(
    *, advocate_id: int, country: str, refresh_url: str, return_url: str
) -> str:
    """The URL of Stripe's onboarding for this advocate's Express account (made on first use).

    Also makes Stripe Connect the advocate's payout method (emailed to them if it changed).
    No transaction around the Stripe calls: a crash after the account is made is recovered by
    the idempotency key, and a second click before the id is saved gets the same account.
    """
    advocate = Advocate.objects.select_related("user").get(pk=advocate_id)
    try:
        if not advocate.stripe_account_id:
            country = (country or "").strip().upper()
            if country not in EXPRESS_COUNTRIES:
                raise ServiceError(
                    "country_invalid",
                    "Choose the country where you live and bank.",
                    field="country",
                )
            account = stripe_api.account_create_express(
                email=advocate.user.email, country=country, advocate_id=advocate.pk
            )
            # Only fills an empty slot: an account saved meanwhile (a concurrent click got the
            # same account from Stripe) is left as it is.
            Advocate.objects.filter(pk=advocate.pk, stripe_account_id="").update(
                stripe_account_id=account["id"]
            )
            advocate.refresh_from_db()
            stripe_account_sync(account=account, as_of=_read_now())
        url = stripe_api.account_link_create(
            account_id=advocate.stripe_account_id, refresh_url=refresh_url, return_url=return_url
        )
    except (stripe_api.StripeUnavailable, stripe.StripeError) as exc:
        raise _stripe_failure(exc) from exc
    advocate_payout_details_update(advocate=advocate, method=Advocate.PayoutMethod.STRIPE_CONNECT)
    return url


def stripe_connect_refresh(*, advocate_id: int) -> Advocate:
    """Read the advocate's account from Stripe now and mirror it (their return from Stripe)."""
    advocate = Advocate.objects.get(pk=advocate_id)
    if not advocate.stripe_account_id:
        return advocate
    try:
        account = stripe_api.account_retrieve(advocate.stripe_account_id)
    except (stripe_api.StripeUnavailable, stripe.StripeError) as exc:
        raise _stripe_failure(exc) from exc
    stripe_account_sync(account=account, as_of=_read_now())
    advocate.refresh_from_db()
    return advocate


@transaction.atomic
def stripe_account_sync(*, account: dict, as_of: datetime) -> tuple[int, int]:
    """Mirror a Stripe account's state on the advocate(s) holding it, unless what they hold is
    newer than `as_of`. Returns (advocates updated, advocates whose state was newer)."""
    account_id = account.get("id") if isinstance(account.get("id"), str) else ""
    requirements = account.get("requirements") or {}
    due = _names(requirements.get("currently_due"))
    past_due = _names(requirements.get("past_due"))
    disabled_reason = requirements.get("disabled_reason")
    disabled_reason = disabled_reason[:64] if isinstance(disabled_reason, str) else ""
    updated = stale = 0
    if not account_id:
        return updated, stale
    for advocate in Advocate.objects.select_for_update().filter(stripe_account_id=account_id):
        if advocate.stripe_account_updated_at and as_of < advocate.stripe_account_updated_at:
            stale += 1
            continue
        advocate.stripe_details_submitted = bool(account.get("details_submitted"))
        advocate.stripe_payouts_enabled = bool(account.get("payouts_enabled"))
        advocate.stripe_requirements_due = due
        advocate.stripe_requirements_past_due = past_due
        advocate.stripe_disabled_reason = disabled_reason
        advocate.stripe_account_updated_at = as_of
        advocate.save(
            update_fields=[
                "stripe_details_submitted",
                "stripe_payouts_enabled",
                "stripe_requirements_due",
                "stripe_requirements_past_due",
                "stripe_disabled_reason",
                "stripe_account_updated_at",
            ]
        )
        updated += 1
    return updated, stale


def _names(value) -> list[str]:
    """A requirements list as Stripe sends it, keeping only well-formed names."""
    return [item for item in value or [] if isinstance(item, str)]
