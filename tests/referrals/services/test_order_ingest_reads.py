"""order_ingest reads each order's code once, with only the columns it needs: whatever path the
order takes (credited, blocked, by link, fixed reward), no further query loads what was left out,
and a repeat is answered from the first recording."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from advocacy.models import Advocate, Programme, RewardKind
from kernel.errors import ServiceError
from referrals.links.cookies import LinkReferral
from referrals.models import FraudSignal
from referrals.services.stores import store_built_in
from tests.factories import AdvocateFactory, ProgrammeFactory, RepCodeFactory

from .test_order_ingest import PLACED
from .test_order_ingest import ingest as recorded

pytestmark = pytest.mark.django_db


def ingest(**overrides):
    """The recorded order and the SELECTs it took (test_order_ingest's defaults), given its
    store as the API gives its key's."""
    overrides.setdefault("store", store_built_in(overrides.get("source", "api")))
    with CaptureQueriesContext(connection) as queries:
        result = recorded(**overrides)
    selects = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT")]
    return result, selects


def test_a_credited_order_reads_twice_and_earns(rep_code):
    result, selects = ingest(code=rep_code.code.lower())
    assert len(selects) == 2  # is it recorded already? which code?
    assert result.commission.amount == 1000
    # Held from receipt (now), not from the shop's placed_at two days earlier.
    held_for = result.commission.hold_until - timezone.now()
    assert timedelta(days=29, hours=23) < held_for <= timedelta(days=30)
    assert result.order.rep_code.code == rep_code.code


def test_a_fixed_reward_order_reads_twice(rep_code):
    Programme.objects.filter(pk=rep_code.advocate.programme_id).update(
        advocate_reward_kind=RewardKind.FIXED, advocate_reward_amount=700
    )
    result, selects = ingest(code=rep_code.code)
    assert len(selects) == 2
    assert result.commission.amount == 700


def test_a_link_order_reads_twice(rep_code):
    # A minute after the click: an order seconds after it is flagged (services.fraud).
    link = LinkReferral(
        code=rep_code.code, visitor_id="v" * 32, clicked_at=PLACED - timedelta(minutes=1)
    )
    result, selects = ingest(link=link)
    assert len(selects) == 2
    assert result.order.advocate_id == rep_code.advocate_id


@pytest.mark.parametrize("status", [Advocate.Status.PAUSED, Advocate.Status.BANNED])
def test_an_order_for_an_inactive_advocate_reads_twice(rep_code, status):
    Advocate.objects.filter(pk=rep_code.advocate_id).update(status=status)
    result, selects = ingest(code=rep_code.code)
    assert len(selects) == 2
    assert result.commission is None
    assert status.label.lower() in FraudSignal.objects.get().detail


def test_a_self_referral_reads_twice(rep_code):
    result, selects = ingest(code=rep_code.code, shopper_email=rep_code.advocate.user.email)
    assert len(selects) == 2
    assert FraudSignal.objects.get().kind == FraudSignal.Kind.SELF_REFERRAL


def test_an_order_in_a_paused_programme_reads_twice(rep_code):
    Programme.objects.filter(pk=rep_code.advocate.programme_id).update(
        status=Programme.Status.PAUSED
    )
    result, selects = ingest(code=rep_code.code)
    assert len(selects) == 2
    assert FraudSignal.objects.get().kind == FraudSignal.Kind.PROGRAMME_INACTIVE


def test_an_order_in_another_currency_is_refused_by_the_programmes_name():
    rep = RepCodeFactory(advocate=AdvocateFactory(programme=ProgrammeFactory(name="Oat Co")))
    with pytest.raises(ServiceError, match="Oat Co"):
        ingest(code=rep.code, currency="USD")


def test_a_repeat_is_answered_from_the_first_recording(rep_code):
    first, _ = ingest(code=rep_code.code)
    repeat, _ = ingest(code=rep_code.code, gross_amount=99999)
    assert not repeat.created
    assert repeat.order.pk == first.order.pk
    assert repeat.commission.pk == first.commission.pk
    assert repeat.order.gross_amount == 10000
