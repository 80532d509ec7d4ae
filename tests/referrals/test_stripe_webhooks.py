"""The Stripe webhook: signed fixtures built here (Stripe's v1 scheme: HMAC-SHA256 over
f"{timestamp}.{body}"), posted to /stripe/webhook/, applied by the task on commit."""

import hashlib
import hmac
import itertools
import json
import time

import pytest
import stripe

from referrals.models import Commission, LedgerEntry, Order, WebhookEvent
from referrals.stripe.events import stripe_event_replay

pytestmark = pytest.mark.django_db

URL = "/stripe/webhook/"
SECRET = "whsec_test_streetteam"
_ids = itertools.count(1)


@pytest.fixture(autouse=True)
def _webhook_secret(settings):
    settings.STRIPE_WEBHOOK_SECRETS = [SECRET]


def sign(body: str, secret: str = SECRET, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def event(type_: str, obj: dict, *, event_id: str | None = None) -> dict:
    return {
        "id": event_id or f"evt_{next(_ids)}",
        "object": "event",
        "type": type_,
        "livemode": False,
        "created": int(time.time()),
        "data": {"object": obj},
    }


def payment_intent(pi_id="pi_1", *, amount=10_000, code="", email="shopper@example.com", **meta):
    metadata = {"rep_code": code} if code else {}
    metadata.update({k: str(v) for k, v in meta.items()})
    return {
        "id": pi_id,
        "object": "payment_intent",
        "amount": amount,
        "amount_received": amount,
        "currency": "eur",
        "status": "succeeded",
        "metadata": metadata,
        "receipt_email": email,
        "customer": "cus_1",
        "created": int(time.time()),
    }


def charge(pi_id: str, refunds: list[tuple[str, int]]) -> dict:
    return {
        "id": "ch_1",
        "object": "charge",
        "payment_intent": pi_id,
        "amount": 10_000,
        "amount_refunded": sum(amount for _, amount in refunds),
        "refunds": {
            "object": "list",
            "data": [
                {"id": rid, "object": "refund", "amount": amount, "status": "succeeded"}
                for rid, amount in refunds
            ],
        },
    }


def post(client, payload: dict, *, secret: str = SECRET, timestamp: int | None = None):
    body = json.dumps(payload)
    return client.post(
        URL,
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(body, secret, timestamp),
    )


def deliver(client, capture, payload: dict, **kwargs):
    with capture(execute=True):
        response = post(client, payload, **kwargs)
    assert response.status_code == 200, response.content
    return response


def reversals(order: Order) -> list[int]:
    return sorted(
        entry.amount
        for entry in LedgerEntry.objects.filter(
            commission__order=order, kind=LedgerEntry.Kind.REVERSED
        )
    )


def test_payment_intent_succeeded_creates_one_order_and_pending_commission(
    client, django_capture_on_commit_callbacks, rep_code
):
    payload = event("payment_intent.succeeded", payment_intent(code=rep_code.code))

    first = deliver(client, django_capture_on_commit_callbacks, payload)
    second = deliver(client, django_capture_on_commit_callbacks, payload)

    order = Order.objects.get()
    assert (order.source, order.external_id, order.currency) == ("stripe", "pi_1", "EUR")
    assert order.gross_amount == order.net_amount == 10_000
    assert order.rep_code == rep_code
    [commission] = order.commissions.all()
    assert commission.status == Commission.Status.PENDING
    assert commission.advocate == rep_code.advocate
    assert first.json()["duplicate"] is False
    assert second.json()["duplicate"] is True
    stored = WebhookEvent.objects.get()
    assert stored.stripe_id == payload["id"]
    assert stored.status == WebhookEvent.Status.PROCESSED
    assert stored.attempts == 1


def test_metadata_discount_gives_gross_before_discount(
    client, django_capture_on_commit_callbacks, rep_code
):
    payload = event(
        "payment_intent.succeeded",
        payment_intent(amount=8_000, code=rep_code.code, discount_amount=2_000),
    )

    deliver(client, django_capture_on_commit_callbacks, payload)

    order = Order.objects.get()
    assert (order.gross_amount, order.discount_amount, order.net_amount) == (10_000, 2_000, 8_000)


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda body, ts: sign(body, "whsec_forged", ts), id="forged"),
        pytest.param(lambda body, ts: sign(body + " ", SECRET, ts), id="other-body"),
        pytest.param(lambda body, ts: sign(body, SECRET, ts - 301), id="stale"),
        pytest.param(lambda body, ts: f"t={ts}", id="no-signature"),
        pytest.param(lambda body, ts: "", id="missing"),
    ],
)
def test_bad_signature_is_refused_and_nothing_stored(
    client, django_capture_on_commit_callbacks, rep_code, tamper
):
    body = json.dumps(event("payment_intent.succeeded", payment_intent(code=rep_code.code)))

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            URL,
            data=body,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=tamper(body, int(time.time())),
        )

    assert response.status_code == 400
    assert "error" in response.json()
    assert not WebhookEvent.objects.exists()
    assert not Order.objects.exists()


def test_timestamp_within_tolerance_is_accepted(client, django_capture_on_commit_callbacks):
    payload = event("customer.created", {"id": "cus_1"})

    deliver(client, django_capture_on_commit_callbacks, payload, timestamp=int(time.time()) - 250)

    assert WebhookEvent.objects.count() == 1


def test_a_rotated_second_secret_also_works(
    client, django_capture_on_commit_callbacks, settings, rep_code
):
    settings.STRIPE_WEBHOOK_SECRETS = ["whsec_old", "whsec_new"]

    deliver(
        client,
        django_capture_on_commit_callbacks,
        event("payment_intent.succeeded", payment_intent(code=rep_code.code)),
        secret="whsec_new",
    )

    assert Order.objects.count() == 1


def test_not_configured_answers_503(client, settings):
    settings.STRIPE_WEBHOOK_SECRETS = []

    response = post(client, event("payment_intent.succeeded", payment_intent()))

    assert response.status_code == 503
    assert response.json() == {"error": "Stripe webhooks are not configured."}
    assert not WebhookEvent.objects.exists()


def test_get_is_not_allowed(client):
    assert client.get(URL).status_code == 405


def test_checkout_session_then_payment_intent_is_one_order(
    client, django_capture_on_commit_callbacks, rep_code
):
    session = {
        "id": "cs_test_1",
        "object": "checkout.session",
        "mode": "payment",
        "payment_status": "paid",
        "payment_intent": "pi_1",
        "amount_total": 9_000,
        "currency": "eur",
        "client_reference_id": rep_code.code,
        "metadata": {},
        "total_details": {"amount_discount": 2_000, "amount_tax": 1_000, "amount_shipping": 0},
        "customer_details": {"email": "shopper@example.com"},
        "created": int(time.time()),
    }

    deliver(
        client, django_capture_on_commit_callbacks, event("checkout.session.completed", session)
    )
    deliver(
        client,
        django_capture_on_commit_callbacks,
        event("payment_intent.succeeded", payment_intent(amount=9_000, code=rep_code.code)),
    )

    order = Order.objects.get()
    assert order.external_id == "pi_1"
    assert (order.gross_amount, order.discount_amount, order.net_amount) == (10_000, 2_000, 8_000)
    assert order.tax_amount == 1_000
    assert order.rep_code == rep_code
    assert order.commissions.count() == 1
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {"processed"}


def test_each_refund_reversed_by_its_own_amount_never_the_cumulative_one(
    client, django_capture_on_commit_callbacks, rep_code
):
    deliver(
        client,
        django_capture_on_commit_callbacks,
        event("payment_intent.succeeded", payment_intent(code=rep_code.code)),
    )
    first = event("charge.refunded", charge("pi_1", [("re_1", 3_000)]))
    # Stripe lists the newest refund first; amount_refunded is now 5_000 (cumulative).
    second = event("charge.refunded", charge("pi_1", [("re_2", 2_000), ("re_1", 3_000)]))

    deliver(client, django_capture_on_commit_callbacks, first)
    deliver(client, django_capture_on_commit_callbacks, second)
    deliver(client, django_capture_on_commit_callbacks, second)

    order = Order.objects.get()
    assert sorted(order.refunds.values_list("amount", flat=True)) == [2_000, 3_000]
    assert reversals(order) == [-300, -200]
    assert order.status == Order.Status.PARTIALLY_REFUNDED
    assert WebhookEvent.objects.filter(type="charge.refunded").count() == 2


def test_refund_before_its_payment_fails_then_replay_applies_it(
    client, django_capture_on_commit_callbacks, rep_code
):
    refund = event("charge.refunded", charge("pi_1", [("re_1", 10_000)]))

    deliver(client, django_capture_on_commit_callbacks, refund)

    stored = WebhookEvent.objects.get(stripe_id=refund["id"])
    assert stored.status == WebhookEvent.Status.FAILED
    assert "order_not_found" in stored.error
    assert "pi_1" in stored.error

    deliver(
        client,
        django_capture_on_commit_callbacks,
        event("payment_intent.succeeded", payment_intent(code=rep_code.code)),
    )
    order = Order.objects.get()
    assert not order.refunds.exists()  # the payment event doesn't apply the earlier refund

    with django_capture_on_commit_callbacks(execute=True):
        stored = stripe_event_replay(stored.pk)
        again = stripe_event_replay(stored.pk)

    order.refresh_from_db()
    assert stored.status == again.status == WebhookEvent.Status.PROCESSED
    assert stored.error == ""
    assert stored.attempts == 2
    assert order.status == Order.Status.REFUNDED
    assert reversals(order) == [-1_000]
    assert order.commissions.get().status == Commission.Status.REVERSED


def test_dispute_created_then_lost_reverses_the_commission(
    client, django_capture_on_commit_callbacks, rep_code
):
    deliver(
        client,
        django_capture_on_commit_callbacks,
        event("payment_intent.succeeded", payment_intent(code=rep_code.code)),
    )
    dispute = {"id": "dp_1", "object": "dispute", "charge": "ch_1", "payment_intent": "pi_1"}

    deliver(
        client,
        django_capture_on_commit_callbacks,
        event("charge.dispute.created", {**dispute, "status": "needs_response"}),
    )
    commission = Commission.objects.get()
    assert commission.frozen

    deliver(
        client,
        django_capture_on_commit_callbacks,
        event("charge.dispute.closed", {**dispute, "status": "lost"}),
    )

    commission.refresh_from_db()
    assert commission.status == Commission.Status.REVERSED
    assert not commission.frozen
    assert reversals(commission.order) == [-1_000]


def test_dispute_won_restores_the_commission(client, django_capture_on_commit_callbacks, rep_code):
    deliver(
        client,
        django_capture_on_commit_callbacks,
        event("payment_intent.succeeded", payment_intent(code=rep_code.code)),
    )
    dispute = {"id": "dp_1", "object": "dispute", "charge": "ch_1", "payment_intent": "pi_1"}
    deliver(
        client,
        django_capture_on_commit_callbacks,
        event("charge.dispute.created", {**dispute, "status": "needs_response"}),
    )
    deliver(
        client,
        django_capture_on_commit_callbacks,
        event("charge.dispute.closed", {**dispute, "status": "won"}),
    )

    commission = Commission.objects.get()
    assert commission.status == Commission.Status.PENDING
    assert not commission.frozen
    assert reversals(commission.order) == []


def test_unknown_type_is_stored_and_ignored(client, django_capture_on_commit_callbacks):
    payload = event("customer.subscription.updated", {"id": "sub_1"})

    response = deliver(client, django_capture_on_commit_callbacks, payload)

    stored = WebhookEvent.objects.get()
    assert response.json()["status"] == "ignored"
    assert stored.status == WebhookEvent.Status.IGNORED
    assert stored.payload == payload
    assert stored.processed_at is not None


def test_currency_mismatch_fails_the_event_without_a_500(
    client, django_capture_on_commit_callbacks, rep_code
):
    pi = {**payment_intent(code=rep_code.code), "currency": "usd"}

    deliver(client, django_capture_on_commit_callbacks, event("payment_intent.succeeded", pi))

    stored = WebhookEvent.objects.get()
    assert stored.status == WebhookEvent.Status.FAILED
    assert stored.error.startswith("currency_mismatch")
    assert not Order.objects.exists()


def test_malformed_payload_fails_the_event(client, django_capture_on_commit_callbacks):
    pi = {"id": "pi_1", "currency": "eur", "amount_received": "lots"}

    deliver(client, django_capture_on_commit_callbacks, event("payment_intent.succeeded", pi))

    stored = WebhookEvent.objects.get()
    assert stored.status == WebhookEvent.Status.FAILED
    assert stored.error.startswith("amount_invalid")


def test_no_csrf_token_is_needed(django_capture_on_commit_callbacks):
    from django.test import Client

    deliver(
        Client(enforce_csrf_checks=True),
        django_capture_on_commit_callbacks,
        event("customer.created", {"id": "cus_1"}),
    )

    assert WebhookEvent.objects.count() == 1


# Payload shapes: localstripe's, and Stripe's since API 2022-11-15 (no refunds on the charge) -----


def test_payment_intent_without_amount_received_counts_its_amount(
    client, django_capture_on_commit_callbacks, rep_code
):
    # localstripe sends no amount_received (nor receipt_email); the intent says it succeeded.
    pi = payment_intent(amount=12_345, code=rep_code.code, email="")
    del pi["amount_received"], pi["receipt_email"]

    deliver(client, django_capture_on_commit_callbacks, event("payment_intent.succeeded", pi))

    order = Order.objects.get()
    assert order.gross_amount == order.net_amount == 12_345
    assert order.commissions.get().amount == 1_235


def test_payment_intent_without_amount_received_that_did_not_succeed_fails(
    client, django_capture_on_commit_callbacks
):
    pi = {**payment_intent(), "status": "processing"}
    del pi["amount_received"]

    deliver(client, django_capture_on_commit_callbacks, event("payment_intent.succeeded", pi))

    assert WebhookEvent.objects.get().error.startswith("amount_invalid")
    assert not Order.objects.exists()


def _charge_without_refunds(pi_id: str, amount_refunded: int) -> dict:
    charge_ = charge(pi_id, [])
    del charge_["refunds"]
    return {**charge_, "amount_refunded": amount_refunded}


def test_charge_without_refunds_and_stripe_off_fails_with_the_reason(
    client, django_capture_on_commit_callbacks, settings, rep_code
):
    settings.STRIPE_SECRET_KEY = ""
    deliver(
        client,
        django_capture_on_commit_callbacks,
        event("payment_intent.succeeded", payment_intent(code=rep_code.code)),
    )
    refunded = event("charge.refunded", _charge_without_refunds("pi_1", 3_000))

    deliver(client, django_capture_on_commit_callbacks, refunded)

    stored = WebhookEvent.objects.get(stripe_id=refunded["id"])
    assert stored.status == WebhookEvent.Status.FAILED
    assert stored.error.startswith("refunds_missing")
    assert "STRIPE_SECRET_KEY" in stored.error
    assert not Order.objects.get().refunds.exists()


def test_charge_without_refunds_lists_them_from_stripe(
    client, django_capture_on_commit_callbacks, settings, monkeypatch, rep_code
):
    # At the Stripe edge only; tests/stripe_local runs the same path against localstripe.
    settings.STRIPE_SECRET_KEY = "sk_test_streetteam"
    asked = []

    def refunds_list(*, charge):
        asked.append(charge)
        return [{"id": "re_2", "amount": 2_000, "status": "succeeded", "created": 20},
                {"id": "re_1", "amount": 3_000, "status": "succeeded", "created": 10}]  # fmt: skip

    monkeypatch.setattr("referrals.stripe.client.refunds_list", refunds_list)
    deliver(
        client,
        django_capture_on_commit_callbacks,
        event("payment_intent.succeeded", payment_intent(code=rep_code.code)),
    )

    deliver(
        client,
        django_capture_on_commit_callbacks,
        event("charge.refunded", _charge_without_refunds("pi_1", 5_000)),
    )

    assert asked == ["ch_1"]
    order = Order.objects.get()
    assert sorted(order.refunds.values_list("external_id", "amount")) == [
        ("re_1", 3_000),
        ("re_2", 2_000),
    ]
    assert reversals(order) == [-300, -200]


def test_an_incomplete_embedded_refund_list_is_completed_from_stripe(
    client, django_capture_on_commit_callbacks, settings, monkeypatch, rep_code
):
    settings.STRIPE_SECRET_KEY = "sk_test_streetteam"
    every_refund = [{"id": f"re_{n}", "amount": 100, "status": "succeeded", "created": n}
                    for n in range(12, 0, -1)]  # fmt: skip
    monkeypatch.setattr("referrals.stripe.client.refunds_list", lambda *, charge: every_refund)
    deliver(
        client,
        django_capture_on_commit_callbacks,
        event("payment_intent.succeeded", payment_intent(code=rep_code.code)),
    )
    charge_ = charge("pi_1", [(r["id"], r["amount"]) for r in every_refund[:10]])
    charge_["refunds"]["has_more"] = True

    deliver(client, django_capture_on_commit_callbacks, event("charge.refunded", charge_))

    assert Order.objects.get().refunds.count() == 12


def test_stripe_failing_to_list_refunds_fails_the_event_for_a_replay(
    client, django_capture_on_commit_callbacks, settings, monkeypatch, rep_code
):
    settings.STRIPE_SECRET_KEY = "sk_test_streetteam"

    def unreachable(*, charge):
        raise stripe.APIConnectionError("Stripe is unreachable")

    monkeypatch.setattr("referrals.stripe.client.refunds_list", unreachable)
    deliver(
        client,
        django_capture_on_commit_callbacks,
        event("payment_intent.succeeded", payment_intent(code=rep_code.code)),
    )
    refunded = event("charge.refunded", _charge_without_refunds("pi_1", 10_000))

    deliver(client, django_capture_on_commit_callbacks, refunded)

    stored = WebhookEvent.objects.get(stripe_id=refunded["id"])
    assert stored.status == WebhookEvent.Status.FAILED
    assert stored.error.startswith("stripe_unavailable")
    assert not Order.objects.get().refunds.exists()

    monkeypatch.setattr(
        "referrals.stripe.client.refunds_list",
        lambda *, charge: [{"id": "re_1", "amount": 10_000, "status": "succeeded"}],
    )
    with django_capture_on_commit_callbacks(execute=True):
        stored = stripe_event_replay(stored.pk)

    assert stored.status == WebhookEvent.Status.PROCESSED
    assert reversals(Order.objects.get()) == [-1_000]


def test_refunds_are_recorded_oldest_first_whatever_order_the_list_gives(
    client, django_capture_on_commit_callbacks, rep_code
):
    # 1,000 commission on 10,000; 2,345 + 7,655 split it at exactly half a cent each
    # (234.5 + 765.5), so which refund is recorded first decides who takes the remainder.
    deliver(
        client,
        django_capture_on_commit_callbacks,
        event("payment_intent.succeeded", payment_intent(code=rep_code.code)),
    )
    charge_ = charge("pi_1", [("re_b", 7_655), ("re_a", 2_345)])  # Stripe: newest first
    charge_["refunds"]["data"][0]["created"] = 200
    charge_["refunds"]["data"][1]["created"] = 100

    deliver(client, django_capture_on_commit_callbacks, event("charge.refunded", charge_))

    order = Order.objects.get()
    entries = order.commissions.get().ledger.filter(kind=LedgerEntry.Kind.REVERSED)
    # re_a (the older) first: 235 by proportion; re_b completes the refund and takes the rest.
    assert list(entries.order_by("pk").values_list("amount", flat=True)) == [-235, -765]


@pytest.mark.django_db(transaction=True)
def test_the_answer_says_what_became_of_an_event_applied_at_once(client, rep_code):
    # Committed for real, as in production: the in-process task applies it at the commit.
    payload = event("payment_intent.succeeded", payment_intent(code=rep_code.code))

    response = post(client, payload)

    assert response.json() == {"received": True, "duplicate": False, "status": "processed"}


@pytest.mark.parametrize("offset", [-301, 301, 3600])
def test_timestamp_beyond_the_tolerance_either_way_is_refused(client, offset):
    """A capture signed for the future would stay replayable until then: refused like an old
    one."""
    response = post(
        client, event("customer.created", {"id": "cus_1"}), timestamp=int(time.time()) + offset
    )

    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()


def test_a_deeply_nested_signed_body_is_a_400_and_not_stored(client):
    body = '{"id": "evt_deep", "type": "customer.created", "data": ' + "[" * 100_000
    body += "]" * 100_000 + "}"

    response = client.post(
        URL, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=sign(body)
    )

    assert response.status_code == 400
    assert "error" in response.json()
    assert not WebhookEvent.objects.exists()
