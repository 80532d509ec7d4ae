"""Issue #18: the audit log and a batch's history read as sentences, with money formatted,
instead of action codes and raw cents ("payout_paid … amount: 3008")."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from referrals.services.audit import audit
from tests.factories import (
    AdvocateFactory,
    CommissionFactory,
    OrderFactory,
    PayoutBatchFactory,
    PayoutFactory,
)

pytestmark = pytest.mark.django_db


def paid_payout(manager, batch, first_name, amount):
    payout = PayoutFactory(
        batch=batch,
        advocate=AdvocateFactory(programme=batch.programme, user__first_name=first_name),
        amount=amount,
    )
    audit(actor=manager, action="payout_paid", obj=payout, amount=amount, after="paid")
    return payout


def test_the_audit_log_shows_sentences_not_codes_and_cents(client, manager):
    manager.first_name = "Maria"
    manager.save()
    batch = PayoutBatchFactory(total_amount=3008)
    payout = paid_payout(manager, batch, "Anna", 3008)

    page = client.get(reverse("audit_log:index")).content.decode()

    assert f"Maria marked payout #{payout.pk} (€30.08 to Anna) as paid." in page
    assert "amount: 3008" not in page


def test_the_audit_log_loads_a_page_in_the_same_number_of_queries_however_many_rows(
    client, manager, django_assert_num_queries
):
    batch = PayoutBatchFactory()
    paid_payout(manager, batch, "Anna", 1000)
    audit(actor=manager, action="batch_built", obj=batch, total=1000, payouts=1)
    commission = CommissionFactory(order=OrderFactory(external_id="1"))
    audit(actor=None, action="commission_auto_approved", obj=commission)
    url = reverse("audit_log:index")
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for n in range(5):
        paid_payout(manager, batch, f"Advocate {n}", 1000 + n)
        other = CommissionFactory(order=OrderFactory(external_id=f"more-{n}"))
        audit(actor=manager, action="commission_approved", obj=other)

    with django_assert_num_queries(len(few)):
        response = client.get(url)

    assert "Advocate 4" in response.content.decode()


def test_an_audit_entry_page_says_what_happened(client, manager):
    manager.first_name = "Maria"
    manager.save()
    commission = CommissionFactory(
        advocate=AdvocateFactory(user__first_name="Anna"),
        order=OrderFactory(external_id="1042"),
        amount=3008,
    )
    event = audit(actor=manager, action="commission_rejected", obj=commission, reason="Own order")

    page = client.get(reverse("audit_log:inspect", args=[event.pk])).content.decode()

    assert "Maria rejected Anna&#x27;s €30.08 commission for order #1042." in page
    assert "Own order" in page


def test_a_batch_history_reads_as_sentences(client, manager):
    manager.first_name = "Maria"
    manager.save()
    batch = PayoutBatchFactory(total_amount=3008, payout_count=1)
    audit(actor=manager, action="batch_built", obj=batch, total=3008, payouts=1)
    payout = paid_payout(manager, batch, "Anna", 3008)

    page = client.get(reverse("payouts:inspect", args=[batch.pk])).content.decode()

    assert f"Maria built payout batch #{batch.pk} (€30.08) with 1 payout." in page
    assert f"Maria marked payout #{payout.pk} (€30.08 to Anna) as paid." in page
    assert "batch_built" not in page.split('id="history-heading"')[1]
