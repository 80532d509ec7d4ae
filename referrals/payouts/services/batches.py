"""A built batch's life: approval (permission, password, maybe a second manager), cancellation
(every reservation given back) and execution (one task per payout, or the manual CSV)."""

from django.db import transaction
from django.utils import timezone

from kernel.errors import ServiceError
from kernel.jobs import enqueue_on_commit
from referrals.conf import app_settings
from referrals.models import Payout, PayoutBatch
from referrals.payouts.bank_csv import BANK_FILE_FORMATS, bank_file_rows
from referrals.payouts.destination import destination_sql
from referrals.payouts.services.payouts import APPROVE_PERMISSION, _payout_hold, _payout_release
from referrals.payouts.services.transitions import payout_batch_transition, payout_transition
from referrals.services.audit import audit


def payout_dual_approval_limit(programme) -> int:
    """The batch total above which two managers must approve: the programme's own limit, or
    the site's default (STREETTEAM_PAYOUT_DUAL_APPROVAL_ABOVE) when it sets none, so a
    programme nobody configured is not paid on one approval whatever the amount."""
    return programme.dual_approval_above or app_settings.PAYOUT_DUAL_APPROVAL_ABOVE


def payout_batch_needs_second_approval(batch: PayoutBatch) -> bool:
    """Above the dual-approval limit a second, different manager must approve."""
    limit = payout_dual_approval_limit(batch.programme)
    return bool(limit) and batch.total_amount > limit


@transaction.atomic
def payout_batch_approve(*, batch_id: int, actor, password: str) -> PayoutBatch:
    """Approve a batch. Needs the payout permission and the approver's password; above the
    programme's limit a second, different manager who did not build the batch must approve too."""
    if not actor.has_perm(APPROVE_PERMISSION):
        raise ServiceError("permission_denied", "You don't have permission to approve payouts.")
    if not password or not actor.check_password(password):
        raise ServiceError("password_invalid", "That password is not right.", field="password")
    batch = PayoutBatch.objects.select_for_update().select_related("programme").get(pk=batch_id)
    if batch.status != PayoutBatch.Status.DRAFT:
        raise ServiceError("batch_not_draft", "This batch is not awaiting approval.")
    now = timezone.now()
    if batch.approved_by_id is None:
        update = {"approved_by": actor, "approved_at": now}
        if payout_batch_needs_second_approval(batch):
            # One approval of two: the batch stays a draft, and the approval is audited here.
            for name, value in update.items():
                setattr(batch, name, value)
            batch.save(update_fields=list(update))
            audit(actor=actor, action="batch_approved", obj=batch, total=batch.total_amount)
            return batch
        action = "batch_approved"
    else:
        if actor.pk in (batch.approved_by_id, batch.created_by_id):
            raise ServiceError(
                "second_approver_required",
                "A second manager, who neither built nor approved this batch, must approve it.",
            )
        update = {"second_approved_by": actor, "second_approved_at": now}
        action = "batch_second_approval"
    # What the approvers approved is where the money goes: fixed now, paid there later.
    batch.payouts.filter(status=Payout.Status.PENDING).update(
        destination_fixed_at=now, **destination_sql(batch.backend)
    )
    return payout_batch_transition(
        batch=batch,
        to=PayoutBatch.Status.APPROVED,
        actor=actor,
        action=action,
        update=update,
        total=batch.total_amount,
    )


@transaction.atomic
def payout_batch_cancel(*, batch_id: int, actor, reason: str) -> PayoutBatch:
    """Cancel a batch that was not approved yet: each of its payouts is cancelled, its
    reservation given back (a `payout_failed` credit, as for a failed payout) and its
    commissions freed, so the next batch pays the money once."""
    batch = PayoutBatch.objects.select_for_update().get(pk=batch_id)
    if batch.status != PayoutBatch.Status.DRAFT:
        raise ServiceError("batch_not_draft", "Only a batch awaiting approval can be cancelled.")
    why = f"Batch cancelled: {reason}"
    for payout in batch.payouts.select_for_update().order_by("pk"):
        payout_transition(
            payout=payout,
            to=Payout.Status.CANCELLED,
            actor=actor,
            reason=why,
            update={"failure_reason": why[:300]},
        )
        _payout_release(payout, reason=why, actor=actor)
    return payout_batch_transition(
        batch=batch, to=PayoutBatch.Status.CANCELLED, actor=actor, reason=reason
    )


@transaction.atomic
def payout_batch_execute(*, batch_id: int, actor) -> PayoutBatch:
    """Start paying an approved batch: one task per payout (stripe_connect), or wait for the
    manager's CSV upload and mark-paid (manual)."""
    if not actor.has_perm(APPROVE_PERMISSION):
        raise ServiceError("permission_denied", "You don't have permission to execute payouts.")
    batch = PayoutBatch.objects.select_for_update().get(pk=batch_id)
    if batch.status != PayoutBatch.Status.APPROVED:
        raise ServiceError("batch_not_approved", "Only an approved batch can be executed.")
    payout_batch_transition(
        batch=batch, to=PayoutBatch.Status.EXECUTING, actor=actor, action="batch_executed"
    )
    if batch.backend != PayoutBatch.Backend.MANUAL:
        ids = batch.payouts.filter(status=Payout.Status.PENDING).values_list("pk", flat=True)
        for pk in ids:
            enqueue_on_commit("referrals.tasks.payout_execute", pk)
    return batch


@transaction.atomic
def payout_batch_csv_export(
    *, batch_id: int, actor, file_format: str = "generic"
) -> list[list[str]]:
    """A manual batch's bank file (`bank_csv.bank_file_rows`) for a batch that was approved and
    released: our generic CSV (header first), PayPal Payouts' file (its PayPal payouts) or
    Wise's (its bank payouts). It holds full IBANs or emails, so it needs the payout permission
    and is audited (`batch_exported`, with the file and how many payouts it carries). A payout
    left out because its details changed after approval is held (`_payout_hold`: audited, and
    its advocate told by email)."""
    if not actor.has_perm(APPROVE_PERMISSION):
        raise ServiceError("permission_denied", "You don't have permission to export payouts.")
    if file_format not in BANK_FILE_FORMATS:
        raise ServiceError("file_format_invalid", f"Unknown payout file {file_format!r}.")
    batch = PayoutBatch.objects.get(pk=batch_id)
    if batch.backend != PayoutBatch.Backend.MANUAL or batch.status != PayoutBatch.Status.EXECUTING:
        raise ServiceError(
            "batch_not_exportable",
            "The CSV is for manual batches that were approved and released.",
        )
    held = []
    rows = bank_file_rows(batch, file_format, held=held)
    carried = len(rows) - (1 if BANK_FILE_FORMATS[file_format].header else 0)
    audit(actor=actor, action="batch_exported", obj=batch, payouts=carried, file=file_format)
    for payout in held:  # left out of the file: audited and the advocate told, once each
        _payout_hold(payout)
    return rows
