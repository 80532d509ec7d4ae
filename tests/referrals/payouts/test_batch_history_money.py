"""Issue #18: the payout batch's history on its review page shows amounts as money ("€30.08"),
not as the minor units the audit rows store ("3008")."""

import pytest
from django.urls import reverse

from referrals.payouts import services as payouts
from referrals.payouts.admin_views import audit_data_in_money
from tests.factories import PASSWORD, AdvocateFactory, ProgrammeFactory, credited

pytestmark = pytest.mark.django_db


def test_the_history_shows_the_batch_total_as_money(client, manager):
    programme = ProgrammeFactory(currency="EUR")
    credited(AdvocateFactory(programme=programme), 3008)
    batch = payouts.payout_batch_build(programme_id=programme.pk, actor=manager)
    payouts.payout_batch_approve(batch_id=batch.pk, actor=manager, password=PASSWORD)
    client.force_login(manager)

    page = client.get(reverse("payouts:inspect", args=[batch.pk])).content.decode()

    history = page.split('id="history-heading"')[1]
    assert f"built payout batch #{batch.pk} (€30.08) with 1 payout." in history
    assert f"approved payout batch #{batch.pk} (€30.08)." in history
    assert "3008" not in history


@pytest.mark.parametrize(
    ("data", "currency", "expected"),
    [
        ({"total": 3008, "payouts": 2}, "EUR", "total: €30.08, payouts: 2"),
        ({"amount": 3008}, "JPY", "amount: ¥3,008"),
        ({"before": "draft", "after": "approved"}, "EUR", "before: draft, after: approved"),
        ({"total": "3008"}, "EUR", "total: 3008"),  # not an amount we wrote: shown as it is
        ({}, "EUR", ""),
    ],
)
def test_audit_data_in_money(data, currency, expected):
    assert audit_data_in_money(data, currency) == expected
