"""The referral engine's models, one module per sub-domain, re-exported here so that
`from referrals.models import Order` keeps working and Django finds every model.

Money is integer minor units with the currency beside it; every rule that must survive a race
is a database constraint (see each module).
"""

from referrals.models.api import ApiKey, IdempotencyKey
from referrals.models.audit import AuditEvent
from referrals.models.clicks import Click, ClickDaily, ReferredAccount
from referrals.models.commissions import (
    Adjustment,
    AppendOnlyQuerySet,
    Commission,
    LedgerEntry,
)
from referrals.models.orders import (
    Attribution,
    DiscountRedemption,
    Dispute,
    FraudSignal,
    Order,
    Refund,
)
from referrals.models.payouts import Payout, PayoutBatch
from referrals.models.stores import Store
from referrals.models.stripe import StripeLink, WebhookEvent

__all__ = [
    "Store",
    "Click",
    "ClickDaily",
    "ReferredAccount",
    "Attribution",
    "Order",
    "DiscountRedemption",
    "FraudSignal",
    "Refund",
    "Dispute",
    "Commission",
    "AppendOnlyQuerySet",
    "LedgerEntry",
    "Adjustment",
    "PayoutBatch",
    "Payout",
    "AuditEvent",
    "ApiKey",
    "IdempotencyKey",
    "WebhookEvent",
    "StripeLink",
]
