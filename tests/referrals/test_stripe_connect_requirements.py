"""What Stripe says is overdue on a Connect account, and why it disabled it, reach the advocate
in plain words: account.updated copies `past_due` and `disabled_reason` beside `currently_due`,
from Stripe's own example account."""

from datetime import UTC, datetime, timedelta

import pytest
from django.template.loader import render_to_string

from advocacy.stripe_status import DETAILS_NEEDED, ENABLED, PAUSED, stripe_connect_status
from referrals.stripe.connect import stripe_account_sync
from tests.factories import AdvocateFactory
from tests.fixtures import stripe as fx

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.fixture
def advocate():
    return AdvocateFactory(stripe_account_id="acct_fx_requirements")


def sync(advocate, **state):
    stripe_account_sync(account=fx.account(advocate.stripe_account_id, **state), as_of=NOW)
    advocate.refresh_from_db()
    return stripe_connect_status(advocate)


def test_stripes_example_account_is_disabled_for_overdue_requirements(advocate):
    status = sync(advocate, payouts_enabled=False)

    assert advocate.stripe_disabled_reason == "requirements.past_due"
    assert advocate.stripe_requirements_due == [
        "business_profile.product_description",
        "business_profile.support_phone",
        "business_profile.url",
        "external_account",
        "tos_acceptance.date",
        "tos_acceptance.ip",
    ]
    assert status.state == DETAILS_NEEDED
    assert status.explanation == (
        "Stripe has paused your payouts: some details were due and have not been given yet."
    )


def test_past_due_requirements_are_named_apart_from_the_ones_merely_due(advocate):
    status = sync(
        advocate,
        payouts_enabled=False,
        currently_due=["external_account", "individual.dob.day"],
        past_due=["external_account"],
    )

    assert advocate.stripe_requirements_past_due == ["external_account"]
    assert status.overdue == ["Your bank account for payouts"]
    assert status.requirements == ["Your date of birth"]
    assert status.badge == "error"


def test_an_enabled_account_with_overdue_details_is_warned_before_stripe_pauses_it(advocate):
    status = sync(advocate, payouts_enabled=True, currently_due=[], past_due=["tos_acceptance.ip"])

    assert status.state == ENABLED
    assert status.overdue == ["Accept Stripe’s terms of service"]
    assert "give them now or Stripe will pause your payouts" in status.explanation


@pytest.mark.parametrize(
    ("reason", "words"),
    [
        ("rejected.fraud", "Stripe has closed this account for payouts."),
        ("rejected.terms_of_service", "Stripe has closed this account for payouts."),
        ("platform_paused", "Payouts to your Stripe account are paused by the programme."),
        ("under_review", "Stripe is reviewing your account"),
        ("something_stripe_adds_later", "Stripe has paused your payouts."),
    ],
)
def test_a_disabled_account_with_nothing_to_give_says_why_payouts_are_paused(
    advocate, reason, words
):
    status = sync(
        advocate, payouts_enabled=False, currently_due=[], past_due=[], disabled_reason=reason
    )

    assert status.state == PAUSED
    assert status.label == "Payouts paused"
    assert words in status.explanation


def test_enabling_payouts_clears_the_reason_and_the_overdue_list(advocate):
    sync(advocate, payouts_enabled=False, past_due=["external_account"])
    stripe_account_sync(
        account=fx.account(
            advocate.stripe_account_id, payouts_enabled=True, currently_due=[], past_due=[]
        ),
        as_of=NOW + timedelta(minutes=1),
    )
    advocate.refresh_from_db()

    assert advocate.stripe_disabled_reason == ""
    assert advocate.stripe_requirements_past_due == []
    assert stripe_connect_status(advocate).state == ENABLED


def test_the_dashboards_stripe_panel_lists_what_is_overdue_first(advocate):
    status = sync(
        advocate,
        payouts_enabled=False,
        currently_due=["external_account", "individual.dob.day"],
        past_due=["external_account"],
    )

    panel = render_to_string("dashboard/includes/stripe_status.html", {"stripe": status})

    overdue_at = panel.index("Overdue: Stripe needed these by now")
    assert overdue_at < panel.index("Your bank account for payouts") < panel.index("Also needed")
    assert panel.index("Also needed") < panel.index("Your date of birth")
    assert "Stripe has paused your payouts" in panel
