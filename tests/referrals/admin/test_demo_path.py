"""The demo path from the issue: in the admin, a manager takes a demo commission from pending to
paid with the manual backend and downloads the CSV."""

import csv
import io

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from advocacy.models import Advocate
from cms.management.commands.seed_demo import DEMO_PASSWORD
from referrals.models import AuditEvent, Commission, PayoutBatch

pytestmark = pytest.mark.django_db


def test_manager_takes_a_demo_commission_from_pending_to_paid(client):
    call_command("seed_demo", "--quiet")
    assert client.login(email="manager@example.com", password=DEMO_PASSWORD)
    # The demo leaves big commissions past their hold pending: the queue's "ready for review".
    commission = Commission.objects.get(order__external_id="demo-1009")
    assert commission.status == "pending"
    assert commission.hold_until < timezone.now()
    Advocate.objects.filter(user__email="anna@example.com").update(
        payout_method=Advocate.PayoutMethod.PAYPAL, payout_details={"email": "anna@example.com"}
    )

    queue = client.get(reverse("commissions:index"), {"ready": "true"})
    assert commission in queue.context["object_list"]
    client.post(
        reverse("commissions:decide"),
        {"action": "approve", "commissions": [commission.pk], "reason": "Hold over, no returns"},
    )
    assert Commission.objects.get(pk=commission.pk).status == "approved"

    programme = commission.advocate.programme
    built = client.post(reverse("payouts:build"), {"programme": programme.pk, "backend": "manual"})
    batch = PayoutBatch.objects.get()
    assert built["Location"] == reverse("payouts:inspect", args=[batch.pk])
    assert client.get(built["Location"]).status_code == 200
    client.post(reverse("payouts:approve", args=[batch.pk]), {"password": DEMO_PASSWORD})
    client.post(reverse("payouts:execute", args=[batch.pk]))

    export = client.get(reverse("payouts:csv", args=[batch.pk]))
    rows = list(csv.DictReader(io.StringIO(export.content.decode())))
    payout = batch.payouts.get(advocate=commission.advocate)
    assert [row["payout_id"] for row in rows] == [str(payout.pk)]  # Ben is under the threshold
    assert rows[0]["email"] == "anna@example.com"
    assert rows[0]["payout_method"] == "paypal"
    assert rows[0]["account"] == "anna@example.com"
    assert rows[0]["amount"] == f"{payout.amount // 100}.{payout.amount % 100:02d}"

    client.post(reverse("payouts:payout_paid", args=[payout.pk]), {"reference": "PAYPAL-7781"})

    assert Commission.objects.get(pk=commission.pk).status == "paid"
    assert PayoutBatch.objects.get().status == "done"
    trail = AuditEvent.objects.filter(object_type="commission", object_id=commission.pk)
    assert list(trail.order_by("id").values_list("action", "actor__email")) == [
        ("commission_approved", "manager@example.com"),
        ("commission_paid", "manager@example.com"),
    ]
