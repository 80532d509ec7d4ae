"""Stripe Connect for advocates, against the fake Stripe server: onboarding from the payout
details page (an Express account once, an Account Link each time), the status mirrored from
Stripe on return and from account.updated (late events never roll it back), and payouts only to
accounts Stripe has enabled."""

from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from advocacy.models import Advocate
from referrals import ledger_selectors as ledger
from referrals.models import LedgerEntry, Payout, PayoutBatch, WebhookEvent
from referrals.payouts import services as payouts
from referrals.services import commissions
from referrals.services.orders import order_ingest
from referrals.stripe.events import stripe_event_record
from tests.factories import PASSWORD, AdvocateFactory, UserFactory, received_ago

pytestmark = pytest.mark.django_db

SETTINGS_URL = "/dashboard/payout-settings/"
START_URL = "/dashboard/payout-settings/stripe/"
RETURN_URL = "/dashboard/payout-settings/stripe/return/"
REFRESH_URL = "/dashboard/payout-settings/stripe/refresh/"


@pytest.fixture
def signed_in(client):
    """Signed in through allauth's login form, so the password login counts as recent
    authentication for the payout pages."""

    def _sign_in(user, *, on=None):
        browser = on or client
        response = browser.post(
            reverse("account_login"), {"login": user.email, "password": PASSWORD}
        )
        assert response.status_code == 302
        return browser

    return _sign_in


def start(client, country="DE"):
    return client.post(START_URL, {"country": country})


def account_of(advocate: Advocate) -> str:
    advocate.refresh_from_db()
    return advocate.stripe_account_id


# Onboarding ------------------------------------------------------------------------------------


def test_payout_settings_offer_stripe_setup_when_the_integration_is_on(
    fake_stripe, signed_in, advocate
):
    page = signed_in(advocate.user).get(SETTINGS_URL).content.decode()

    assert "Set up payouts with Stripe" in page
    assert "Country where you live and bank" in page
    assert "Not set up" in page


def test_setting_up_creates_one_express_account_and_sends_the_advocate_to_stripe(
    django_capture_on_commit_callbacks, fake_stripe, signed_in, advocate
):
    client = signed_in(advocate.user)

    with django_capture_on_commit_callbacks(execute=True):
        response = start(client)

    [account] = fake_stripe.accounts
    [link] = fake_stripe.account_links
    assert response.status_code == 302
    assert response["Location"] == link["url"]
    assert link["url"].startswith("https://connect.stripe.com/setup/e/")
    assert (account["type"], account["country"], account["email"]) == (
        "express",
        "DE",
        advocate.user.email,
    )
    assert account["metadata"] == {"advocate_id": str(advocate.pk)}
    assert link["account"] == account["id"]
    assert link["type"] == "account_onboarding"
    query = f"?programme={advocate.programme.slug}"
    assert link["return_url"] == f"https://streetteam.test{RETURN_URL}{query}"
    assert link["refresh_url"] == f"https://streetteam.test{REFRESH_URL}{query}"
    [create] = fake_stripe.requests_to("POST", "/v1/accounts")
    assert create.idempotency_key == f"streetteam-connect-account-{advocate.pk}"
    advocate.refresh_from_db()
    assert advocate.stripe_account_id == account["id"]
    assert advocate.payout_method == Advocate.PayoutMethod.STRIPE_CONNECT
    assert advocate.stripe_requirements_due  # a new account has everything still to give
    [notice] = mail.outbox  # the payout method changed: the advocate is told
    assert notice.to == [advocate.user.email]


def test_clicking_twice_makes_one_account_and_a_fresh_link_each_time(
    fake_stripe, signed_in, advocate
):
    client = signed_in(advocate.user)

    first = start(client)
    second = start(client, country="")  # the country is only asked the first time

    assert len(fake_stripe.accounts) == 1
    assert len(fake_stripe.requests_to("POST", "/v1/accounts")) == 1
    assert len(fake_stripe.account_links) == 2
    assert first["Location"] != second["Location"]
    assert second["Location"] == fake_stripe.account_links[1]["url"]


def test_a_retry_after_a_lost_answer_gets_the_same_account_from_stripe(fake_stripe, advocate):
    """The id was never saved (a crash after Stripe answered): the idempotency key, derived
    from the advocate, makes Stripe hand back the account it made."""
    from referrals.stripe import client as stripe_api

    made = stripe_api.account_create_express(
        email=advocate.user.email, country="FR", advocate_id=advocate.pk
    )
    again = stripe_api.account_create_express(
        email=advocate.user.email, country="FR", advocate_id=advocate.pk
    )

    assert again["id"] == made["id"]
    assert len(fake_stripe.accounts) == 1


def test_without_a_country_no_account_is_made(fake_stripe, signed_in, advocate):
    client = signed_in(advocate.user)

    response = start(client, country="")

    assert response.status_code == 302
    assert response["Location"].startswith(SETTINGS_URL)
    assert fake_stripe.accounts == []
    page = client.get(response["Location"]).content.decode()
    assert "Choose the country where you live and bank." in page
    assert account_of(advocate) == ""


def test_coming_back_reads_the_account_from_stripe_without_waiting_for_the_webhook(
    fake_stripe, signed_in, advocate
):
    client = signed_in(advocate.user)
    start(client)
    account = account_of(advocate)

    page = client.get(RETURN_URL).content.decode()
    assert "Details needed" in page
    assert "Your bank account for payouts" in page
    assert "Accept Stripe’s terms of service" in page

    fake_stripe.account_set_state(account, event=False)  # onboarding done on Stripe's pages
    page = client.get(RETURN_URL).content.decode()

    assert "Payouts enabled" in page
    advocate.refresh_from_db()
    assert advocate.stripe_payouts_enabled is True
    assert advocate.stripe_details_submitted is True
    assert advocate.stripe_requirements_due == []
    dashboard = client.get("/dashboard/").content.decode()
    assert "Payouts enabled" in dashboard


def test_submitted_but_unverified_shows_pending_verification(fake_stripe, signed_in, advocate):
    client = signed_in(advocate.user)
    start(client)
    fake_stripe.account_set_state(
        account_of(advocate),
        payouts_enabled=False,
        pending_verification=["individual.verification.document"],
        event=False,
    )

    page = client.get(RETURN_URL).content.decode()

    assert "Pending verification" in page
    assert "Stripe is checking your details" in page


def test_an_expired_link_leads_to_a_new_one_for_the_same_account(fake_stripe, signed_in, advocate):
    client = signed_in(advocate.user)
    start(client)

    response = client.get(REFRESH_URL)

    assert response.status_code == 302
    assert response["Location"] == fake_stripe.account_links[-1]["url"]
    assert len(fake_stripe.accounts) == 1
    assert len(fake_stripe.account_links) == 2


def test_an_advocate_only_ever_reaches_their_own_account(fake_stripe, signed_in, advocate):
    other = AdvocateFactory(programme=advocate.programme)
    start(signed_in(other.user, on=Client()))
    other_account = account_of(other)
    fake_stripe.account_set_state(other_account, event=False)

    client = signed_in(advocate.user)
    page = client.get(RETURN_URL + f"?programme={other.programme.slug}").content.decode()
    refresh = client.get(REFRESH_URL)

    assert "Not set up" in page
    assert "Payouts enabled" not in page
    assert other_account not in page
    assert refresh["Location"].startswith(SETTINGS_URL)  # no account of theirs: no link
    assert len(fake_stripe.account_links) == 1
    assert not fake_stripe.requests_to("GET", f"/v1/accounts/{other_account}")


def test_setting_up_needs_a_post_with_the_csrf_token(fake_stripe, signed_in, advocate):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(advocate.user)

    assert strict.post(START_URL, {"country": "DE"}).status_code == 403
    assert signed_in(advocate.user).get(START_URL).status_code == 405
    assert fake_stripe.accounts == []


def test_signed_out_visitors_are_sent_to_log_in(client, fake_stripe):
    response = client.post(START_URL, {"country": "DE"})

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert fake_stripe.accounts == []


def test_with_the_integration_off_the_option_says_it_is_unavailable(settings, signed_in, advocate):
    settings.STRIPE_SECRET_KEY = ""
    client = signed_in(advocate.user)

    page = client.get(SETTINGS_URL).content.decode()
    response = start(client)

    assert "Not available on this site" in page
    assert "Set up payouts with Stripe" not in page
    assert response["Location"].startswith(SETTINGS_URL)
    followed = client.get(response["Location"]).content.decode()
    assert "Payouts through Stripe are not available on this site right now." in followed
    assert account_of(advocate) == ""


# account.updated -----------------------------------------------------------------------------


def deliver(capture, event: dict) -> WebhookEvent:
    with capture(execute=True):
        stored, _ = stripe_event_record(event)
    stored.refresh_from_db()
    return stored


@pytest.fixture
def connected(fake_stripe, advocate):
    """The advocate with a fresh Express account made through the onboarding service."""
    from referrals.stripe.connect import stripe_connect_onboarding_url

    stripe_connect_onboarding_url(
        advocate_id=advocate.pk, country="NL", refresh_url="https://x/r", return_url="https://x/b"
    )
    advocate.refresh_from_db()
    return advocate


def test_account_updated_mirrors_the_account(
    django_capture_on_commit_callbacks, fake_stripe, connected
):
    event = fake_stripe.account_set_state(connected.stripe_account_id)

    stored = deliver(django_capture_on_commit_callbacks, event)

    assert stored.status == WebhookEvent.Status.PROCESSED
    connected.refresh_from_db()
    assert connected.stripe_payouts_enabled is True
    assert connected.stripe_details_submitted is True
    assert connected.stripe_requirements_due == []
    assert connected.stripe_account_updated_at.timestamp() == event["created"]


def test_a_late_older_account_updated_changes_nothing(
    django_capture_on_commit_callbacks, fake_stripe, connected
):
    account = connected.stripe_account_id
    later = fake_stripe.account_set_state(account)  # enabled
    earlier = fake_stripe.account_set_state(
        account, details_submitted=False, payouts_enabled=False, currently_due=["external_account"]
    )
    earlier["created"] = later["created"] - 60  # it happened first, it arrives last
    later["created"] += 3600  # both after the state the onboarding read

    deliver(django_capture_on_commit_callbacks, later)
    stale = deliver(django_capture_on_commit_callbacks, earlier)

    assert stale.status == WebhookEvent.Status.IGNORED
    assert "Older than the account state already applied" in stale.error
    connected.refresh_from_db()
    assert connected.stripe_payouts_enabled is True
    assert connected.stripe_requirements_due == []


def test_account_updated_events_in_order_follow_the_account(
    django_capture_on_commit_callbacks, fake_stripe, connected
):
    account = connected.stripe_account_id
    enabled = fake_stripe.account_set_state(account)
    restricted = fake_stripe.account_set_state(
        account, payouts_enabled=False, currently_due=["individual.verification.document"]
    )
    enabled["created"] += 3600
    restricted["created"] += 7200

    deliver(django_capture_on_commit_callbacks, enabled)
    deliver(django_capture_on_commit_callbacks, restricted)

    connected.refresh_from_db()
    assert connected.stripe_payouts_enabled is False
    assert connected.stripe_requirements_due == ["individual.verification.document"]


def test_account_updated_for_an_unknown_account_is_ignored_with_the_reason(
    django_capture_on_commit_callbacks, fake_stripe, advocate
):
    event = fake_stripe.add_event(
        "account.updated", {"id": "acct_someone_else", "object": "account"}
    )

    stored = deliver(django_capture_on_commit_callbacks, event)

    assert stored.status == WebhookEvent.Status.IGNORED
    assert stored.error == "No advocate has the Stripe account acct_someone_else."
    advocate.refresh_from_db()
    assert advocate.stripe_account_updated_at is None


# Payouts through the stored account --------------------------------------------------------


@pytest.fixture
def manager(db):
    return UserFactory(is_staff=True, is_superuser=True)


def executing_payout(advocate, manager) -> Payout:
    """An approved EUR 20.00 balance in an executing stripe_connect batch; its payout pending."""
    rep = advocate.codes.first() or advocate.codes.create(code=f"CONNECT{advocate.pk}")
    result = order_ingest(
        source="api",
        external_id=f"connect-sale-{advocate.pk}",
        currency="EUR",
        gross_amount=20_000,
        code=rep.code,
        placed_at=timezone.now() - timedelta(days=45),
    )
    commissions.commission_approve(
        commission_id=received_ago(result.commission, timedelta(days=45)).pk, actor=manager
    )
    batch = payouts.payout_batch_build(
        programme_id=advocate.programme_id,
        actor=manager,
        backend=PayoutBatch.Backend.STRIPE_CONNECT,
    )
    payouts.payout_batch_approve(batch_id=batch.pk, actor=manager, password=PASSWORD)
    payouts.payout_batch_execute(batch_id=batch.pk, actor=manager)
    return batch.payouts.get()


def test_a_payout_to_an_account_without_payouts_enabled_fails_cleanly(
    fake_stripe, connected, manager
):
    payout = executing_payout(connected, manager)

    payout = payouts.payout_execute(payout_id=payout.pk)

    assert payout.status == Payout.Status.FAILED
    assert payout.failure_reason.startswith(
        "Stripe has not enabled payouts on the advocate's account yet"
    )
    assert not fake_stripe.requests_to("POST", "/v1/transfers")
    assert fake_stripe.transfers == []
    # The reservation is given back: the money waits for the next batch.
    assert ledger.payable_balance(connected, "EUR") == 2_000
    assert LedgerEntry.objects.filter(
        kind=LedgerEntry.Kind.PAYOUT_FAILED, reference=f"payout:{payout.pk}"
    ).exists()


def test_a_payout_to_an_enabled_account_transfers_to_the_stored_account(
    django_capture_on_commit_callbacks, fake_stripe, connected, manager
):
    deliver(
        django_capture_on_commit_callbacks,
        fake_stripe.account_set_state(connected.stripe_account_id),
    )
    payout = executing_payout(connected, manager)

    payout = payouts.payout_execute(payout_id=payout.pk)

    [transfer] = fake_stripe.transfers
    assert payout.status == Payout.Status.PAID
    assert transfer["destination"] == connected.stripe_account_id
    assert transfer["amount"] == 2_000
    assert payout.external_ref == transfer["id"]


def test_a_transfer_sent_before_a_crash_counts_even_if_the_account_was_disabled_since(
    fake_stripe, connected, manager
):
    """A worker sent the transfer and died before recording it; meanwhile Stripe restricted the
    account. The retry must find the transfer, not release money that already left."""
    from referrals.stripe import client as stripe_api

    payout = executing_payout(connected, manager)
    Payout.objects.filter(pk=payout.pk).update(status=Payout.Status.PROCESSING)
    sent = stripe_api.transfer_create(
        amount=payout.amount,
        currency="EUR",
        destination=connected.stripe_account_id,
        idempotency_key=payout.idempotency_key,
        metadata={"payout_id": str(payout.pk), "batch_id": str(payout.batch_id)},
    )

    payout = payouts.payout_execute(payout_id=payout.pk)

    assert payout.status == Payout.Status.PAID
    assert payout.external_ref == sent
    assert len(fake_stripe.transfers) == 1
    assert ledger.payable_balance(connected, "EUR") == 0
