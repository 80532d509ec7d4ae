"""Issue #16 leftover: a paused advocate's balance still went into new batches (only banned
ones were left out), to be refused one by one at execution. The build leaves out every advocate
who may not be paid, and says who was left out and why; their money stays in their balance."""

import pytest
from django.urls import reverse

from advocacy.models import Advocate
from referrals.ledger_selectors import payable_balance
from referrals.payouts import services as payouts
from referrals.payouts.selectors import payout_build_left_out
from referrals.services.commissions import commission_approve
from tests.factories import AdvocateFactory, RepCodeFactory, sale
from tests.referrals.payouts.conftest import LONG_AGO

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("status", [Advocate.Status.PAUSED, Advocate.Status.BANNED])
def test_a_paused_or_banned_advocate_is_left_out_of_a_new_batch(build, rep_code, status):
    Advocate.objects.filter(pk=rep_code.advocate_id).update(status=status)

    assert build() is None
    assert payable_balance(rep_code.advocate, "EUR") == 800


def test_the_others_are_paid_and_the_left_out_are_named(
    build, manager, rep_code, approved, programme
):
    other = RepCodeFactory(advocate=AdvocateFactory(programme=programme))
    commission = sale(other, "other-1", 5_000, LONG_AGO).commission
    commission_approve(commission_id=commission.pk, actor=manager)
    Advocate.objects.filter(pk=rep_code.advocate_id).update(status=Advocate.Status.PAUSED)

    batch = build()

    assert list(batch.payouts.values_list("advocate_id", flat=True)) == [other.advocate_id]
    left_out = payout_build_left_out(programme=programme)
    assert left_out.sentence() == (
        "Left out: 1 paused advocate (€8.00): their money stays in their balance until "
        "they are active again."
    )


def test_the_build_screen_says_who_is_left_out(client, manager, rep_code, approved, programme):
    Advocate.objects.filter(pk=rep_code.advocate_id).update(status=Advocate.Status.PAUSED)
    client.force_login(manager)

    preview = client.get(reverse("payouts:build") + f"?programme={programme.pk}")
    built = client.post(reverse("payouts:build"), {"programme": programme.pk, "backend": "manual"})

    assert "1 paused advocate (€8.00)" in preview.content.decode()
    assert built.status_code == 200  # nothing else to pay: the form explains
    assert "1 paused advocate (€8.00)" in built.content.decode()
    assert payouts.payout_batch_build(programme_id=programme.pk) is None
