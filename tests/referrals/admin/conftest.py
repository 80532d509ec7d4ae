"""Fixtures for the managers' admin: signed-in managers and sales at each stage of their life."""

from datetime import timedelta
from itertools import count

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.messages import get_messages
from django.utils import timezone

from referrals.services.commissions import commission_approve
from referrals.services.orders import order_ingest
from tests.factories import AdvocateFactory, RepCodeFactory, UserFactory, received_ago

_orders = count(1)


@pytest.fixture
def manager(client):
    """A superuser signed in on `client` (superusers hold every permission)."""
    user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


@pytest.fixture
def second_manager(db):
    return UserFactory(is_staff=True, is_superuser=True)


@pytest.fixture
def staff_group(db):
    """What a support person gets: the admin and read access to commissions and payouts."""
    group = Group.objects.create(name="Support")
    group.permissions.add(
        *Permission.objects.filter(
            codename__in=["access_admin", "view_commission", "view_payoutbatch", "view_auditevent"]
        )
    )
    return group


@pytest.fixture
def support_user(client, staff_group):
    """Staff who may look at commissions and batches but not decide on them or pay."""
    user = UserFactory(is_staff=True)
    user.groups.add(staff_group)
    client.force_login(user)
    return user


@pytest.fixture
def make_sale(programme):
    """A referred sale `days_ago` days back, through the real ingestion service; returns its
    pending commission (10% of the net amount; the programme holds commissions 30 days)."""

    def _make(*, advocate=None, gross=10000, days_ago=40):
        advocate = advocate or AdvocateFactory(programme=programme)
        rep = advocate.codes.first() or RepCodeFactory(advocate=advocate)
        result = order_ingest(
            source="api",
            external_id=f"admin-order-{next(_orders)}",
            currency=programme.currency,
            gross_amount=gross,
            code=rep.code,
            shopper_email=f"shopper{next(_orders)}@example.net",
            placed_at=timezone.now() - timedelta(days=days_ago),
        )
        return received_ago(result.commission, timedelta(days=days_ago))

    return _make


@pytest.fixture
def approved_sale(make_sale):
    """An approved commission, ready to be paid out."""

    def _make(**kwargs):
        commission = make_sale(**kwargs)
        return commission_approve(commission_id=commission.pk)

    return _make


def messages_of(response) -> list[str]:
    return [str(message).strip() for message in get_messages(response.wsgi_request)]
