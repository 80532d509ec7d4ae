"""An advocate whose figures are known by hand, and managers to look at them."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, Permission
from django.utils import timezone

from referrals.services.commissions import commission_approve
from referrals.services.refunds import refund_record
from tests.factories import (
    AdvocateFactory,
    ClickDailyFactory,
    RepCodeFactory,
    UserFactory,
    sale,
)

IBAN = "DE89370400440532013000"


@pytest.fixture
def manager(client):
    """A superuser signed in on `client`."""
    user = UserFactory(is_staff=True, is_superuser=True, email="manager@example.com")
    client.force_login(user)
    return user


@pytest.fixture
def viewer(client):
    """Staff who may look at advocates but not change them."""
    group = Group.objects.create(name="Advocate viewers")
    group.permissions.add(
        *Permission.objects.filter(codename__in=["access_admin", "view_advocate"])
    )
    user = UserFactory(is_staff=True)
    user.groups.add(group)
    client.force_login(user)
    return user


@pytest.fixture
def anna(programme, manager):
    """Anna, in a EUR programme with a 10% commission, with (amounts as the shop sends them,
    after the shopper's discount):

    - codes ANNA10 (vanity, 7 + 5 clicks, two sales) and a deactivated random code (3 clicks,
      one sale);
    - sale A: €100.00, commission €10.00, approved by the manager;
    - sale B: €50.00, commission €5.00, then fully refunded (reversed);
    - sale C: €20.00, commission €2.00, still pending;
    - a bank account on file (IBAN DE89 3704 0044 0532 0130 00).

    So: 15 clicks, 3 referred orders, €170.00 referred revenue, €17.00 earned, €5.00 reversed,
    €12.00 balance, €10.00 payable now.
    """
    advocate = AdvocateFactory(
        programme=programme,
        user=UserFactory(first_name="Anna", last_name="Jones", email="anna@example.com"),
        payout_method="bank",
        payout_details={"account_holder": "Anna Jones", "iban": IBAN},
    )
    vanity = RepCodeFactory(advocate=advocate, code="ANNA10", is_vanity=True, channel="Instagram")
    retired = RepCodeFactory(advocate=advocate, code="OLDCODE99")
    today = timezone.localdate()
    ClickDailyFactory(rep_code=vanity, day=today, clicks=7)
    ClickDailyFactory(rep_code=vanity, day=today - timedelta(days=1), clicks=5)
    ClickDailyFactory(rep_code=retired, day=today, clicks=3)

    long_ago = timezone.now() - timedelta(days=40)
    sale_a = sale(vanity, "anna-order-a", 10000, placed_at=long_ago)
    commission_approve(commission_id=sale_a.commission.pk, actor=manager, reason="Looks fine.")
    sale_b = sale(vanity, "anna-order-b", 5000)
    refund_record(order=sale_b.order, external_id="re_anna_b", amount=5000)
    sale(retired, "anna-order-c", 2000)
    retired.is_active = False
    retired.save(update_fields=["is_active"])
    return advocate
