"""How a payout reaches an advocate. A backend's send() returns a reference or raises
PayoutError; it is called with the same payout (same idempotency key) again after a crash."""

import stripe

from referrals.models import Payout, PayoutBatch


class PayoutError(Exception):
    """The payment was refused; the reason is shown to the manager and the advocate."""


class ManualBackend:
    """The manager pays from the bank or PayPal using the batch's CSV, then marks payouts paid."""

    def send(self, payout: Payout) -> str:
        raise PayoutError("Manual payouts are marked paid by a manager after the bank transfer.")

    def find_sent(self, payout: Payout) -> str:
        return ""


class StripeConnectBackend:
    """A Transfer to the advocate's stored Express account, keyed by the payout's id.

    An account whose payouts Stripe has not enabled (onboarding unfinished, details due) gets
    no transfer: the payout fails with the reason and its amount returns to the balance. Unless
    a transfer for this payout already exists, which happens when a worker died after sending
    it: then that transfer is the result, so money sent is never released a second time.
    """

    def send(self, payout: Payout) -> str:
        from referrals.stripe import client as stripe_api

        advocate = payout.advocate
        # The account fixed when the batch was approved; execution holds a payout whose
        # advocate connected another account since (payouts.destination).
        account = payout.destination_account
        if not account:
            raise PayoutError("The advocate had not connected a Stripe account when approved.")
        if not advocate.stripe_payouts_enabled:
            sent = self.find_sent(payout)
            if sent:
                return sent
            due = len(advocate.stripe_requirements_due or [])
            raise PayoutError(
                "Stripe has not enabled payouts on the advocate's account yet"
                + (f" ({due} detail{'s' if due != 1 else ''} still due)." if due else ".")
            )
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

    @staticmethod
    def find_sent(payout: Payout) -> str:
        """The id of a transfer already made for this payout, or "": Stripe can't search
        transfers by idempotency key or metadata, so the advocate's account's transfers are
        listed and matched on the payout id every transfer carries in its metadata. Network
        errors and 5xx propagate (nothing is known)."""
        from referrals.stripe import client as stripe_api

        try:
            account = payout.destination_account or payout.advocate.stripe_account_id
            for transfer in stripe_api.transfers_to(account):
                if (transfer.get("metadata") or {}).get("payout_id") == str(payout.pk):
                    return transfer["id"]
        except stripe_api.StripeUnavailable as exc:
            raise PayoutError(str(exc)) from exc
        return ""


_BACKENDS = {
    PayoutBatch.Backend.MANUAL: ManualBackend,
    PayoutBatch.Backend.STRIPE_CONNECT: StripeConnectBackend,
}


def get_backend(name: str):
    return _BACKENDS[name]()
