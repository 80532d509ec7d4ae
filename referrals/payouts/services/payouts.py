"""One payout: executed through its batch's backend at most once, marked paid or failed by hand
(manual backend), retried after a failure as a new payout of the failed amount at most, held
while the advocate's payout details differ from those fixed at approval (`destination`)."""

from django.db import transaction
from django.utils import timezone

from kernel.errors import ServiceError
from kernel.jobs import enqueue_on_commit
from referrals.ledger_selectors import payable_balance
from referrals.models import AuditEvent, Commission, LedgerEntry, Payout, PayoutBatch
from referrals.payouts.destination import destination_changed, destination_fixed, destination_now
from referrals.payouts.selectors import NOT_PAYABLE
from referrals.payouts.services.transitions import payout_batch_transition, payout_transition
from referrals.services.audit import audit
from referrals.services.commissions import commission_transition
from referrals.services.ledger import ledger_write

APPROVE_PERMISSION = "referrals.approve_payoutbatch"


def payout_execute(*, payout_id: int) -> Payout:
    """Pay one payout through its batch's backend, at most once (see the package docstring)."""
    from referrals.payouts.backends import PayoutError, get_backend

    refusal = None
    with transaction.atomic():
        payout = (
            Payout.objects.select_for_update().select_related("batch", "advocate").get(pk=payout_id)
        )
        _refuse_cancelled(payout)
        if payout.status in (Payout.Status.PAID, Payout.Status.FAILED):
            return payout
        if payout.batch.status != PayoutBatch.Status.EXECUTING:
            raise ServiceError("batch_not_executing", "The batch is not being paid.")
        in_flight_refused = payout.status == Payout.Status.PROCESSING and (
            payout.advocate.status in NOT_PAYABLE
        )
        if payout.status == Payout.Status.PENDING:
            refusal = _advocate_refusal(payout, actor=None, operation="execute")
            if refusal is not None:
                # Nothing was sent: the money goes back to the advocate's balance, where it
                # waits until they are active again.
                _payout_fail(payout, refusal.message, actor=None)
            elif destination_changed(payout, payout.batch.backend):
                # Not sent: the advocate's details changed after approval. It waits, pending,
                # for a manager to confirm the new details (payout_destination_confirm).
                _payout_hold(payout)
                return payout
            elif payable_balance(payout.advocate, payout.currency) < 0:
                _payout_fail(
                    payout,
                    "The balance fell after the batch was built (refund or "
                    "dispute); the rest goes into the next batch.",
                    actor=None,
                )
                return payout
            else:
                payout_transition(
                    payout=payout,
                    to=Payout.Status.PROCESSING,
                    update={"processing_at": timezone.now()},
                )
    if refusal is not None:
        raise refusal
    backend = get_backend(payout.batch.backend)
    if in_flight_refused:
        # A task retry (or a recovery) of a payout whose advocate was banned or paused since
        # the first call: only a transfer that already went out settles it; nothing new is sent.
        return _payout_settle_refused(payout_id, sent=backend.find_sent(payout))
    # Committed as processing: from here a crash is recovered by calling again with the same key.
    try:
        reference = backend.send(payout)
    except PayoutError as exc:
        with transaction.atomic():
            payout = Payout.objects.select_for_update().get(pk=payout_id)
            if payout.status == Payout.Status.PROCESSING:
                _payout_fail(payout, str(exc), actor=None)
        return payout
    with transaction.atomic():
        payout = Payout.objects.select_for_update().get(pk=payout_id)
        if payout.status == Payout.Status.PROCESSING:
            _payout_paid(payout, reference=reference, actor=None)
    return payout


@transaction.atomic
def _payout_settle_refused(payout_id: int, *, sent: str) -> Payout:
    """Under the lock, a processing payout whose advocate may not be paid: paid when the
    transfer `sent` had gone out before they were banned or paused, else failed with the
    refusal (audited) and its money back in their balance."""
    payout = (
        Payout.objects.select_for_update().select_related("batch", "advocate").get(pk=payout_id)
    )
    if payout.status != Payout.Status.PROCESSING:
        return payout
    if sent:
        _payout_paid(payout, reference=sent, actor=None)
        return payout
    refusal = _advocate_refusal(payout, actor=None, operation="execute")
    if refusal is not None:
        _payout_fail(payout, refusal.message, actor=None)
    return payout


def payout_mark_paid(*, payout_id: int, actor, reference: str = "") -> Payout:
    """Manual backend: the manager paid it through the bank or PayPal and says so."""
    if not actor.has_perm(APPROVE_PERMISSION):
        raise ServiceError("permission_denied", "You don't have permission to mark payouts paid.")
    with transaction.atomic():
        payout = (
            Payout.objects.select_for_update().select_related("batch", "advocate").get(pk=payout_id)
        )
        _refuse_cancelled(payout)
        if payout.status == Payout.Status.PAID:
            return payout
        _refuse_in_flight(payout)
        if (
            payout.status != Payout.Status.PENDING
            or payout.batch.status != PayoutBatch.Status.EXECUTING
        ):
            raise ServiceError("payout_not_payable", "This payout can't be marked paid now.")
        if payable_balance(payout.advocate, payout.currency) < 0:
            raise ServiceError(
                "balance_negative",
                "A refund or dispute reduced this advocate's balance after the batch was built; "
                "mark this payout failed and pay the rest in the next batch.",
            )
        if destination_changed(payout, payout.batch.backend):
            raise ServiceError(
                "destination_changed",
                "The advocate changed their payout details after this batch was approved: "
                "confirm the new details before paying.",
            )
        refusal = _advocate_refusal(payout, actor=actor, operation="mark_paid")
        if refusal is None:
            _payout_paid(payout, reference=reference, actor=actor)
            return payout
    raise refusal  # after the commit: the refusal's audit row stays


@transaction.atomic
def payout_mark_failed(*, payout_id: int, actor, reason: str) -> Payout:
    if not actor.has_perm(APPROVE_PERMISSION):
        raise ServiceError("permission_denied", "You don't have permission to change payouts.")
    payout = Payout.objects.select_for_update().select_related("batch").get(pk=payout_id)
    _refuse_cancelled(payout)
    if payout.status not in (Payout.Status.PENDING, Payout.Status.PROCESSING):
        raise ServiceError("payout_final", "This payout is already settled.")
    _refuse_in_flight(payout)
    _payout_fail(payout, reason, actor=actor)
    return payout


def payout_retry(*, payout_id: int, actor) -> Payout:
    """A failed payout, again: a new payout in the same batch for the failed amount (less if
    a refund took part of it since), to the destination the batch was approved with."""
    if not actor.has_perm(APPROVE_PERMISSION):
        raise ServiceError("permission_denied", "You don't have permission to retry payouts.")
    with transaction.atomic():
        failed = (
            Payout.objects.select_for_update().select_related("batch", "advocate").get(pk=payout_id)
        )
        _refuse_cancelled(failed)
        if failed.status != Payout.Status.FAILED:
            raise ServiceError("payout_not_failed", "Only a failed payout can be retried.")
        if Payout.objects.filter(retry_of=failed).exists():
            raise ServiceError("already_retried", "This payout was already retried.")
        refusal = _advocate_refusal(failed, actor=actor, operation="retry")
        if refusal is None:
            return _payout_retry_locked(failed, actor=actor)
    raise refusal  # after the commit: the refusal's audit row stays


def _payout_retry_locked(failed: Payout, *, actor) -> Payout:
    # What was approved, never more: the batch's approvers (two above the limit) saw the failed
    # amount, so a balance that grew since waits for the next batch and its own approval. Less
    # when a refund or dispute took part of it meanwhile.
    amount = min(failed.amount, payable_balance(failed.advocate, failed.currency))
    if amount <= 0:
        raise ServiceError("nothing_payable", "Nothing is payable to this advocate now.")
    batch = PayoutBatch.objects.select_for_update().get(pk=failed.batch_id)
    retry = Payout.objects.create(
        batch=batch,
        advocate=failed.advocate,
        currency=failed.currency,
        amount=amount,
        retry_of=failed,
        # The approved destination, like the amount: changed details hold the retry for review.
        destination_method=failed.destination_method,
        destination_account=failed.destination_account,
        destination_holder=failed.destination_holder,
        destination_fixed_at=failed.destination_fixed_at,
    )
    ledger_write(
        advocate_id=retry.advocate_id,
        currency=retry.currency,
        amount=-amount,
        kind=LedgerEntry.Kind.PAID,
        reference=f"payout:{retry.pk}",
        memo=f"Retry of payout {failed.pk}",
    )
    _link_commissions_up_to(retry)
    audit(actor=actor, action="payout_retried", obj=retry, retry_of=failed.pk)
    if batch.status == PayoutBatch.Status.DONE:
        payout_batch_transition(
            batch=batch,
            to=PayoutBatch.Status.EXECUTING,
            actor=actor,
            action="batch_reopened",
            reason=f"Retry of payout {failed.pk}",
        )
    if batch.backend != PayoutBatch.Backend.MANUAL:
        enqueue_on_commit("referrals.tasks.payout_execute", retry.pk)
    return retry


def payout_destination_confirm(*, payout_id: int, actor) -> Payout:
    """A manager with the payout permission confirms the details an advocate changed after
    approval: they become the payout's destination (audited with both, masked), and a Stripe
    payout is sent again."""
    if not actor.has_perm(APPROVE_PERMISSION):
        raise ServiceError("permission_denied", "You don't have permission to confirm payouts.")
    with transaction.atomic():
        payout = (
            Payout.objects.select_for_update().select_related("batch", "advocate").get(pk=payout_id)
        )
        _refuse_cancelled(payout)
        batch = payout.batch
        if payout.status != Payout.Status.PENDING or batch.status not in (
            PayoutBatch.Status.APPROVED,
            PayoutBatch.Status.EXECUTING,
        ):
            raise ServiceError("payout_not_pending", "Only a payout still to pay can be confirmed.")
        if not destination_changed(payout, batch.backend):
            raise ServiceError(
                "destination_unchanged", "The payout details have not changed since approval."
            )
        before, after = destination_fixed(payout), destination_now(payout.advocate, batch.backend)
        had_destination = payout.destination_fixed_at is not None
        if not after.account:
            raise ServiceError(
                "destination_missing",
                "The advocate has no payout details now: nothing to confirm. Mark the payout "
                "failed; the money waits in their balance.",
            )
        fields = {
            "destination_method": after.method,
            "destination_account": after.account,
            "destination_holder": after.holder,
            "destination_fixed_at": timezone.now(),
        }
        for name, value in fields.items():
            setattr(payout, name, value)
        payout.save(update_fields=list(fields))
        audit(
            actor=actor,
            action="payout_destination_confirmed",
            obj=payout,
            before=before.label if had_destination else "",
            after=after.label,
        )
        if batch.status == PayoutBatch.Status.EXECUTING and batch.backend != (
            PayoutBatch.Backend.MANUAL
        ):
            enqueue_on_commit("referrals.tasks.payout_execute", payout.pk)
    return payout


def _payout_hold(payout: Payout) -> None:
    """Audit (once) that a payout was not sent because its destination changed, and tell the
    advocate (once, after commit): it waits for a manager to confirm their new details."""
    if not AuditEvent.objects.filter(
        action="payout_held",
        object_type="payout",
        object_id=payout.pk,
        created_at__gte=payout.destination_fixed_at or payout.created_at,
    ).exists():
        audit(
            actor=None,
            action="payout_held",
            obj=payout,
            reason="Payout details changed after approval; a manager must confirm them.",
        )
        _notify_payout(payout, "held")


def _link_commissions_up_to(payout: Payout) -> None:
    """Link the advocate's free approved commissions, oldest first, while their amounts fit in
    the payout: a retry pays the failed amount only, so the commissions earned since stay free
    for the next batch instead of being marked paid by this one."""
    covered, linked = 0, []
    free = Commission.objects.filter(
        advocate_id=payout.advocate_id,
        currency=payout.currency,
        status=Commission.Status.APPROVED,
        payout__isnull=True,
        frozen=False,
    ).order_by("pk")
    for pk, amount in free.values_list("pk", "amount"):
        if covered + amount > payout.amount:
            break
        covered += amount
        linked.append(pk)
    Commission.objects.filter(pk__in=linked).update(payout=payout)


def _advocate_refusal(payout: Payout, *, actor, operation: str) -> ServiceError | None:
    """The refusal (audited `payout_refused` on the payout) when its advocate is banned or
    paused, else None. The caller raises it once the audit row is committed; the money stays
    in the advocate's balance, and no payout reaches them while they are not active."""
    advocate = payout.advocate
    if advocate.status not in NOT_PAYABLE:
        return None
    audit(
        actor=actor,
        action="payout_refused",
        obj=payout,
        reason=f"Advocate {advocate.status}",
        operation=operation,
        advocate_status=advocate.status,
    )
    return ServiceError(
        "advocate_not_payable",
        f"This advocate is {advocate.status}: their payouts are not sent. The money stays in "
        "their balance until they are active again.",
    )


def _refuse_in_flight(payout: Payout) -> None:
    """A backend payout in processing may have reached the advocate: only the backend knows,
    so no one settles it by hand (marked failed, its money would be paid a second time)."""
    if (
        payout.status == Payout.Status.PROCESSING
        and payout.batch.backend != PayoutBatch.Backend.MANUAL
    ):
        raise ServiceError(
            "payout_in_flight",
            "This payout is being sent through Stripe and the transfer may already have gone "
            "out, so it can't be settled by hand. The stuck-payout recovery asks Stripe and "
            "settles it (it runs by itself; `manage.py payouts_recover_stuck` runs it now).",
        )


def _refuse_cancelled(payout: Payout) -> None:
    """A cancelled payout is final: its batch was cancelled and its money given back."""
    if payout.status == Payout.Status.CANCELLED:
        raise ServiceError(
            "payout_cancelled",
            "This payout was cancelled with its batch; its money is back in the advocate's "
            "balance for the next batch.",
        )


def _payout_paid(payout: Payout, *, reference: str, actor) -> None:
    payout_transition(
        payout=payout,
        to=Payout.Status.PAID,
        actor=actor,
        update={"external_ref": reference or "", "paid_at": timezone.now()},
        amount=payout.amount,
        reference=reference or "",
    )
    # By advocate too: commission_advocate_status finds a payout's commissions (payout_id has
    # no index of its own, see Commission.payout).
    for commission in Commission.objects.select_for_update().filter(
        advocate_id=payout.advocate_id, payout=payout, status=Commission.Status.APPROVED
    ):
        commission_transition(
            commission=commission,
            to=Commission.Status.PAID,
            actor=actor,
            reason=f"Payout {payout.pk}",
        )
    _batch_maybe_done(payout.batch_id, actor=actor)
    _notify_payout(payout, "sent")


def _payout_release(payout: Payout, *, reason: str, actor) -> None:
    """Give a payout's reservation back and free its commissions for the next batch."""
    ledger_write(
        advocate_id=payout.advocate_id,
        currency=payout.currency,
        amount=payout.amount,
        kind=LedgerEntry.Kind.PAYOUT_FAILED,
        reference=f"payout:{payout.pk}",
        memo=reason,
    )
    Commission.objects.filter(
        advocate_id=payout.advocate_id, payout=payout, status=Commission.Status.APPROVED
    ).update(payout=None)


def _payout_fail(payout: Payout, reason: str, *, actor) -> None:
    payout_transition(
        payout=payout,
        to=Payout.Status.FAILED,
        actor=actor,
        reason=reason,
        update={"failure_reason": reason[:300]},
    )
    _payout_release(payout, reason=reason, actor=actor)
    _batch_maybe_done(payout.batch_id, actor=actor)
    _notify_payout(payout, "failed")


def _batch_maybe_done(batch_id: int, *, actor) -> None:
    """An executing batch whose last open payout settled is done."""
    open_payouts = Payout.objects.filter(
        batch_id=batch_id, status__in=[Payout.Status.PENDING, Payout.Status.PROCESSING]
    )
    if open_payouts.exists():
        return
    batch = (
        PayoutBatch.objects.select_for_update()
        .filter(pk=batch_id, status=PayoutBatch.Status.EXECUTING)
        .first()
    )
    if batch is not None:
        payout_batch_transition(batch=batch, to=PayoutBatch.Status.DONE, actor=actor)


def _notify_payout(payout: Payout, event: str) -> None:
    enqueue_on_commit("referrals.tasks.payout_email", payout.pk, event)
