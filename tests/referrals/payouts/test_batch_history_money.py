"""Issue #18: the payout batch's history on its review page reads as sentences with amounts as
money ("built payout batch #3 (€30.08) with 1 payout"), never the minor units the audit rows
store ("total: 3008"), and a batch the schedule built says so."""

import pytest
from django.urls import reverse

from referrals.payouts import services as payouts
from tests.factories import PASSWORD, AdvocateFactory, ProgrammeFactory, credited

pytestmark = pytest.mark.django_db


def _history(client, batch) -> str:
    page = client.get(reverse("payouts:inspect", args=[batch.pk])).content.decode()
    return page.split('id="history-heading"')[1]


def test_the_history_shows_the_batch_total_as_money(client, manager):
    programme = ProgrammeFactory(currency="EUR")
    credited(AdvocateFactory(programme=programme), 3008)
    batch = payouts.payout_batch_build(programme_id=programme.pk, actor=manager)
    payouts.payout_batch_approve(batch_id=batch.pk, actor=manager, password=PASSWORD)
    client.force_login(manager)

    history = _history(client, batch)

    assert f"built payout batch #{batch.pk} (€30.08) with 1 payout." in history
    assert "3008" not in history
    assert "batch_built" not in history


def test_a_yen_batch_has_no_decimals(client, manager):
    programme = ProgrammeFactory(currency="JPY")
    credited(AdvocateFactory(programme=programme), 3008)
    batch = payouts.payout_batch_build(programme_id=programme.pk, actor=manager)
    client.force_login(manager)

    assert f"built payout batch #{batch.pk} (¥3,008) with 1 payout." in _history(client, batch)
