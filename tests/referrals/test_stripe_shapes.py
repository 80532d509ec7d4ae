"""Stripe as Stripe really sends it (issue #15): payloads built from Stripe's published example
objects (tests/fixtures/stripe), in the API versions the webhook supports: 2024-06-20 (LEGACY)
and 2025-03-31.basil on (CURRENT). Where Stripe must be asked, tests/fakes/stripe_server.py
answers as Stripe does (refunds list, invoices with their discounts, invoice payments)."""

import pytest

from referrals.models import Commission, FraudSignal, LedgerEntry, Order, WebhookEvent
from referrals.stripe.events import stripe_event_record, stripe_event_replay
from tests.fixtures import stripe as fx

pytestmark = pytest.mark.django_db

both_shapes = pytest.mark.parametrize("shape", fx.SHAPES)


@pytest.fixture
def deliver(django_capture_on_commit_callbacks):
    """Store a (verified) event and apply it as the task does; the stored event, refreshed."""

    def _deliver(event: dict) -> WebhookEvent:
        with django_capture_on_commit_callbacks(execute=True):
            stored, _ = stripe_event_record(event)
        stored.refresh_from_db()
        return stored

    return _deliver


@pytest.fixture
def replay(django_capture_on_commit_callbacks):
    def _replay(stored: WebhookEvent) -> WebhookEvent:
        with django_capture_on_commit_callbacks(execute=True):
            return stripe_event_replay(stored.pk)

    return _replay


def reversals(order: Order) -> list[int]:
    return sorted(
        LedgerEntry.objects.filter(
            commission__order=order, kind=LedgerEntry.Kind.REVERSED
        ).values_list("amount", flat=True)
    )


def processed(stored: WebhookEvent) -> bool:
    assert stored.status == WebhookEvent.Status.PROCESSED, stored.error
    return True


def paid_by_card(deliver, rep_code, *, shape, amount=10_000):
    """A one-off payment with the rep code in its metadata: (PaymentIntent, its charge id)."""
    pi = fx.payment_intent(amount=amount, metadata={"rep_code": rep_code.code}, shape=shape)
    assert processed(deliver(fx.event("payment_intent.succeeded", pi, api_version=shape)))
    return pi, pi["latest_charge"]


# 1. Refunds in the current shape ---------------------------------------------------------------


@both_shapes
def test_refund_events_record_each_refund_once_and_charge_refunded_adds_nothing(
    deliver, rep_code, shape
):
    pi, charge_id = paid_by_card(deliver, rep_code, shape=shape)
    first = fx.refund(amount=3_000, charge=charge_id, payment_intent=pi["id"], status="pending")
    second = fx.refund(amount=2_000, charge=charge_id, payment_intent=pi["id"])

    # Pending: nothing went back yet, nothing is reversed until Stripe says succeeded.
    assert deliver(fx.event("refund.created", first, api_version=shape)).status == "ignored"
    assert processed(
        deliver(fx.event("refund.updated", {**first, "status": "succeeded"}, api_version=shape))
    )
    # The current charge.refunded: no refund list, only the cumulative amount; no Stripe key set.
    refunded = fx.charge(
        charge_id, amount=10_000, payment_intent=pi["id"], amount_refunded=3_000, shape=shape
    )
    assert processed(deliver(fx.event("charge.refunded", refunded, api_version=shape)))
    assert processed(deliver(fx.event("charge.refund.updated", second, api_version=shape)))

    order = Order.objects.get()
    assert sorted(order.refunds.values_list("external_id", "amount")) == sorted(
        [(first["id"], 3_000), (second["id"], 2_000)]
    )
    assert reversals(order) == [-300, -200]
    assert order.status == Order.Status.PARTIALLY_REFUNDED


def test_charge_refunded_without_a_list_lists_the_refunds_from_stripe_once(
    deliver, rep_code, fake_stripe
):
    pi, charge_id = paid_by_card(deliver, rep_code, shape=fx.CURRENT)
    older = fake_stripe.add_object(fx.refund(amount=3_000, charge=charge_id, created=100))
    newer = fake_stripe.add_object(fx.refund(amount=2_000, charge=charge_id, created=200))
    refunded = fx.charge(charge_id, amount=10_000, payment_intent=pi["id"], amount_refunded=5_000)

    assert processed(deliver(fx.event("charge.refunded", refunded)))
    assert processed(deliver(fx.event("refund.created", newer)))  # the same refund, again

    order = Order.objects.get()
    assert sorted(order.refunds.values_list("external_id", flat=True)) == sorted(
        [older["id"], newer["id"]]
    )
    assert reversals(order) == [-300, -200]
    assert len(fake_stripe.requests_to("GET", "/v1/refunds")) == 1


def test_the_embedded_refund_list_and_the_refund_event_reverse_the_same_refund_once(
    deliver, rep_code
):
    pi, charge_id = paid_by_card(deliver, rep_code, shape=fx.LEGACY)
    refund = fx.refund(amount=10_000, charge=charge_id, payment_intent=pi["id"])
    refunded = fx.charge(
        charge_id,
        amount=10_000,
        payment_intent=pi["id"],
        amount_refunded=10_000,
        embedded_refunds=[refund],
        shape=fx.LEGACY,
    )

    assert processed(deliver(fx.event("charge.refunded", refunded, api_version=fx.LEGACY)))
    assert processed(deliver(fx.event("refund.created", refund, api_version=fx.LEGACY)))

    order = Order.objects.get()
    assert order.refunds.count() == 1
    assert order.status == Order.Status.REFUNDED
    assert reversals(order) == [-1_000]


def test_stripe_down_fails_charge_refunded_for_a_replay_and_the_refund_event_records_it(
    deliver, replay, rep_code, fake_stripe
):
    pi, charge_id = paid_by_card(deliver, rep_code, shape=fx.CURRENT)
    refund = fx.refund(amount=4_000, charge=charge_id)  # Stripe's example: no PaymentIntent
    fake_stripe.fail_next("GET", "/v1/refunds", should_retry=False)
    refunded = fx.charge(charge_id, amount=10_000, payment_intent=pi["id"], amount_refunded=4_000)

    failed = deliver(fx.event("charge.refunded", refunded))

    assert failed.status == WebhookEvent.Status.FAILED
    assert failed.error.startswith("stripe_unavailable")
    assert processed(deliver(fx.event("refund.created", refund)))
    assert processed(replay(failed))  # the refund event covered it: Stripe isn't asked again
    assert len(fake_stripe.requests_to("GET", "/v1/refunds")) == 1
    assert reversals(Order.objects.get()) == [-400]


# 2. Subscription refunds and disputes land on the invoice's order ------------------------------


def subscription_paid(deliver, rep_code, *, shape, reason="subscription_create", fake=None):
    """A subscription invoice paid by a PaymentIntent, with the events Stripe sends for it in
    `shape`: (invoice, PaymentIntent, charge id)."""
    charge_id = fx.new_id("ch")
    pi = fx.payment_intent(amount=2_000, charge=charge_id, metadata={}, shape=shape)
    invoice = fx.invoice(
        subscription="sub_fx",
        amount_paid=2_000,
        billing_reason=reason,
        metadata={"rep_code": rep_code.code},
        payment_intent=pi["id"],
        charge=charge_id,
        shape=shape,
    )
    if shape == fx.LEGACY:
        pi["invoice"] = invoice["id"]
        events = [fx.event("payment_intent.succeeded", pi, api_version=shape)]
    else:
        payment = fx.invoice_payment(invoice=invoice["id"], payment_intent=pi["id"], amount=2_000)
        events = [
            fx.event("payment_intent.succeeded", pi, api_version=shape),
            fx.event("invoice_payment.paid", payment, api_version=shape),
        ]
        if fake is not None:
            fake.add_object(payment)
    events.append(fx.event("invoice.paid", invoice, api_version=shape))
    for event in events:
        assert processed(deliver(event))
    return invoice, pi, charge_id


@both_shapes
def test_a_subscription_refund_reverses_the_invoice_orders_commission(
    deliver, rep_code, programme, fake_stripe, shape
):
    programme.advocate_recurring_months = 3
    programme.save(update_fields=["advocate_recurring_months"])
    first, _, _ = subscription_paid(deliver, rep_code, shape=shape, fake=fake_stripe)
    renewal, pi, charge_id = subscription_paid(
        deliver, rep_code, shape=shape, reason="subscription_cycle", fake=fake_stripe
    )
    refund = fx.refund(amount=2_000, charge=charge_id, payment_intent=pi["id"])

    assert processed(deliver(fx.event("refund.created", refund, api_version=shape)))

    assert Order.objects.count() == 2
    renewed = Order.objects.get(external_id=renewal["id"])
    assert renewed.status == Order.Status.REFUNDED
    assert renewed.commissions.get().status == Commission.Status.REVERSED
    assert Order.objects.get(external_id=first["id"]).commissions.get().status == "pending"


@both_shapes
def test_a_subscription_dispute_freezes_the_invoice_orders_commission(
    deliver, rep_code, fake_stripe, shape
):
    invoice, pi, charge_id = subscription_paid(deliver, rep_code, shape=shape, fake=fake_stripe)
    dispute = fx.dispute(charge=charge_id, payment_intent=pi["id"], amount=2_000)

    assert processed(deliver(fx.event("charge.dispute.created", dispute, api_version=shape)))

    order = Order.objects.get()
    assert order.external_id == invoice["id"]
    assert order.commissions.get().frozen


def test_a_basil_subscription_refund_before_any_link_asks_stripe_which_invoice(
    deliver, rep_code, fake_stripe
):
    invoice = fx.invoice(
        subscription="sub_fx", amount_paid=2_000, metadata={"rep_code": rep_code.code}
    )
    pi_id = fx.new_id("pi")
    payment = fx.invoice_payment(invoice=invoice["id"], payment_intent=pi_id, amount=2_000)
    fake_stripe.add_object(payment)
    assert processed(deliver(fx.event("invoice.paid", invoice)))
    refund = fx.refund(amount=500, charge=fx.new_id("ch"), payment_intent=pi_id)

    assert processed(deliver(fx.event("refund.created", refund)))

    assert reversals(Order.objects.get(external_id=invoice["id"])) == [-50]


# 3. A subscription's payment_intent.succeeded makes no second order ----------------------------


@both_shapes
@pytest.mark.parametrize("payment_first", [True, False], ids=["payment-first", "invoice-first"])
def test_a_subscription_payment_intent_makes_no_second_order(
    deliver, rep_code, fake_stripe, shape, payment_first
):
    charge_id = fx.new_id("ch")
    pi = fx.payment_intent(amount=2_000, charge=charge_id, metadata={}, shape=shape)
    invoice = fx.invoice(
        subscription="sub_fx",
        amount_paid=2_000,
        metadata={"rep_code": rep_code.code},
        payment_intent=pi["id"],
        charge=charge_id,
        shape=shape,
    )
    if shape == fx.LEGACY:
        pi["invoice"] = invoice["id"]
    else:  # basil: only Stripe's invoice payments say which invoice the PaymentIntent paid
        fake_stripe.add_object(
            fx.invoice_payment(invoice=invoice["id"], payment_intent=pi["id"], amount=2_000)
        )
    events = [
        fx.event("payment_intent.succeeded", pi, api_version=shape),
        fx.event("invoice.paid", invoice, api_version=shape),
    ]
    for event in events if payment_first else reversed(events):
        assert processed(deliver(event))

    order = Order.objects.get()
    assert order.external_id == invoice["id"]
    assert order.rep_code == rep_code
    assert Commission.objects.count() == 1


def test_stripe_down_fails_a_basil_payment_intent_until_its_invoice_can_be_asked(
    deliver, replay, rep_code, fake_stripe
):
    pi = fx.payment_intent(amount=2_000, metadata={})
    invoice_id = fx.new_id("in")
    payment = fx.invoice_payment(invoice=invoice_id, payment_intent=pi["id"], amount=2_000)
    fake_stripe.add_object(payment)
    fake_stripe.fail_next("GET", "/v1/invoice_payments", should_retry=False)

    failed = deliver(fx.event("payment_intent.succeeded", pi))

    assert failed.status == WebhookEvent.Status.FAILED
    assert failed.error.startswith("stripe_unavailable")
    assert processed(replay(failed))
    assert not Order.objects.exists()  # the invoice's own invoice.paid records it


# 4. Promotion codes on invoices: discounts are ids ---------------------------------------------


@both_shapes
def test_an_invoice_discount_id_attributes_through_its_promotion_code(
    deliver, rep_code, fake_stripe, shape
):
    rep_code.stripe_promotion_code_id = fx.new_id("promo")
    rep_code.save(update_fields=["stripe_promotion_code_id"])
    discount = fake_stripe.add_object(fx.discount(promotion_code=rep_code.stripe_promotion_code_id))
    invoice = fake_stripe.add_object(
        fx.invoice(
            subscription="sub_fx",
            amount_paid=1_600,
            discount=400,
            discounts=[discount["id"]],
            shape=shape,
        )
    )

    assert processed(deliver(fx.event("invoice.paid", invoice, api_version=shape)))

    order = Order.objects.get()
    assert (order.rep_code, order.attribution) == (rep_code, "code")
    assert order.commissions.get().amount == 160


def test_a_promotion_code_unknown_by_id_attributes_by_its_text(deliver, rep_code, fake_stripe):
    promotion = fake_stripe.add_object(fx.promotion_code(code=rep_code.code.lower()))
    discount = fake_stripe.add_object(fx.discount(promotion_code=promotion["id"]))
    invoice = fake_stripe.add_object(
        fx.invoice(subscription="sub_fx", amount_paid=1_600, discounts=[discount["id"]])
    )

    assert processed(deliver(fx.event("invoice.paid", invoice)))

    assert Order.objects.get().rep_code == rep_code


def test_stripe_down_fails_the_invoice_for_a_replay_that_attributes_it(
    deliver, replay, rep_code, fake_stripe
):
    rep_code.stripe_promotion_code_id = fx.new_id("promo")
    rep_code.save(update_fields=["stripe_promotion_code_id"])
    discount = fake_stripe.add_object(fx.discount(promotion_code=rep_code.stripe_promotion_code_id))
    invoice = fake_stripe.add_object(
        fx.invoice(subscription="sub_fx", amount_paid=1_600, discounts=[discount["id"]])
    )
    fake_stripe.fail_next("GET", f"/v1/invoices/{invoice['id']}", should_retry=False)

    failed = deliver(fx.event("invoice.paid", invoice))

    assert failed.status == WebhookEvent.Status.FAILED
    assert failed.error.startswith("stripe_unavailable")
    assert not Order.objects.exists()
    assert processed(replay(failed))
    assert Order.objects.get().rep_code == rep_code


# 5. Out of order: the session that carries the code attributes the order ------------------------


def session_for(pi: dict, rep_code, **fields) -> dict:
    return fx.checkout_session(
        payment_intent=pi["id"],
        amount_total=pi["amount"],
        client_reference_id=rep_code.code,
        **fields,
    )


@both_shapes
@pytest.mark.parametrize("payment_first", [True, False], ids=["payment-first", "session-first"])
def test_payment_and_session_in_either_order_give_one_attributed_order(
    deliver, rep_code, shape, payment_first
):
    pi = fx.payment_intent(amount=9_000, metadata={}, email=None, shape=shape)
    session = session_for(pi, rep_code, discount=2_000, tax=1_000)
    events = [
        fx.event("payment_intent.succeeded", pi, api_version=shape),
        fx.event("checkout.session.completed", session, api_version=shape),
    ]

    for event in events if payment_first else reversed(events):
        assert processed(deliver(event))

    order = Order.objects.get()
    assert (order.external_id, order.rep_code, order.attribution) == (
        pi["id"],
        rep_code,
        "metadata",
    )
    assert (order.gross_amount, order.discount_amount, order.tax_amount) == (10_000, 2_000, 1_000)
    assert order.commissions.get().amount == 800
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.EARNED).count() == 1


def test_a_late_attribution_gets_the_reversals_of_refunds_recorded_before_it(deliver, rep_code):
    pi = fx.payment_intent(amount=10_000, metadata={})
    refund = fx.refund(amount=2_500, charge=pi["latest_charge"], payment_intent=pi["id"])

    assert processed(deliver(fx.event("payment_intent.succeeded", pi)))
    assert processed(deliver(fx.event("refund.created", refund)))
    assert processed(deliver(fx.event("checkout.session.completed", session_for(pi, rep_code))))

    order = Order.objects.get()
    assert order.commissions.get().amount == 1_000
    assert reversals(order) == [-250]


def test_an_attributed_order_is_never_attributed_again(deliver, rep_code, other_rep_code):
    pi = fx.payment_intent(amount=10_000, metadata={"rep_code": rep_code.code})

    assert processed(deliver(fx.event("payment_intent.succeeded", pi)))
    assert processed(
        deliver(fx.event("checkout.session.completed", session_for(pi, other_rep_code)))
    )

    order = Order.objects.get()
    assert order.rep_code == rep_code
    assert order.commissions.get().advocate == rep_code.advocate


# 6. Disputes and refunds on Charges-API payments (no PaymentIntent) ---------------------------


@both_shapes
def test_a_dispute_on_a_charges_api_payment_finds_its_order(deliver, rep_code, shape):
    charge = fx.charge(
        amount=10_000,
        payment_intent=None,
        metadata={"rep_code": rep_code.code},
        email="buyer@example.org",
        shape=shape,
    )
    dispute = fx.dispute(charge=charge["id"], amount=10_000)  # Stripe's example: no PI
    assert dispute["payment_intent"] is None

    assert processed(deliver(fx.event("charge.succeeded", charge, api_version=shape)))
    assert processed(deliver(fx.event("charge.dispute.created", dispute, api_version=shape)))
    assert Commission.objects.get().frozen
    lost = {**dispute, "status": "lost"}
    assert processed(deliver(fx.event("charge.dispute.closed", lost, api_version=shape)))

    order = Order.objects.get()
    assert order.external_id == charge["id"]
    assert order.commissions.get().status == Commission.Status.REVERSED
    assert reversals(order) == [-1_000]


def test_a_charge_of_a_payment_intent_only_links_to_its_order(deliver, rep_code):
    pi, charge_id = paid_by_card(deliver, rep_code, shape=fx.CURRENT)
    charge = fx.charge(charge_id, amount=10_000, payment_intent=pi["id"])

    assert processed(deliver(fx.event("charge.succeeded", charge)))
    dispute = fx.dispute(charge=charge_id, amount=10_000)
    assert processed(deliver(fx.event("charge.dispute.funds_withdrawn", dispute)))

    assert Order.objects.count() == 1
    assert Commission.objects.get().frozen


# 7. A paid order whose shopper had used the one-use offer ---------------------------------------


def test_a_paid_session_with_a_used_offer_is_recorded_flagged_and_earns_nothing(
    deliver, rep_code, programme
):
    assert programme.shopper_one_use
    first, second = (fx.payment_intent(amount=8_000, metadata={}) for _ in range(2))
    for pi in (first, second):
        session = session_for(pi, rep_code, discount=2_000, email="again@example.com")
        assert processed(deliver(fx.event("checkout.session.completed", session)))

    again = Order.objects.get(external_id=second["id"])
    assert (again.net_amount, again.rep_code, again.advocate) == (8_000, rep_code, None)
    assert not again.commissions.exists()
    assert again.fraud_signals.get().kind == FraudSignal.Kind.OFFER_REUSED
    assert Order.objects.get(external_id=first["id"]).commissions.count() == 1


# Smaller ---------------------------------------------------------------------------------------


def test_funds_reinstated_is_ignored_with_the_reason(deliver, rep_code):
    pi, charge_id = paid_by_card(deliver, rep_code, shape=fx.CURRENT)
    dispute = fx.dispute(charge=charge_id, amount=10_000, status="won")

    stored = deliver(fx.event("charge.dispute.funds_reinstated", dispute))

    assert stored.status == WebhookEvent.Status.IGNORED
    assert "charge.dispute.closed" in stored.error


def test_a_dispute_closed_then_updated_stays_closed(deliver, rep_code):
    pi, charge_id = paid_by_card(deliver, rep_code, shape=fx.CURRENT)
    dispute = fx.dispute(charge=charge_id, payment_intent=pi["id"], amount=10_000)

    assert processed(deliver(fx.event("charge.dispute.closed", {**dispute, "status": "won"})))
    assert processed(deliver(fx.event("charge.dispute.updated", dispute)))

    commission = Commission.objects.get()
    assert not commission.frozen
    assert commission.status == Commission.Status.PENDING


@both_shapes
def test_a_pending_refund_that_fails_reverses_nothing(deliver, rep_code, shape):
    """Money goes back only when Stripe says succeeded: a pending refund may still fail, and
    the shop then keeps the sale and the advocate the commission."""
    pi, charge_id = paid_by_card(deliver, rep_code, shape=shape)
    pending = fx.refund(amount=3_000, charge=charge_id, payment_intent=pi["id"], status="pending")

    assert deliver(fx.event("refund.created", pending, api_version=shape)).status == "ignored"
    failed = {**pending, "status": "failed"}
    assert deliver(fx.event("refund.updated", failed, api_version=shape)).status == "ignored"

    order = Order.objects.get()
    assert not order.refunds.exists()
    assert reversals(order) == []
    assert order.commissions.get().status == "pending"


@both_shapes
def test_a_pending_refund_is_reversed_once_when_it_succeeds(deliver, rep_code, shape):
    pi, charge_id = paid_by_card(deliver, rep_code, shape=shape)
    pending = fx.refund(amount=3_000, charge=charge_id, payment_intent=pi["id"], status="pending")
    deliver(fx.event("refund.created", pending, api_version=shape))
    succeeded = {**pending, "status": "succeeded"}

    assert processed(deliver(fx.event("refund.updated", succeeded, api_version=shape)))

    assert reversals(Order.objects.get()) == [-300]


def test_a_refund_in_another_currency_than_the_order_reverses_nothing(deliver, rep_code):
    """A USD refund on a EUR order is refused, not taken as EUR cents."""
    pi, charge_id = paid_by_card(deliver, rep_code, shape=fx.CURRENT)
    usd = {**fx.refund(amount=3_000, charge=charge_id, payment_intent=pi["id"]), "currency": "usd"}

    event = deliver(fx.event("refund.created", usd))

    assert event.status == "failed"
    assert "EUR" in event.error
    assert "usd" in event.error
    assert reversals(Order.objects.get()) == []
