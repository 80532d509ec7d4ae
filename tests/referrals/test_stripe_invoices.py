"""invoice.paid: subscriptions. The first paid invoice is an order attributed like any other; its
renewals follow it and earn a recurring commission for the programme's months, then nothing.
Events arrive twice, late or out of order and leave the same ledger."""

import itertools
import time
from datetime import UTC, datetime

import pytest

from referrals.models import Commission, LedgerEntry, Order, WebhookEvent
from referrals.services.commissions import add_months
from referrals.stripe.events import stripe_event_record, stripe_event_replay

pytestmark = pytest.mark.django_db

_ids = itertools.count(1)
START = datetime(2025, 1, 15, 10, 0, tzinfo=UTC)


@pytest.fixture
def programme(programme):
    programme.advocate_recurring_months = 3
    programme.save(update_fields=["advocate_recurring_months"])
    return programme


def invoice(
    *,
    at: datetime,
    reason: str = "subscription_cycle",
    subscription: str = "sub_1",
    code: str = "",
    paid: int = 2_000,
    discount: int = 0,
    tax: int = 0,
    email: str = "subscriber@example.net",
    legacy: bool = False,
) -> dict:
    """An invoice as Stripe sends it: the current shape (subscription under parent, taxes in
    total_taxes), or with `legacy` the shape before API version 2025-03-31."""
    obj = {
        "id": f"in_{next(_ids)}",
        "object": "invoice",
        "amount_paid": paid,
        "billing_reason": reason,
        "created": int(at.timestamp()) - 3600,
        "currency": "eur",
        "customer": "cus_sub",
        "customer_email": email,
        "metadata": {},
        "status": "paid",
        "status_transitions": {"paid_at": int(at.timestamp())},
        "total_discount_amounts": [{"amount": discount, "discount": "di_1"}] if discount else [],
    }
    metadata = {"rep_code": code} if code else {}
    if legacy:
        obj.update(subscription=subscription, tax=tax, subscription_details={"metadata": metadata})
    else:
        obj["parent"] = {
            "type": "subscription_details",
            "subscription_details": {"subscription": subscription, "metadata": metadata},
        }
        obj["total_taxes"] = (
            [{"amount": tax, "tax_behavior": "exclusive", "taxability_reason": "standard_rated"}]
            if tax
            else []
        )
    return obj


def paid_event(obj: dict) -> dict:
    return {
        "id": f"evt_inv_{next(_ids)}",
        "object": "event",
        "type": "invoice.paid",
        "created": int(time.time()),
        "livemode": False,
        "data": {"object": obj},
    }


@pytest.fixture
def deliver(django_capture_on_commit_callbacks):
    def _deliver(event: dict) -> WebhookEvent:
        with django_capture_on_commit_callbacks(execute=True):
            stored, _ = stripe_event_record(event)
        stored.refresh_from_db()
        return stored

    return _deliver


def order_for(obj: dict) -> Order:
    return Order.objects.get(source="stripe", external_id=obj["id"])


def test_the_first_invoice_is_an_order_attributed_through_the_rep_code(deliver, rep_code):
    first = invoice(at=START, reason="subscription_create", code=rep_code.code, tax=380)

    stored = deliver(paid_event(first))

    assert stored.status == WebhookEvent.Status.PROCESSED
    order = order_for(first)
    assert order.subscription_id == "sub_1"
    assert order.rep_code == rep_code
    assert order.attribution == "metadata"
    assert order.placed_at == START
    # paid 20.00 with 3.80 exclusive tax: the base is 16.20
    assert (order.gross_amount, order.tax_amount, order.net_amount) == (1_620, 380, 1_620)
    [commission] = order.commissions.all()
    assert (commission.rule, commission.amount) == (Commission.Rule.SALE, 162)
    assert commission.advocate == rep_code.advocate


def test_renewals_within_the_programmes_months_earn_recurring_commissions_then_stop(
    deliver, rep_code
):
    first = invoice(at=START, reason="subscription_create", code=rep_code.code)
    renewals = [invoice(at=add_months(START, n)) for n in (1, 2, 3, 4)]

    for obj in [first, *renewals]:
        assert deliver(paid_event(obj)).status == WebhookEvent.Status.PROCESSED

    earning = [order_for(obj) for obj in renewals[:3]]
    for order in earning:
        [commission] = order.commissions.all()
        assert commission.rule == Commission.Rule.RECURRING
        assert commission.advocate == rep_code.advocate
        assert commission.amount == 200
        assert order.advocate == rep_code.advocate
        assert order.subscription_id == "sub_1"
    late = order_for(renewals[3])  # four months on: past the programme's three
    assert not late.commissions.exists()
    assert late.advocate is None
    assert late.subscription_id == "sub_1"
    earned = LedgerEntry.objects.filter(advocate=rep_code.advocate, kind=LedgerEntry.Kind.EARNED)
    assert sorted(e.amount for e in earned) == [200, 200, 200, 200]


def test_with_no_recurring_months_only_the_first_payment_earns(deliver, rep_code, programme):
    programme.advocate_recurring_months = 0
    programme.save(update_fields=["advocate_recurring_months"])
    first = invoice(at=START, reason="subscription_create", code=rep_code.code)
    renewal = invoice(at=add_months(START, 1))

    deliver(paid_event(first))
    deliver(paid_event(renewal))

    assert order_for(first).commissions.count() == 1
    assert not order_for(renewal).commissions.exists()


def test_an_unreferred_subscription_earns_nothing_on_renewals(deliver, rep_code):
    first = invoice(at=START, reason="subscription_create")
    renewal = invoice(at=add_months(START, 1))

    deliver(paid_event(first))
    stored = deliver(paid_event(renewal))

    assert stored.status == WebhookEvent.Status.PROCESSED
    assert not Commission.objects.exists()
    assert order_for(renewal).advocate is None


def test_duplicate_invoice_events_give_one_order_each(deliver, rep_code):
    first = invoice(at=START, reason="subscription_create", code=rep_code.code)
    renewal = invoice(at=add_months(START, 1))
    first_event = paid_event(first)

    deliver(first_event)
    deliver(first_event)  # Stripe's retry: the same event id
    deliver(paid_event(first))  # another event about the same invoice
    deliver(paid_event(renewal))
    deliver(paid_event(renewal))

    assert Order.objects.filter(subscription_id="sub_1").count() == 2
    assert Commission.objects.count() == 2
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.EARNED).count() == 2


def test_a_renewal_before_its_first_invoice_fails_and_replays_once_the_first_is_in(
    deliver, rep_code
):
    first = invoice(at=START, reason="subscription_create", code=rep_code.code)
    renewal = invoice(at=add_months(START, 1))

    early = deliver(paid_event(renewal))

    assert early.status == WebhookEvent.Status.FAILED
    assert early.error.startswith("subscription_first_order_missing: The first payment of")
    assert not Order.objects.exists()

    deliver(paid_event(first))
    replayed = stripe_event_replay(early.pk)

    assert replayed.status == WebhookEvent.Status.PROCESSED
    [commission] = order_for(renewal).commissions.all()
    assert commission.rule == Commission.Rule.RECURRING
    assert commission.advocate == rep_code.advocate


def test_a_free_invoice_makes_no_order(deliver, rep_code):
    trial = invoice(at=START, reason="subscription_create", code=rep_code.code, paid=0)

    stored = deliver(paid_event(trial))

    assert stored.status == WebhookEvent.Status.IGNORED
    assert stored.error == "Nothing was paid (a trial or a fully discounted invoice): no order."
    assert not Order.objects.exists()


def test_after_a_free_trial_the_first_paid_invoice_is_the_first_order(deliver, rep_code):
    deliver(paid_event(invoice(at=START, reason="subscription_create", code=rep_code.code, paid=0)))
    first_paid = invoice(at=add_months(START, 1), code=rep_code.code)
    renewal = invoice(at=add_months(START, 2))

    deliver(paid_event(first_paid))
    deliver(paid_event(renewal))

    assert order_for(first_paid).commissions.get().rule == Commission.Rule.SALE
    assert order_for(renewal).commissions.get().rule == Commission.Rule.RECURRING


def test_the_legacy_invoice_shape_is_read_the_same(deliver, rep_code):
    first = invoice(
        at=START, reason="subscription_create", code=rep_code.code, tax=380, legacy=True
    )
    renewal = invoice(at=add_months(START, 1), legacy=True, subscription="sub_1")

    deliver(paid_event(first))
    deliver(paid_event(renewal))

    order = order_for(first)
    assert (order.subscription_id, order.tax_amount, order.net_amount) == ("sub_1", 380, 1_620)
    assert order.rep_code == rep_code
    assert order_for(renewal).commissions.get().rule == Commission.Rule.RECURRING


def test_a_discounted_renewal_is_not_a_second_use_of_the_offer(deliver, rep_code, programme):
    assert programme.shopper_one_use
    first = invoice(at=START, reason="subscription_create", code=rep_code.code, discount=400)
    renewal = invoice(at=add_months(START, 1), discount=400)

    deliver(paid_event(first))
    stored = deliver(paid_event(renewal))

    assert stored.status == WebhookEvent.Status.PROCESSED
    order = order_for(renewal)
    assert (order.gross_amount, order.discount_amount, order.net_amount) == (2_400, 400, 2_000)
    assert order.commissions.get().amount == 200


def test_months_are_calendar_months_ending_on_the_last_day_when_shorter():
    assert add_months(datetime(2025, 1, 31, tzinfo=UTC), 1) == datetime(2025, 2, 28, tzinfo=UTC)
    assert add_months(datetime(2024, 11, 30, tzinfo=UTC), 3) == datetime(2025, 2, 28, tzinfo=UTC)
    assert add_months(datetime(2025, 3, 15, tzinfo=UTC), 12) == datetime(2026, 3, 15, tzinfo=UTC)
