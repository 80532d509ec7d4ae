"""The fake Stripe server keeps to what the real `stripe` client sends and expects."""

import pytest
import stripe

from referrals.stripe import client as stripe_api


def create(**params):
    options = {"idempotency_key": params.pop("key")} if "key" in params else {}
    params = {"amount": 500, "currency": "eur", "destination": "acct_1", **params}
    return stripe_api.client().v1.transfers.create(params=params, options=options)


def test_a_transfer_is_created_from_the_form_encoded_request_and_can_be_retrieved(fake_stripe):
    transfer = create(metadata={"payout_id": "7", "note": "a b&c"}, transfer_group="g1")

    assert isinstance(transfer, stripe.Transfer)
    assert (transfer.object, transfer.amount, transfer.currency) == ("transfer", 500, "eur")
    assert transfer.metadata.to_dict() == {"payout_id": "7", "note": "a b&c"}
    assert transfer.livemode is False
    [request] = fake_stripe.requests
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.params["metadata"] == {"payout_id": "7", "note": "a b&c"}
    assert request.idempotency_key  # the client sends one on every POST

    again = stripe_api.client().v1.transfers.retrieve(transfer.id)

    assert again.to_dict() == transfer.to_dict()


def test_an_unknown_transfer_is_stripes_resource_missing_error(fake_stripe):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        stripe_api.client().v1.transfers.retrieve("tr_nope")

    assert caught.value.http_status == 404
    assert caught.value.code == "resource_missing"


def test_a_bad_destination_is_refused_with_stripes_error_shape(fake_stripe):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        create(destination="acct_bad_1")

    assert caught.value.http_status == 400
    assert caught.value.json_body["error"] == {
        "type": "invalid_request_error",
        "message": "No such destination: 'acct_bad_1'",
        "code": "resource_missing",
        "doc_url": "https://stripe.com/docs/error-codes/resource-missing",
        "param": "destination",
    }
    assert fake_stripe.transfers == []


def test_a_missing_parameter_is_not_saved_under_the_idempotency_key(fake_stripe):
    with pytest.raises(stripe.InvalidRequestError, match="Missing required param: amount"):
        create(amount=None, key="k-1")

    assert create(key="k-1").amount == 500


def test_reusing_a_key_with_other_parameters_is_an_idempotency_error(fake_stripe):
    create(key="k-2")

    with pytest.raises(stripe.IdempotencyError):
        create(key="k-2", amount=600)

    assert len(fake_stripe.transfers) == 1


def test_a_request_without_a_secret_key_is_refused(fake_stripe, settings):
    settings.STRIPE_SECRET_KEY = "pk_test_publishable"

    with pytest.raises(stripe.AuthenticationError):
        create()


# Coupons, promotion codes and Checkout Sessions -----------------------------------------------


def coupon(**params):
    params = {"percent_off": "20", "duration": "once", **params}
    return stripe_api.client().v1.coupons.create(params=params)


def promotion(coupon_id: str, **params):
    params = {"promotion": {"type": "coupon", "coupon": coupon_id}, **params}
    return stripe_api.client().v1.promotion_codes.create(params=params)


def session(**params):
    line = {"price_data": {"currency": "eur", "unit_amount": 4999}, "quantity": 2}
    params = {"mode": "payment", "line_items": [line], **params}
    return stripe_api.client().v1.checkout.sessions.create(params=params)


def test_a_coupons_terms_are_fixed_and_only_its_name_and_metadata_change(fake_stripe):
    created = coupon(percent_off="12.5", name="Friends", metadata={"programme_id": "3"})

    assert isinstance(created, stripe.Coupon)
    assert (created.percent_off, created.amount_off, created.duration) == (12.5, None, "once")
    assert created.valid is True
    renamed = stripe_api.client().v1.coupons.update(
        created.id, params={"name": "Trail friends", "metadata": {"note": "x"}}
    )
    assert renamed.name == "Trail friends"
    assert renamed.metadata.to_dict() == {"programme_id": "3", "note": "x"}
    with pytest.raises(stripe.InvalidRequestError, match="Received unknown parameter: percent_off"):
        stripe_api.client().v1.coupons.update(created.id, params={"percent_off": "30"})


def test_an_amount_off_coupon_needs_a_currency_and_exactly_one_kind_of_discount(fake_stripe):
    with pytest.raises(stripe.InvalidRequestError, match="Missing required param: currency"):
        coupon(percent_off="", amount_off=500)
    with pytest.raises(stripe.InvalidRequestError, match="only specify one"):
        coupon(amount_off=500, currency="eur")

    fixed = coupon(percent_off="", amount_off=500, currency="EUR")

    assert (fixed.amount_off, fixed.currency, fixed.percent_off) == (500, "eur", None)


def test_a_promotion_code_names_its_coupon_as_promotion_in_the_pinned_api_version(fake_stripe):
    parent = coupon()

    created = promotion(parent.id, code="ANNA20", metadata={"rep_code_id": "1"})

    assert isinstance(created, stripe.PromotionCode)
    assert created.promotion.to_dict() == {"type": "coupon", "coupon": parent.id}
    assert (created.code, created.active, created.times_redeemed) == ("ANNA20", True, 0)
    [request] = fake_stripe.requests_to("POST", "/v1/promotion_codes")
    assert request.params["promotion"] == {"type": "coupon", "coupon": parent.id}
    # The pre-2025-09-30 spelling is refused, as Stripe refuses it on this API version.
    with pytest.raises(stripe.InvalidRequestError, match="unknown parameter: coupon"):
        stripe_api.client().v1.promotion_codes.create(params={"coupon": parent.id, "code": "X1"})
    with pytest.raises(stripe.InvalidRequestError, match="No such coupon: 'nope'"):
        promotion("nope", code="BEN10")


def test_a_code_text_is_unique_among_active_promotion_codes_whatever_its_case(fake_stripe):
    parent = coupon()
    first = promotion(parent.id, code="ANNA20")

    with pytest.raises(stripe.InvalidRequestError, match="already exists"):
        promotion(parent.id, code="anna20")
    stripe_api.client().v1.promotion_codes.update(first.id, params={"active": False})
    second = promotion(parent.id, code="anna20")
    with pytest.raises(stripe.InvalidRequestError, match="already exists"):
        stripe_api.client().v1.promotion_codes.update(first.id, params={"active": True})

    assert second.active is True
    assert [p["active"] for p in fake_stripe.promotion_codes] == [False, True]


def test_promotion_codes_are_listed_by_coupon_code_and_state_over_several_pages(fake_stripe):
    ours, other = coupon(), coupon()
    for n in range(12):
        promotion(ours.id, code=f"OURS{n}")
    promotion(other.id, code="OTHER")
    stripe_api.client().v1.promotion_codes.update(
        fake_stripe.promotion_codes[0]["id"], params={"active": False}
    )
    client = stripe_api.client().v1.promotion_codes

    by_coupon = client.list(params={"coupon": ours.id, "limit": 5})
    every = [p.code for p in by_coupon.auto_paging_iter()]
    by_code = client.list(params={"code": "ours3"}).data
    inactive = client.list(params={"active": False}).data

    assert (len(by_coupon.data), by_coupon.has_more) == (5, True)
    assert sorted(every) == sorted(f"OURS{n}" for n in range(12))
    assert [p.code for p in by_code] == ["OURS3"]
    assert [p.code for p in inactive] == ["OURS0"]


def test_a_checkout_session_applies_a_promotion_codes_coupon_and_breaks_it_down_on_request(
    fake_stripe,
):
    code = promotion(coupon(percent_off="15").id, code="ANNA15")

    created = session(discounts=[{"promotion_code": code.id}])
    expanded = stripe_api.client().v1.checkout.sessions.retrieve(
        created.id, params={"expand": ["total_details.breakdown", "discounts.promotion_code"]}
    )

    assert (created.amount_subtotal, created.amount_total) == (9998, 8498)
    assert created.total_details.amount_discount == 1500  # 15% of 99.98, to the cent
    assert "breakdown" not in created.total_details
    assert created.discounts[0].to_dict() == {
        "coupon": code.promotion.coupon,
        "promotion_code": code.id,
    }
    [entry] = expanded.total_details.breakdown.discounts
    assert entry.amount == 1500
    assert entry.discount.promotion_code == code.id
    assert entry.discount.source.to_dict() == {"type": "coupon", "coupon": code.promotion.coupon}
    assert expanded.discounts[0].promotion_code.code == "ANNA15"


def test_a_completed_session_is_paid_and_counts_the_redemption(fake_stripe):
    code = promotion(coupon().id, code="ANNA20")
    created = session(discounts=[{"promotion_code": code.id}], client_reference_id="ref-1")

    completed = fake_stripe.checkout_session_complete(created.id, email="friend@example.net")

    assert (completed["status"], completed["payment_status"]) == ("complete", "paid")
    assert completed["payment_intent"].startswith("pi_")
    assert completed["customer_details"]["email"] == "friend@example.net"
    assert completed["client_reference_id"] == "ref-1"
    assert fake_stripe.promotion_codes[0]["times_redeemed"] == 1
    assert fake_stripe.coupons[0]["times_redeemed"] == 1


def test_a_session_refuses_unknown_and_inactive_promotion_codes(fake_stripe):
    code = promotion(coupon().id, code="ANNA20")
    stripe_api.client().v1.promotion_codes.update(code.id, params={"active": False})

    with pytest.raises(stripe.InvalidRequestError) as unknown:
        session(discounts=[{"promotion_code": "promo_nope"}])
    with pytest.raises(stripe.InvalidRequestError, match="not active") as inactive:
        session(discounts=[{"promotion_code": code.id}])

    assert unknown.value.code == "resource_missing"
    assert unknown.value.param == "discounts[0][promotion_code]"
    assert inactive.value.param == "discounts[0][promotion_code]"
    assert fake_stripe.store.get("checkout.session", {}) == {}


def test_an_injected_outage_changes_nothing_and_is_not_replayed_for_its_key(fake_stripe):
    fake_stripe.fail_next("POST", "/v1/coupons", should_retry=False)
    options = {"idempotency_key": "coupon-1"}

    with pytest.raises(stripe.APIError):
        stripe_api.client().v1.coupons.create(params={"percent_off": "20"}, options=options)
    assert fake_stripe.coupons == []
    created = stripe_api.client().v1.coupons.create(params={"percent_off": "20"}, options=options)

    assert [c["id"] for c in fake_stripe.coupons] == [created.id]
    assert [r.status for r in fake_stripe.requests] == [500, 200]


# Connect accounts, account links, events and payment intents (Connect and reconciliation) ----


def test_an_express_account_starts_with_everything_due_and_can_be_moved_on(fake_stripe):
    account = stripe_api.client().v1.accounts.create(
        params={"type": "express", "country": "de", "email": "a@example.com"}
    )

    assert (account.object, account.type, account.country) == ("account", "express", "DE")
    assert account.details_submitted is False
    assert account.payouts_enabled is False
    assert "external_account" in account.requirements.currently_due
    event = fake_stripe.account_set_state(account.id)
    again = stripe_api.account_retrieve(account.id)
    assert again["payouts_enabled"] is True
    assert again["requirements"]["currently_due"] == []
    assert event["type"] == "account.updated"
    assert event["data"]["object"]["id"] == account.id


def test_an_account_link_needs_an_existing_account(fake_stripe):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        stripe_api.account_link_create(
            account_id="acct_nope", refresh_url="https://x/r", return_url="https://x/b"
        )

    assert caught.value.code == "resource_missing"
    assert fake_stripe.account_links == []


def test_events_are_listed_newest_first_by_type_and_paged(fake_stripe):
    old = fake_stripe.add_event("invoice.paid", {"id": "in_old"}, created=1_000)
    for n in range(5):
        fake_stripe.add_event("invoice.paid", {"id": f"in_{n}"}, created=2_000 + n)
    fake_stripe.add_event("customer.created", {"id": "cus_1"}, created=3_000)

    page = stripe_api.client().v1.events.list(
        params={"created": {"gte": 2_000}, "types": ["invoice.paid"], "limit": 2}
    )
    everything = list(page.auto_paging_iter())

    assert [e.data.object.id for e in page.data] == ["in_4", "in_3"]
    assert page.has_more is True
    assert [e.data.object.id for e in everything] == ["in_4", "in_3", "in_2", "in_1", "in_0"]
    assert old["id"] not in {e.id for e in everything}
    pages = fake_stripe.requests_to("GET", "/v1/events")
    assert pages[1].params["starting_after"] == page.data[-1].id
    wildcard = stripe_api.client().v1.events.list(params={"type": "customer.*"})
    assert [e.type for e in wildcard.data] == ["customer.created"]


def test_payment_intents_and_transfers_are_listed_with_their_filters(fake_stripe):
    paid = fake_stripe.add_payment_intent(amount=1_000, created=5_000)
    fake_stripe.add_payment_intent(amount=2_000, created=4_000)
    create(destination="acct_a", metadata={"payout_id": "1"})
    create(destination="acct_b")

    intents = list(stripe_api.payment_intents_since(created_gte=4_500))
    transfers = list(stripe_api.transfers_to("acct_a"))

    assert [pi["id"] for pi in intents] == [paid["id"]]
    assert intents[0]["status"] == "succeeded"
    assert [t["destination"] for t in transfers] == ["acct_a"]
