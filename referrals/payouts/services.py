"""Payout batches: build (set-based SQL), approve (permission, password, maybe a second manager),
execute (one task per payout, at most once), fail and retry.

Reservation model: building a batch writes a `paid` ledger entry of -amount for every payout at
once, so the same money can't go into two batches; a failed payout writes `payout_failed`
+amount, restoring the balance. Execution re-checks that the advocate's payable balance is not
negative (a refund or dispute may have landed after the build): money paid never exceeds what
was earned minus what was reversed.

Exactly once: a payout moves pending -> processing in its own committed transaction before the
backend is called with an idempotency key derived from the payout id. A worker that dies after
the call but before recording the result leaves it `processing`; the retry calls the backend
again with the same key, which returns the same transfer instead of sending a second one.
"""

from django.db import connection, transaction
from django.utils import timezone

from advocacy.models import Advocate, Programme
from kernel.errors import ServiceError
from kernel.jobs import enqueue_on_commit
from referrals.ledger_selectors import payable_balance, settled_commission_sql
from referrals.models import Commission, LedgerEntry, Payout, PayoutBatch
from referrals.services.audit import audit
from referrals.services.commissions import commission_transition
from referrals.services.ledger import ledger_payout_reservations_sql, ledger_write

APPROVE_PERMISSION = "referrals.approve_payoutbatch"


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


@transaction.atomic
def payout_batch_build(
    *, programme_id: int, actor=None, backend: str = PayoutBatch.Backend.MANUAL
) -> PayoutBatch | None:
    """Gather every advocate's payable balance at or above the programme's threshold into a new
    batch; None when nobody qualifies. A fixed number of statements, whatever the number of
    advocates."""
    programme = Programme.objects.select_for_update().get(pk=programme_id)
    if backend not in PayoutBatch.Backend.values:
        raise ServiceError("backend_invalid", f"Unknown payout backend {backend!r}.")
    currency = programme.currency
    threshold = max(programme.payout_threshold, 1)
    now = timezone.now()
    batch = PayoutBatch.objects.create(
        programme=programme, currency=currency, backend=backend, created_by=actor
    )
    ledger, commission, advocate = _table(LedgerEntry), _table(Commission), _table(Advocate)
    settled, settled_params = settled_commission_sql("c")
    payable = f"""
        SELECT le.advocate_id, SUM(le.amount) AS amount
        FROM {ledger} le
        JOIN {advocate} a ON a.id = le.advocate_id
        LEFT JOIN {commission} c
          ON c.id = le.commission_id AND {settled}
        WHERE a.programme_id = %s AND a.status <> 'banned' AND le.currency = %s
          AND (le.commission_id IS NULL OR c.id IS NOT NULL)
        GROUP BY le.advocate_id
        HAVING SUM(le.amount) >= %s
    """  # noqa: S608 (table names come from model metadata, values are parameters)
    # An entry counts without a commission, or with a settled, unfrozen one (PAYABLE_ENTRIES).
    # The commission's conditions sit in the join, so only the settled, unfrozen commissions go
    # into the join's hash table, not every commission of the programme.
    payable_params = [*settled_params, programme.pk, currency, threshold]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            count, total = _build_postgresql(
                cursor, batch, payable, payable_params, currency=currency, now=now
            )
        else:
            count, total = _build_portable(
                cursor, batch, payable, payable_params, currency=currency, now=now
            )
    if not count:
        batch.delete()
        return None
    batch.total_amount = total
    batch.payout_count = count
    batch.save(update_fields=["total_amount", "payout_count"])
    audit(
        actor=actor,
        action="batch_built",
        obj=batch,
        total=batch.total_amount,
        payouts=batch.payout_count,
    )
    return batch


# Per statement, for the build only: the grouped scan of every ledger entry and the joins want
# more than the default 4 MB (they spilled to disk at 100k advocates), and JIT compiling a
# statement that runs once costs more than it saves.
_BUILD_SETTINGS = {"work_mem": "64MB", "jit": "off"}


def _build_postgresql(cursor, batch, payable, payable_params, *, currency, now):
    """One statement: the payouts, their `paid` entries and the commission links, all fed by the
    RETURNING rows of the payout insert, so no step re-reads the new payouts (which have no
    planner statistics yet) and every row is written once. (count, total).

    The payouts are inserted in advocate order (the grouped payable set comes out in hash
    order), and every later step follows the RETURNING order: the inserts into the indexes led
    by advocate, the advocate lookups of the commit's foreign-key checks and the commissions the
    UPDATE rewrites then move through their pages in order instead of at random. At 100k
    advocates that took about a quarter off the build."""
    payout, commission = _table(Payout), _table(Commission)
    reserve, reserve_params = ledger_payout_reservations_sql(
        ledger_table=_table(LedgerEntry),
        source="new_payouts",
        currency=currency,
        memo=f"Payout batch {batch.pk}",
        now=now,
    )
    cursor.execute("SELECT " + ", ".join(f"current_setting('{name}')" for name in _BUILD_SETTINGS))
    before = dict(zip(_BUILD_SETTINGS, cursor.fetchone(), strict=True))
    _set_local(cursor, _BUILD_SETTINGS)
    cursor.execute(
        f"""
        WITH payable AS ({payable}),
        new_payouts AS (
            INSERT INTO {payout}
                (batch_id, advocate_id, currency, amount, status, external_ref, failure_reason,
                 created_at)
            SELECT %s, advocate_id, %s, amount, 'pending', '', '', %s FROM payable
            ORDER BY advocate_id
            RETURNING id, advocate_id, amount
        ),
        reserved AS ({reserve}),
        linked AS (
            UPDATE {commission} c SET payout_id = p.id
            FROM new_payouts p
            WHERE p.advocate_id = c.advocate_id AND c.status = 'approved'
              AND c.payout_id IS NULL AND c.frozen = %s AND c.currency = %s
        )
        SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM new_payouts
        """,  # noqa: S608 (table names come from model metadata, values are parameters)
        [
            *payable_params,
            batch.pk,
            currency,
            now,
            *reserve_params,
            False,
            currency,
        ],
    )
    count, total = cursor.fetchone()
    _set_local(cursor, before)
    return count, int(total)  # SUM over bigint is numeric in PostgreSQL


def _set_local(cursor, settings: dict) -> None:
    cursor.execute(
        "SELECT " + ", ".join("set_config(%s, %s, true)" for _ in settings),
        [value for pair in settings.items() for value in pair],
    )


def _build_portable(cursor, batch, payable, payable_params, *, currency, now):
    """The same build as three statements, for databases without data-modifying WITH (SQLite
    in the quick test run). (count, total)."""
    payout, commission = _table(Payout), _table(Commission)
    cursor.execute(
        f"""
        INSERT INTO {payout}
            (batch_id, advocate_id, currency, amount, status, external_ref, failure_reason,
             created_at)
        SELECT %s, advocate_id, %s, amount, 'pending', '', '', %s FROM ({payable}) payable
        ORDER BY advocate_id
        """,  # noqa: S608
        [batch.pk, currency, now, *payable_params],
    )
    reserve, reserve_params = ledger_payout_reservations_sql(
        ledger_table=_table(LedgerEntry),
        source=f"{payout} WHERE batch_id = %s",
        currency=currency,
        memo=f"Payout batch {batch.pk}",
        now=now,
    )
    cursor.execute(reserve, [*reserve_params, batch.pk])
    # A join, not a correlated subquery per commission: the new payouts have no planner
    # statistics yet, and the subquery form ran as a nested loop (100k advocates: minutes).
    cursor.execute(
        f"""
        UPDATE {commission} SET payout_id = p.id
        FROM {payout} p
        WHERE p.batch_id = %s AND p.advocate_id = {commission}.advocate_id
          AND {commission}.status = 'approved' AND {commission}.payout_id IS NULL
          AND {commission}.frozen = %s AND {commission}.currency = %s
        """,  # noqa: S608
        [batch.pk, False, currency],
    )
    cursor.execute(
        f"SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM {payout} WHERE batch_id = %s",  # noqa: S608
        [batch.pk],
    )
    count, total = cursor.fetchone()
    return count, int(total)


def payout_batch_needs_second_approval(batch: PayoutBatch) -> bool:
    """Above the programme's dual-approval limit a second, different manager must approve."""
    limit = batch.programme.dual_approval_above
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
        batch.approved_by, batch.approved_at = actor, now
        if not payout_batch_needs_second_approval(batch):
            batch.status = PayoutBatch.Status.APPROVED
        action = "batch_approved"
    else:
        if actor.pk in (batch.approved_by_id, batch.created_by_id):
            raise ServiceError(
                "second_approver_required",
                "A second manager, who neither built nor approved this batch, must approve it.",
            )
        batch.second_approved_by, batch.second_approved_at = actor, now
        batch.status = PayoutBatch.Status.APPROVED
        action = "batch_second_approval"
    batch.save()
    audit(actor=actor, action=action, obj=batch, total=batch.total_amount)
    return batch


@transaction.atomic
def payout_batch_cancel(*, batch_id: int, actor, reason: str) -> PayoutBatch:
    """Cancel a batch that was not approved yet: every reservation is given back."""
    batch = PayoutBatch.objects.select_for_update().get(pk=batch_id)
    if batch.status != PayoutBatch.Status.DRAFT:
        raise ServiceError("batch_not_draft", "Only a batch awaiting approval can be cancelled.")
    for payout in batch.payouts.select_for_update():
        _payout_release(payout, reason=f"Batch cancelled: {reason}", actor=actor)
    batch.status = PayoutBatch.Status.CANCELLED
    batch.save(update_fields=["status"])
    audit(actor=actor, action="batch_cancelled", obj=batch, reason=reason)
    return batch


@transaction.atomic
def payout_batch_execute(*, batch_id: int, actor) -> PayoutBatch:
    """Start paying an approved batch: one task per payout (stripe_connect), or wait for the
    manager's CSV upload and mark-paid (manual)."""
    if not actor.has_perm(APPROVE_PERMISSION):
        raise ServiceError("permission_denied", "You don't have permission to execute payouts.")
    batch = PayoutBatch.objects.select_for_update().get(pk=batch_id)
    if batch.status != PayoutBatch.Status.APPROVED:
        raise ServiceError("batch_not_approved", "Only an approved batch can be executed.")
    batch.status = PayoutBatch.Status.EXECUTING
    batch.save(update_fields=["status"])
    audit(actor=actor, action="batch_executed", obj=batch)
    if batch.backend != PayoutBatch.Backend.MANUAL:
        ids = batch.payouts.filter(status=Payout.Status.PENDING).values_list("pk", flat=True)
        for pk in ids:
            enqueue_on_commit("referrals.tasks.payout_execute", pk)
    return batch


def payout_execute(*, payout_id: int) -> Payout:
    """Pay one payout through its batch's backend, at most once (see the module docstring)."""
    from referrals.payouts.backends import PayoutError, get_backend

    with transaction.atomic():
        payout = (
            Payout.objects.select_for_update().select_related("batch", "advocate").get(pk=payout_id)
        )
        if payout.status in (Payout.Status.PAID, Payout.Status.FAILED):
            return payout
        if payout.batch.status != PayoutBatch.Status.EXECUTING:
            raise ServiceError("batch_not_executing", "The batch is not being paid.")
        if payout.status == Payout.Status.PENDING:
            if payable_balance(payout.advocate, payout.currency) < 0:
                _payout_fail(
                    payout,
                    "The balance fell after the batch was built (refund or "
                    "dispute); the rest goes into the next batch.",
                    actor=None,
                )
                return payout
            payout.status = Payout.Status.PROCESSING
            payout.save(update_fields=["status"])
    # Committed as processing: from here a crash is recovered by calling again with the same key.
    backend = get_backend(payout.batch.backend)
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
def payout_mark_paid(*, payout_id: int, actor, reference: str = "") -> Payout:
    """Manual backend: the manager paid it through the bank or PayPal and says so."""
    if not actor.has_perm(APPROVE_PERMISSION):
        raise ServiceError("permission_denied", "You don't have permission to mark payouts paid.")
    payout = (
        Payout.objects.select_for_update().select_related("batch", "advocate").get(pk=payout_id)
    )
    if payout.status == Payout.Status.PAID:
        return payout
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
    _payout_paid(payout, reference=reference, actor=actor)
    return payout


@transaction.atomic
def payout_mark_failed(*, payout_id: int, actor, reason: str) -> Payout:
    if not actor.has_perm(APPROVE_PERMISSION):
        raise ServiceError("permission_denied", "You don't have permission to change payouts.")
    payout = Payout.objects.select_for_update().select_related("batch").get(pk=payout_id)
    if payout.status not in (Payout.Status.PENDING, Payout.Status.PROCESSING):
        raise ServiceError("payout_final", "This payout is already settled.")
    _payout_fail(payout, reason, actor=actor)
    return payout


@transaction.atomic
def payout_retry(*, payout_id: int, actor) -> Payout:
    """A failed payout, again: a new payout in the same batch for what is payable now."""
    if not actor.has_perm(APPROVE_PERMISSION):
        raise ServiceError("permission_denied", "You don't have permission to retry payouts.")
    failed = (
        Payout.objects.select_for_update().select_related("batch", "advocate").get(pk=payout_id)
    )
    if failed.status != Payout.Status.FAILED:
        raise ServiceError("payout_not_failed", "Only a failed payout can be retried.")
    if Payout.objects.filter(retry_of=failed).exists():
        raise ServiceError("already_retried", "This payout was already retried.")
    amount = payable_balance(failed.advocate, failed.currency)
    if amount <= 0:
        raise ServiceError("nothing_payable", "Nothing is payable to this advocate now.")
    batch = PayoutBatch.objects.select_for_update().get(pk=failed.batch_id)
    retry = Payout.objects.create(
        batch=batch,
        advocate=failed.advocate,
        currency=failed.currency,
        amount=amount,
        retry_of=failed,
    )
    ledger_write(
        advocate_id=retry.advocate_id,
        currency=retry.currency,
        amount=-amount,
        kind=LedgerEntry.Kind.PAID,
        reference=f"payout:{retry.pk}",
        memo=f"Retry of payout {failed.pk}",
    )
    Commission.objects.filter(
        advocate=retry.advocate,
        currency=retry.currency,
        status="approved",
        payout__isnull=True,
        frozen=False,
    ).update(payout=retry)
    if batch.status == PayoutBatch.Status.DONE:
        batch.status = PayoutBatch.Status.EXECUTING
        batch.save(update_fields=["status"])
    audit(actor=actor, action="payout_retried", obj=retry, retry_of=failed.pk)
    if batch.backend != PayoutBatch.Backend.MANUAL:
        enqueue_on_commit("referrals.tasks.payout_execute", retry.pk)
    return retry


def _payout_paid(payout: Payout, *, reference: str, actor) -> None:
    payout.status = Payout.Status.PAID
    payout.external_ref = reference or ""
    payout.paid_at = timezone.now()
    payout.save(update_fields=["status", "external_ref", "paid_at"])
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
    audit(
        actor=actor,
        action="payout_paid",
        obj=payout,
        amount=payout.amount,
        reference=payout.external_ref,
    )
    _batch_maybe_done(payout.batch_id)
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
    payout.status = Payout.Status.FAILED
    payout.failure_reason = reason[:300]
    payout.save(update_fields=["status", "failure_reason"])
    _payout_release(payout, reason=reason, actor=actor)
    audit(actor=actor, action="payout_failed", obj=payout, reason=reason)
    _batch_maybe_done(payout.batch_id)
    _notify_payout(payout, "failed")


def _batch_maybe_done(batch_id: int) -> None:
    open_payouts = Payout.objects.filter(
        batch_id=batch_id, status__in=[Payout.Status.PENDING, Payout.Status.PROCESSING]
    )
    if not open_payouts.exists():
        PayoutBatch.objects.filter(pk=batch_id, status=PayoutBatch.Status.EXECUTING).update(
            status=PayoutBatch.Status.DONE
        )


def _notify_payout(payout: Payout, event: str) -> None:
    enqueue_on_commit("referrals.tasks.payout_email", payout.pk, event)
