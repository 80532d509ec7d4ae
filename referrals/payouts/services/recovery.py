"""Payouts stuck in `processing`: the worker committed the payout as processing, then died
around the backend call (or the task's retries ran out), so nobody knows whether the money
went out. Nobody may settle such a payout by hand (see `_refuse_in_flight`); this asks the
backend instead, for each payout processing longer than a threshold:

- a transfer for the payout exists (Stripe: one to the advocate's account whose metadata names
  the payout): the money went out, the payout is paid with that transfer as its reference;
- none exists and the advocate is banned or paused: nothing is sent, the payout fails and its
  money returns to their balance;
- none exists: the payout is executed again with the SAME idempotency key (it is the same
  payout), so a transfer Stripe made meanwhile is returned instead of a second one.

Each settled payout gets a `payout_recovered` audit row saying which. Stripe being unreachable
leaves the payout processing for the next run (beat: `referrals.tasks.payouts_recover_stuck`).
"""

import logging
from dataclasses import dataclass, field
from datetime import timedelta

import stripe
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from kernel.errors import ServiceError
from referrals.conf import app_settings
from referrals.models import Payout, PayoutBatch
from referrals.payouts.services.payouts import (
    _advocate_refusal,
    _payout_fail,
    _payout_paid,
    payout_execute,
)
from referrals.services.audit import audit

logger = logging.getLogger(__name__)


@dataclass
class RecoveryReport:
    checked: int = 0
    paid: int = 0  # the transfer had gone out
    retried: int = 0  # sent again with the same idempotency key
    failed: int = 0  # not sent: refused or failed (the money is back in the balance)
    unreachable: list[int] = field(default_factory=list)  # left processing for the next run


def payouts_stuck(*, older_than: timedelta, now=None):
    """Backend payouts committed as processing more than `older_than` ago (rows from before
    `processing_at` existed: by their creation)."""
    cutoff = (now or timezone.now()) - older_than
    return (
        Payout.objects.filter(status=Payout.Status.PROCESSING)
        .exclude(batch__backend=PayoutBatch.Backend.MANUAL)
        .filter(Q(processing_at__lt=cutoff) | Q(processing_at__isnull=True, created_at__lt=cutoff))
        .order_by("pk")
    )


def payout_recover_stuck(*, older_than: timedelta | None = None, now=None) -> RecoveryReport:
    """Settle every stuck payout from what the backend says (see the module docstring)."""
    from referrals.payouts.backends import PayoutError, get_backend

    if older_than is None:
        older_than = timedelta(minutes=app_settings.PAYOUT_STUCK_MINUTES)
    report = RecoveryReport()
    ids = list(payouts_stuck(older_than=older_than, now=now).values_list("pk", flat=True))
    for pk in ids:
        report.checked += 1
        payout = Payout.objects.select_related("batch", "advocate").get(pk=pk)
        try:
            sent = get_backend(payout.batch.backend).find_sent(payout)
        except (PayoutError, stripe.StripeError) as exc:
            logger.warning("stuck payout %s: the backend could not be asked: %s", pk, exc)
            report.unreachable.append(pk)
            continue
        outcome = _settle(pk, sent=sent)
        if outcome == "retry":
            try:
                payout = payout_execute(payout_id=pk)
            except (ServiceError, stripe.StripeError) as exc:
                logger.warning("stuck payout %s: sending again failed: %s", pk, exc)
                report.unreachable.append(pk)
                continue
            outcome = "retried" if payout.status == Payout.Status.PAID else payout.status
            audit(actor=None, action="payout_recovered", obj=payout, outcome=outcome)
        if outcome == "paid":
            report.paid += 1
        elif outcome == "retried":
            report.retried += 1
        elif outcome in ("failed", "refused"):
            report.failed += 1
    return report


@transaction.atomic
def _settle(pk: int, *, sent: str) -> str:
    """Under the payout's lock: paid when the transfer `sent` exists, failed when the advocate
    may not be paid, else "retry"; "" when someone settled it meanwhile."""
    payout = Payout.objects.select_for_update().select_related("batch", "advocate").get(pk=pk)
    if payout.status != Payout.Status.PROCESSING:
        return ""
    if sent:
        _payout_paid(payout, reference=sent, actor=None)
        audit(actor=None, action="payout_recovered", obj=payout, outcome="paid", reference=sent)
        return "paid"
    refusal = _advocate_refusal(payout, actor=None, operation="recover")
    if refusal is not None:
        _payout_fail(payout, refusal.message, actor=None)
        audit(actor=None, action="payout_recovered", obj=payout, outcome="refused")
        return "refused"
    return "retry"
