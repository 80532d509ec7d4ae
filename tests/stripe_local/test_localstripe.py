"""Stripe end to end against localstripe: the project's own `stripe` client pays and refunds on a
stateful fake Stripe, which signs its events and delivers them over HTTP to the live server; the
webhook stores each once, the task applies it, and the database shows the result.

localstripe delivers each event about a second after the call that caused it, so the tests wait
for the database to show the outcome (with a deadline) before the next call: one event in flight
at a time, because the live server and the test share one in-memory SQLite connection.
"""

import json
import time

import pytest

from referrals.models import Attribution, Commission, LedgerEntry, Order, WebhookEvent
from referrals.stripe.events import stripe_event_replay

pytestmark = pytest.mark.django_db(transaction=True)

SHOPPER_EMAIL = "shopper@example.net"


def wait_for(check, what: str, seconds: float = 20):
    """check()'s first truthy answer; fail if none comes before the deadline."""
    deadline = time.monotonic() + seconds
    while not (result := check()):
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {seconds} s", pytrace=False)
        time.sleep(0.05)
    return result


def pay(stripe_client, *, amount: int, code: str = ""):
    """A shopper pays `amount` euro cents by card, with the rep code in the metadata if given."""
    customer = stripe_client.v1.customers.create(params={"email": SHOPPER_EMAIL})
    metadata = {"email": SHOPPER_EMAIL, **({"rep_code": code} if code else {})}
    intent = stripe_client.v1.payment_intents.create(
        params={
            "amount": amount,
            "currency": "eur",
            "customer": customer.id,
            "payment_method": "pm_card_visa",
            "confirm": True,
            "metadata": metadata,
        }
    )
    assert intent.status == "succeeded"
    return intent


def refund(stripe_client, intent, amount: int):
    return stripe_client.v1.refunds.create(params={"payment_intent": intent.id, "amount": amount})


def events_about(object_id: str) -> list[WebhookEvent]:
    """Stored events about `object_id` (a PaymentIntent or a charge), oldest first."""
    return [
        event
        for event in WebhookEvent.objects.order_by("pk")
        if event.payload["data"]["object"]["id"] == object_id
    ]


def settled(object_id: str, count: int) -> list[WebhookEvent]:
    """Wait until `count` events about the object have arrived and been applied (or failed)."""

    def check():
        events = events_about(object_id)
        applied = [e for e in events if e.status != WebhookEvent.Status.RECEIVED]
        return events if len(applied) == count else None

    return wait_for(check, f"{count} applied event(s) about {object_id}")


def ledger(order: Order) -> list[tuple[str, int]]:
    """The order's ledger entries as (kind, amount), oldest first."""
    return list(
        LedgerEntry.objects.filter(commission__order=order)
        .order_by("pk")
        .values_list("kind", "amount")
    )


def test_a_paid_intent_with_a_rep_code_earns_a_pending_commission_and_refunds_reverse_it(
    rep_code, stripe_local
):
    # Typed in lower case by the merchant: codes match whatever the case.
    intent = pay(stripe_local, amount=12_345, code=rep_code.code.lower())

    [paid] = settled(intent.id, 1)
    assert (paid.type, paid.status) == ("payment_intent.succeeded", WebhookEvent.Status.PROCESSED)
    order = Order.objects.get(source=Order.Source.STRIPE, external_id=intent.id)
    assert (order.currency, order.attribution, order.rep_code) == (
        "EUR",
        Attribution.METADATA,
        rep_code,
    )
    assert order.gross_amount == order.net_amount == 12_345
    assert order.shopper_customer_id == intent.customer
    commission = order.commissions.get()
    # 10% of 12,345 is 1,234.5: half-up gives 1,235.
    assert (commission.advocate, commission.amount) == (rep_code.advocate, 1_235)
    assert commission.status == Commission.Status.PENDING
    assert ledger(order) == [(LedgerEntry.Kind.EARNED, 1_235)]

    first = refund(stripe_local, intent, 2_345)

    [refunded] = settled(first.charge, 1)
    charge = refunded.payload["data"]["object"]
    # Stripe's current shape: no embedded refunds, so the handler listed them from localstripe.
    assert (refunded.type, "refunds" in charge) == ("charge.refunded", False)
    assert refunded.status == WebhookEvent.Status.PROCESSED
    order.refresh_from_db()
    assert list(order.refunds.values_list("external_id", "amount")) == [(first.id, 2_345)]
    assert order.status == Order.Status.PARTIALLY_REFUNDED
    # 1,235 x 2,345 / 12,345 = 234.59...: 235 goes back.
    assert ledger(order)[1:] == [(LedgerEntry.Kind.REVERSED, -235)]

    rest = refund(stripe_local, intent, 10_000)

    events = settled(first.charge, 2)
    # amount_refunded is cumulative (12,345 now); each refund counts once, by its own amount.
    assert events[1].payload["data"]["object"]["amount_refunded"] == 12_345
    assert [event.status for event in events] == [WebhookEvent.Status.PROCESSED] * 2
    order.refresh_from_db()
    commission.refresh_from_db()
    assert sorted(order.refunds.values_list("external_id", "amount")) == sorted(
        [(first.id, 2_345), (rest.id, 10_000)]
    )
    assert order.status == Order.Status.REFUNDED
    assert commission.status == Commission.Status.REVERSED
    assert ledger(order) == [
        (LedgerEntry.Kind.EARNED, 1_235),
        (LedgerEntry.Kind.REVERSED, -235),
        (LedgerEntry.Kind.REVERSED, -1_000),
    ]


def test_a_payment_without_a_rep_code_is_recorded_and_earns_nothing(rep_code, stripe_local):
    intent = pay(stripe_local, amount=5_000)

    [event] = settled(intent.id, 1)

    assert event.status == WebhookEvent.Status.PROCESSED
    order = Order.objects.get(external_id=intent.id)
    assert order.gross_amount == 5_000
    assert (order.attribution, order.rep_code, order.advocate) == (Attribution.NONE, None, None)
    assert not Commission.objects.exists()
    assert not LedgerEntry.objects.exists()


def test_a_delivery_received_twice_changes_nothing(rep_code, stripe_local, deliver):
    intent = pay(stripe_local, amount=8_000, code=rep_code.code)
    [event] = settled(intent.id, 1)
    order = Order.objects.get(external_id=intent.id)
    before = ledger(order)

    # Stripe retries with the same event, signed anew.
    status, answer = deliver(json.dumps(event.payload).encode())

    assert (status, answer["duplicate"], answer["status"]) == (200, True, "processed")
    event.refresh_from_db()
    assert event.attempts == 1
    assert Order.objects.count() == Commission.objects.count() == 1
    assert ledger(order) == before == [(LedgerEntry.Kind.EARNED, 800)]


def test_late_and_out_of_order_events_give_the_same_ledger_as_in_order_ones(
    rep_code, stripe_local, outage, deliver
):
    # 10,000 earns 1,000; these refunds split it at exactly half a cent (234.5 + 765.5), so the
    # ledger depends on which refund is recorded first: it must be the one made first.
    in_order = pay(stripe_local, amount=10_000, code=rep_code.code)
    settled(in_order.id, 1)
    charge = refund(stripe_local, in_order, 2_345).charge
    settled(charge, 1)
    refund(stripe_local, in_order, 7_655)
    settled(charge, 2)
    expected = ledger(Order.objects.get(external_id=in_order.id))
    assert expected == [
        (LedgerEntry.Kind.EARNED, 1_000),
        (LedgerEntry.Kind.REVERSED, -235),
        (LedgerEntry.Kind.REVERSED, -765),
    ]

    # Our endpoint is down while the shopper pays: the payment event waits at Stripe.
    with outage() as refused:
        late = pay(stripe_local, amount=10_000, code=rep_code.code)
        late_payment = refused.next_event()
    # Back up for the first refund, whose event arrives before its payment's and fails.
    charge = refund(stripe_local, late, 2_345).charge
    [early_refund] = settled(charge, 1)
    assert early_refund.status == WebhookEvent.Status.FAILED
    assert early_refund.error.startswith("order_not_found")
    # Down again for the second refund.
    with outage() as refused:
        refund(stripe_local, late, 7_655)
        late_second_refund = refused.next_event()

    # Stripe delivers the payment at last; the failed refund event is replayed (the remedy for
    # an event that came before its order); then the second refund's event comes, late, twice.
    assert deliver(late_payment)[0] == 200
    replayed = stripe_event_replay(early_refund.pk)
    first_try = deliver(late_second_refund)
    second_try = deliver(late_second_refund)

    assert replayed.status == WebhookEvent.Status.PROCESSED
    assert (first_try[0], first_try[1]["duplicate"]) == (200, False)
    assert (second_try[0], second_try[1]["duplicate"]) == (200, True)
    events = events_about(late.id) + events_about(charge)
    assert [event.status for event in events] == [WebhookEvent.Status.PROCESSED] * 3
    late_order = Order.objects.get(external_id=late.id)
    assert late_order.status == Order.Status.REFUNDED
    assert ledger(late_order) == expected
