"""Payout batches and their payouts: build (set-based SQL), approve (permission, password, maybe
a second manager), execute (one task per payout, at most once), fail and retry.

Reservation model: building a batch writes a `paid` ledger entry of -amount for every payout at
once, so the same money can't go into two batches; a failed payout writes `payout_failed`
+amount, restoring the balance. Execution re-checks that the advocate's payable balance is not
negative (a refund or dispute may have landed after the build): money paid never exceeds what
was earned minus what was reversed.

Approved is paid: a payout's destination is fixed when its batch is approved (`destination`),
and a retry pays the failed amount at most, so nothing leaves that the approvers (two above
the limit, `payout_dual_approval_limit`) did not see.

Exactly once: a payout moves pending -> processing in its own committed transaction before the
backend is called with an idempotency key derived from the payout id. A worker that dies after
the call but before recording the result leaves it `processing`; the retry calls the backend
again with the same key, which returns the same transfer instead of sending a second one.

Split by job: `build` (the set-based batch build), `batches` (approve, cancel, execute),
`payouts` (execute one payout, mark paid or failed, retry) and `transitions` (the only code that
changes a payout's or a batch's status, with its audit row) and `recovery` (payouts stuck in
processing, settled from what the backend says) and `schedule` (the payout schedule's daily
build). Import from this package.
"""

from referrals.payouts.services.batches import (
    payout_batch_approve,
    payout_batch_cancel,
    payout_batch_csv_export,
    payout_batch_execute,
    payout_batch_needs_second_approval,
    payout_dual_approval_limit,
)
from referrals.payouts.services.build import payout_batch_build
from referrals.payouts.services.payouts import (
    APPROVE_PERMISSION,
    payout_destination_confirm,
    payout_execute,
    payout_mark_failed,
    payout_mark_paid,
    payout_retry,
)
from referrals.payouts.services.recovery import RecoveryReport, payout_recover_stuck
from referrals.payouts.services.schedule import payout_schedule_run

__all__ = [
    "APPROVE_PERMISSION",
    "payout_batch_approve",
    "payout_batch_build",
    "payout_batch_cancel",
    "payout_batch_csv_export",
    "payout_batch_execute",
    "payout_batch_needs_second_approval",
    "payout_destination_confirm",
    "payout_dual_approval_limit",
    "payout_execute",
    "payout_mark_failed",
    "payout_mark_paid",
    "payout_recover_stuck",
    "payout_retry",
    "payout_schedule_run",
    "RecoveryReport",
]
