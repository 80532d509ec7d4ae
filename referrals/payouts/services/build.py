"""The batch build: every advocate's payable balance at or above the programme's threshold
becomes a payout, reserved by a `paid` ledger entry, in a fixed number of statements whatever
the number of advocates (one data-modifying WITH on PostgreSQL, three statements elsewhere)."""

from datetime import date

from django.db import connection, transaction
from django.utils import timezone

from advocacy.models import Advocate, Programme
from kernel.errors import ServiceError
from referrals.ledger_selectors import settled_commission_sql
from referrals.models import Commission, LedgerEntry, Payout, PayoutBatch
from referrals.payouts.selectors import NOT_PAYABLE
from referrals.services.audit import audit
from referrals.services.ledger import ledger_payout_reservations_sql


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


@transaction.atomic
def payout_batch_build(
    *,
    programme_id: int,
    actor=None,
    backend: str = PayoutBatch.Backend.MANUAL,
    scheduled_for: date | None = None,
) -> PayoutBatch | None:
    """Gather every advocate's payable balance at or above the programme's threshold into a new
    batch; None when nobody qualifies. A fixed number of statements, whatever the number of
    advocates. `scheduled_for`: the day of the programme's payout schedule this build is for
    (no actor: the schedule built it); a second build for the same day raises IntegrityError
    (`payoutbatch_once_per_schedule_day`)."""
    programme = Programme.objects.select_for_update().get(pk=programme_id)
    if backend not in PayoutBatch.Backend.values:
        raise ServiceError("backend_invalid", f"Unknown payout backend {backend!r}.")
    currency = programme.currency
    threshold = max(programme.payout_threshold, 1)
    now = timezone.now()
    batch = PayoutBatch.objects.create(
        programme=programme,
        currency=currency,
        backend=backend,
        created_by=actor,
        scheduled_for=scheduled_for,
    )
    ledger, commission, advocate = _table(LedgerEntry), _table(Commission), _table(Advocate)
    settled, settled_params = settled_commission_sql("c")
    payable = f"""
        SELECT le.advocate_id, SUM(le.amount) AS amount
        FROM {ledger} le
        JOIN {advocate} a ON a.id = le.advocate_id
        LEFT JOIN {commission} c
          ON c.id = le.commission_id AND {settled}
        WHERE a.programme_id = %s AND a.status NOT IN (%s, %s) AND le.currency = %s
          AND (le.commission_id IS NULL OR c.id IS NOT NULL)
        GROUP BY le.advocate_id
        HAVING SUM(le.amount) >= %s
    """  # noqa: S608 (table names come from model metadata, values are parameters)
    # An entry counts without a commission, or with a settled, unfrozen one (PAYABLE_ENTRIES).
    # The commission's conditions sit in the join, so only the settled, unfrozen commissions go
    # into the join's hash table, not every commission of the programme.
    # Paused and banned advocates are left out (payouts.selectors.payout_build_left_out says
    # who): their money stays in their balance, not reserved by a payout refused at execution.
    payable_params = [*settled_params, programme.pk, *NOT_PAYABLE, currency, threshold]
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
    schedule = {"scheduled_for": scheduled_for.isoformat()} if scheduled_for else {}
    audit(
        actor=actor,
        action="batch_built",
        obj=batch,
        reason="Built by the programme's payout schedule." if scheduled_for else "",
        total=batch.total_amount,
        payouts=batch.payout_count,
        **schedule,
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
