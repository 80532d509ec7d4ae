"""The fake Stripe server keeps to what the real `stripe` client sends and expects."""

import pytest
import stripe

from referrals import stripe_api


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
