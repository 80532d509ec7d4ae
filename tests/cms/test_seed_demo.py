"""`manage.py seed_demo`: the demo `make run` loads, safe to run twice."""

from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command

pytestmark = pytest.mark.django_db

COUNTED = [
    "accounts.User",
    "account.EmailAddress",
    "advocacy.Programme",
    "advocacy.Advocate",
    "advocacy.RepCode",
    "referrals.Click",
    "referrals.Order",
    "referrals.Commission",
    "referrals.LedgerEntry",
    "referrals.AuditEvent",
    "wagtailcore.Page",
    "wagtailcore.Site",
]


def _counts():
    return {label: apps.get_model(label).objects.count() for label in COUNTED}


def _seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_seed_demo_prints_the_logins_and_a_demo_code():
    output = _seed()
    assert "manager@example.com" in output
    assert "anna@example.com" in output
    assert "streetteam-demo" in output
    assert "/r/ANNA20" in output


def test_seed_demo_twice_changes_nothing():
    _seed()
    first = _counts()
    _seed()
    assert _counts() == first
    assert first["advocacy.Programme"] == 1
    assert first["advocacy.Advocate"] == 2
    assert first["referrals.Order"] == first["referrals.Commission"] > 0
    assert first["referrals.Click"] > 0


def test_seeded_demo_serves_the_loop(client):
    _seed()
    home = client.get("/")
    assert home.status_code == 200
    assert b"Trailhead Friends" in home.content
    redirect = client.get("/r/anna20")
    assert redirect.status_code == 302
    campaign = client.get(redirect["Location"])
    assert campaign.status_code == 200
    assert b"Anna" in campaign.content


def test_seeded_commissions_past_their_hold_are_approved():
    from referrals.models import Commission

    _seed()
    statuses = set(Commission.objects.values_list("status", flat=True))
    assert statuses == {"approved", "pending"}


def test_seeded_demo_leaves_commissions_past_their_hold_ready_for_review():
    """So bulk approve can be tried at once: big commissions (above the €25.00 auto-approve
    limit) whose hold has ended stay pending in the managers' queue."""
    from referrals.models import Commission
    from referrals.selectors import commissions_ready_for_review

    output = _seed()
    ready = commissions_ready_for_review(Commission.objects.all())
    assert set(ready.values_list("order__external_id", flat=True)) == {
        "demo-1009",
        "demo-1010",
        "demo-1011",
    }
    assert {c.advocate.user.email for c in ready} == {"anna@example.com", "ben@example.com"}
    assert all(c.amount > 2500 for c in ready)
    assert "/admin/commissions/?ready=true (3 commissions past their hold)" in output


def test_a_second_seed_leaves_the_same_commissions_ready_for_review():
    from referrals.models import Commission
    from referrals.selectors import commissions_ready_for_review

    _seed()
    first = set(commissions_ready_for_review(Commission.objects.all()).values_list("pk", flat=True))
    _seed()
    second = set(
        commissions_ready_for_review(Commission.objects.all()).values_list("pk", flat=True)
    )
    assert first == second
    assert len(first) == 3
