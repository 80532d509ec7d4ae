"""How a payout reaches an advocate. A backend's send() returns a reference or raises
PayoutError; it is called with the same payout (same idempotency key) again after a crash."""

import stripe

from .models import Payout, PayoutBatch


class PayoutError(Exception):
    """The payment was refused; the reason is shown to the manager and the advocate."""


class ManualBackend:
    """The manager pays from the bank or PayPal using the batch's CSV, then marks payouts paid."""

    def send(self, payout: Payout) -> str:
        raise PayoutError("Manual payouts are marked paid by a manager after the bank transfer.")


class StripeConnectBackend:
    def send(self, payout: Payout) -> str:
        from . import stripe_api

        account = payout.advocate.stripe_account_id
        if not account:
            raise PayoutError("The advocate has not connected a Stripe account.")
        try:
            return stripe_api.transfer_create(
                amount=payout.amount,
                currency=payout.currency,
                destination=account,
                idempotency_key=payout.idempotency_key,
                metadata={"payout_id": str(payout.pk), "batch_id": str(payout.batch_id)},
            )
        except stripe_api.StripeUnavailable as exc:
            raise PayoutError(str(exc)) from exc
        except stripe.InvalidRequestError as exc:
            raise PayoutError(exc.user_message or str(exc)) from exc
        # Network errors and 5xx propagate: the task retries with the same idempotency key.


_BACKENDS = {
    PayoutBatch.Backend.MANUAL: ManualBackend,
    PayoutBatch.Backend.STRIPE_CONNECT: StripeConnectBackend,
}


def get_backend(name: str):
    return _BACKENDS[name]()
