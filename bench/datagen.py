"""Fast, deterministic bench data on PostgreSQL: a million rows in seconds, in SQL.

Every bulk table is filled the same way: one row is made through the ORM (so it is a valid row
of today's model, defaults and all), then `INSERT … SELECT` copies it once per row of a
`generate_series` (or of a query), overriding the columns that vary. A column added to a model
later is copied from its template row, so the generator keeps working without edits.

The shapes (see bench/README.md):
- base: one programme ("bench") with 1,000 advocates and a code each (BENCH0001…), the "top"
  advocate first (code BENCHTOP), and an API key for all programmes.
- dashboard: 1,000,000 clicks and 100,000 referred orders over the last year, each order with
  its commission and ledger entries, a tenth of both for the top advocate (100k clicks, 10k
  orders); orders older than 90 days are paid out (one payout per advocate), older than the
  30-day hold approved, newer pending; every 50th refunded (commission reversed).
- payouts: a programme whose N advocates each have an approved commission above the threshold
  (payable) and a pending one (held), with their orders and `earned` ledger entries.
"""

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from accounts.models import User
from advocacy.models import Advocate, Programme, RepCode, RewardKind
from referrals.api.keys import api_key_create
from referrals.models import (
    Click,
    ClickDaily,
    Commission,
    LedgerEntry,
    Order,
    Payout,
    PayoutBatch,
)
from referrals.services.stores import store_built_in

ADVOCATES = 1_000
TOP_CODE = "BENCHTOP"
CLICKS = 1_000_000
TOP_CLICKS = 100_000
ORDERS = 100_000
TOP_ORDERS = 10_000
PAYOUT_THRESHOLD = 1_000  # minor units: every payout advocate's approved commission is above it


@dataclass(frozen=True)
class BaseData:
    programme_id: int
    top_user_id: int
    top_advocate_id: int
    api_token: str
    codes: list[str]  # every advocate's code, the top advocate's first


def _qn(name: str) -> str:
    return connection.ops.quote_name(name)


def copy_rows(
    model,
    template_pk: int,
    source: str,
    overrides: dict[str, str],
    *,
    params=(),
    select_params=(),
) -> int:
    """INSERT one copy of the template row (aliased `t`) per row of `source` (SQL FROM items,
    which may end with a WHERE clause; its placeholders take `params`), `overrides` mapping
    columns to SQL expressions (their placeholders take `select_params`). Returns the number
    of rows inserted. SQL expressions use mod(), not %, which is the placeholder character."""
    columns = [f.column for f in model._meta.concrete_fields if not f.primary_key]
    unknown = set(overrides) - set(columns)
    if unknown:
        raise ValueError(f"{model.__name__} has no columns {sorted(unknown)}")
    table = _qn(model._meta.db_table)
    select = [overrides.get(column, f"t.{_qn(column)}") for column in columns]
    sql = (
        f"INSERT INTO {table} ({', '.join(_qn(c) for c in columns)}) "  # noqa: S608 (our SQL)
        f"SELECT {', '.join(select)} FROM (SELECT * FROM {table} WHERE id = %s) t, {source}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*select_params, template_pk, *params])
        inserted = cursor.rowcount
        # Statistics now, inside the transaction: the next copy joins this table, and a planner
        # that still thinks it is empty picks nested loops over 100k rows.
        cursor.execute(f"ANALYZE {table}")
    return inserted


def _bulk_load() -> None:
    """Skip the per-row foreign key triggers for the rest of this transaction: the generated
    rows are consistent by construction, and a million trigger calls are most of the cost.
    (Needs a superuser, which the bench's throwaway cluster is.)"""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")


@contextmanager
def _indexes_deferred(*models):
    """Drop the tables' plain (non-unique) indexes, and build them again on leaving: one sorted
    build is many times faster than a million random B-tree inserts. Unique indexes stay, so
    every constraint is checked row by row as usual."""
    tables = [model._meta.db_table for model in models]
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
               FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
               WHERE c.relname = ANY(%s) AND NOT i.indisunique AND NOT i.indisprimary""",
            [tables],
        )
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {name}")
    yield
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for _, definition in indexes:
            cursor.execute(definition)


def _analyze() -> None:
    # The planner needs statistics on tables that grew by a million rows, and index-only scans
    # need the visibility map: what a production database has after autovacuum.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def _programme(slug: str, name: str, **fields) -> Programme:
    return Programme.objects.create(
        slug=slug,
        name=name,
        currency="EUR",
        status=Programme.Status.ACTIVE,
        shopper_reward_kind=RewardKind.PERCENT,
        shopper_reward_percent=Decimal("20"),
        shopper_one_use=True,
        advocate_reward_kind=RewardKind.PERCENT,
        advocate_reward_percent=Decimal("10"),
        attribution_window_days=30,
        hold_days=30,
        payout_threshold=PAYOUT_THRESHOLD,
        **fields,
    )


def _advocates(programme: Programme, *, domain: str, count: int) -> Advocate:
    """`count` users (first@<domain>, then advocate<n>@<domain>) and their advocates in
    `programme`, the first through the ORM. Returns the first advocate."""
    now = timezone.now()
    user = User.objects.create_user(f"first@{domain}", password=None, first_name="Tess")
    advocate = Advocate.objects.create(
        user=user, programme=programme, joined_at=now, terms_accepted_at=now
    )
    if count > 1:
        copy_rows(
            User,
            user.pk,
            "generate_series(2, %s) AS g(n)",
            {"email": "'advocate' || g.n || %s", "first_name": "'Sam'"},
            select_params=[f"@{domain}"],
            params=[count],
        )
        copy_rows(
            Advocate,
            advocate.pk,
            f"{_qn(User._meta.db_table)} u WHERE u.email LIKE %s AND u.id <> %s",
            {"user_id": "u.id", "programme_id": "%s"},
            select_params=[programme.pk],
            params=[f"advocate%@{domain}", user.pk],
        )
    return advocate


def base_data() -> BaseData:
    """The programme, its 1,000 advocates and codes, and an API key."""
    with transaction.atomic():
        programme = _programme("bench", "Bench Outdoor")
        top = _advocates(programme, domain="bench.example", count=ADVOCATES)
        rep = RepCode.objects.create(code=TOP_CODE, advocate=top)
        copy_rows(
            RepCode,
            rep.pk,
            f"{_qn(Advocate._meta.db_table)} a WHERE a.programme_id = %s AND a.id <> %s",
            {"code": "'BENCH' || lpad(a.id::text, 6, '0')", "advocate_id": "a.id"},
            params=[programme.pk, top.pk],
        )
        _, token = api_key_create(name="bench")
        codes = list(
            RepCode.objects.filter(advocate__programme=programme)
            .order_by("advocate_id")
            .values_list("code", flat=True)
        )
    _analyze()
    return BaseData(
        programme_id=programme.pk,
        top_user_id=top.user_id,
        top_advocate_id=top.pk,
        api_token=token,
        codes=codes,
    )


def _advocate_map(programme_id: int) -> int:
    """A temporary table n -> (advocate, code) for the programme's advocates, the top one n=0;
    the generators pick an advocate for row g.n by joining on n."""
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_adv")
        cursor.execute(
            f"""
            CREATE TEMPORARY TABLE bench_adv AS
            SELECT (row_number() OVER (ORDER BY a.id) - 1)::int AS n, a.id AS advocate_id,
                   r.id AS rep_code_id, r.code
            FROM {_qn(Advocate._meta.db_table)} a
            JOIN {_qn(RepCode._meta.db_table)} r ON r.advocate_id = a.id
            WHERE a.programme_id = %s
            """,  # noqa: S608
            [programme_id],
        )
        cursor.execute("CREATE UNIQUE INDEX ON bench_adv (n)")
        cursor.execute("ANALYZE bench_adv")
        cursor.execute("SELECT count(*) FROM bench_adv")
        (count,) = cursor.fetchone()
    return count


# When row g.n of a generated table belongs to the top advocate (n = 0) and else to one of the
# others, spread evenly; and a spread of times over the last 365 days (7919 is prime).
def _owner(top_rows: int, others: int) -> str:
    return f"CASE WHEN g.n <= {top_rows} THEN 0 ELSE 1 + mod(g.n, {others}) END"


_AGO = "now() - mod(g.n::bigint * 7919, 31536000) * interval '1 second'"


def dashboard_data(base: BaseData) -> dict[str, int]:
    """1M clicks and 100k orders (with commissions, ledger entries and payouts) for the base
    programme; a tenth of each for the top advocate. Returns row counts by table."""
    counts = {}
    now = timezone.now()
    with transaction.atomic():
        _bulk_load()
        with _indexes_deferred(Click, Order, Commission, LedgerEntry, Payout):
            others = _advocate_map(base.programme_id) - 1
            top = Advocate.objects.select_related("programme").get(pk=base.top_advocate_id)
            rep = RepCode.objects.get(code=TOP_CODE)

            click = Click.objects.create(
                rep_code=rep, advocate=top, created_at=now, visitor_id="0" * 32, landing="/"
            )
            counts["clicks"] = 1 + copy_rows(
                Click,
                click.pk,
                "generate_series(2, %s) AS g(n) "
                f"JOIN bench_adv a ON a.n = {_owner(TOP_CLICKS, others)}",
                {
                    "rep_code_id": "a.rep_code_id",
                    "advocate_id": "a.advocate_id",
                    "created_at": _AGO,
                    "visitor_id": "md5(g.n::text)",
                    "ip_hash": "md5(g.n::text) || md5(mod(g.n, 5000)::text)",
                    "user_agent": "'Mozilla/5.0 (bench)'",
                    "landing": "'/?ref=' || a.code",
                },
                params=[CLICKS],
            )
            _count_clicks_daily(since_pk=click.pk)

            order = Order.objects.create(
                source=Order.Source.API,
                store=store_built_in(Order.Source.API),
                external_id="dash-1",
                programme=top.programme,
                rep_code=rep,
                advocate=top,
                attribution="code",
                currency="EUR",
                gross_amount=10_000,
                discount_amount=2_000,
                net_amount=8_000,
                placed_at=now,
            )
            gross = "(3000 + mod(g.n * 37, 20000))"
            counts["orders"] = 1 + copy_rows(
                Order,
                order.pk,
                "generate_series(2, %s) AS g(n) "
                f"JOIN bench_adv a ON a.n = {_owner(TOP_ORDERS, others)}",
                {
                    "external_id": "'dash-' || g.n",
                    "rep_code_id": "a.rep_code_id",
                    "advocate_id": "a.advocate_id",
                    "attribution": "CASE WHEN mod(g.n, 3) = 0 THEN 'link' ELSE 'code' END",
                    "shopper_email_hash": "md5('shopper' || g.n) || md5(g.n::text)",
                    "gross_amount": gross,
                    "discount_amount": f"{gross} / 5",
                    "net_amount": f"{gross} - {gross} / 5",
                    "status": "CASE WHEN mod(g.n, 50) = 0 THEN 'refunded' ELSE 'paid' END",
                    "placed_at": _AGO,
                },
                params=[ORDERS],
            )

            commission = Commission.objects.create(
                order=order,
                advocate=top,
                currency="EUR",
                base_amount=8_000,
                amount=800,
                hold_until=now + timedelta(days=30),
            )
            counts["commissions"] = 1 + copy_rows(
                Commission,
                commission.pk,
                f"{_qn(Order._meta.db_table)} o "
                "WHERE o.programme_id = %s AND o.id <> %s AND o.external_id LIKE 'dash-%%'",
                {
                    "order_id": "o.id",
                    "advocate_id": "o.advocate_id",
                    "base_amount": "o.net_amount",
                    "amount": "o.net_amount / 10",
                    "status": """CASE WHEN o.status = 'refunded' THEN 'reversed'
                        WHEN o.placed_at < now() - interval '90 days' THEN 'paid'
                        WHEN o.placed_at < now() - interval '30 days' THEN 'approved'
                        ELSE 'pending' END""",
                    "hold_until": "o.placed_at + interval '30 days'",
                    "created_at": "o.placed_at",
                },
                params=[base.programme_id, order.pk],
            )

            entry = LedgerEntry.objects.create(
                advocate=top,
                currency="EUR",
                amount=800,
                kind=LedgerEntry.Kind.EARNED,
                reference=f"commission:{commission.pk}",
                commission=commission,
                memo="Order dash-1",
            )
            commissions = (
                f"{_qn(Commission._meta.db_table)} c WHERE c.id <> %s "  # noqa: S608
                "AND c.advocate_id IN (SELECT advocate_id FROM bench_adv) "
                f"AND c.order_id IN (SELECT id FROM {_qn(Order._meta.db_table)} "
                "WHERE external_id LIKE 'dash-%%')"
            )
            counts["ledger"] = 1 + copy_rows(
                LedgerEntry,
                entry.pk,
                commissions,
                {
                    "advocate_id": "c.advocate_id",
                    "amount": "c.amount",
                    "reference": "'commission:' || c.id",
                    "commission_id": "c.id",
                    "created_at": "c.created_at",
                },
                params=[commission.pk],
            )
            counts["ledger"] += copy_rows(
                LedgerEntry,
                entry.pk,
                commissions + " AND c.status = 'reversed'",
                {
                    "advocate_id": "c.advocate_id",
                    "amount": "-c.amount",
                    "kind": "'reversed'",
                    "reference": "'refund:bench:commission:' || c.id",
                    "commission_id": "c.id",
                    "memo": "'Refund'",
                    "created_at": "c.created_at + interval '7 days'",
                },
                params=[commission.pk],
            )
            counts["payouts"] = _paid_out(top, entry.pk)
    _analyze()
    return counts


def _count_clicks_daily(*, since_pk: int) -> None:
    """The daily click counts clicks_drain keeps beside the clicks it writes (a row per code
    and UTC day, incremented per batch), here for the clicks generated from `since_pk` on, in
    one statement."""
    daily, click = _qn(ClickDaily._meta.db_table), _qn(Click._meta.db_table)
    increment = f"clicks = {daily}.clicks + excluded.clicks"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {daily} (rep_code_id, advocate_id, day, clicks)
                SELECT rep_code_id, advocate_id, (created_at AT TIME ZONE 'UTC')::date, count(*)
                FROM {click} WHERE id >= %s GROUP BY 1, 2, 3
                ON CONFLICT (rep_code_id, day) DO UPDATE SET {increment}""",  # noqa: S608
            [since_pk],
        )


def _paid_out(top: Advocate, template_entry_pk: int) -> int:
    """One done batch paying every advocate's `paid` commissions: payouts, their `paid` ledger
    entries, and the commissions pointing at them."""
    batch = PayoutBatch.objects.create(
        programme=top.programme, currency="EUR", status=PayoutBatch.Status.DONE
    )
    paid = Commission.objects.filter(advocate=top, status=Commission.Status.PAID)
    payout = Payout.objects.create(
        batch=batch,
        advocate=top,
        currency="EUR",
        amount=paid.aggregate(total=Sum("amount"))["total"],
        status=Payout.Status.PAID,
        external_ref="bench",
        paid_at=timezone.now(),
    )
    commission, payout_table = _qn(Commission._meta.db_table), _qn(Payout._meta.db_table)
    with connection.cursor() as cursor:
        # Statistics for the joins below: without them the planner guesses small tables and
        # picks a nested loop over 100k commissions.
        cursor.execute(f"ANALYZE {commission}, {payout_table}")
    count = 1 + copy_rows(
        Payout,
        payout.pk,
        f"""(SELECT advocate_id, SUM(amount) AS total FROM {commission}
             WHERE status = 'paid' AND advocate_id <> %s
               AND advocate_id IN (SELECT advocate_id FROM bench_adv)
             GROUP BY advocate_id) s""",  # noqa: S608 (table names from model metadata)
        {"advocate_id": "s.advocate_id", "amount": "s.total"},
        params=[top.pk],
    )
    copy_rows(
        LedgerEntry,
        template_entry_pk,
        f"{payout_table} p WHERE p.batch_id = %s",
        {
            "advocate_id": "p.advocate_id",
            "amount": "-p.amount",
            "kind": "'paid'",
            "reference": "'payout:' || p.id",
            "commission_id": "NULL",
            "memo": "'Payout batch ' || p.batch_id",
            "created_at": "p.created_at",
        },
        params=[batch.pk],
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE {commission} c SET payout_id = p.id FROM {payout_table} p
                WHERE p.batch_id = %s AND p.advocate_id = c.advocate_id AND c.status = 'paid'""",  # noqa: S608
            [batch.pk],
        )
    PayoutBatch.objects.filter(pk=batch.pk).update(
        total_amount=Payout.objects.filter(batch=batch).aggregate(t=Sum("amount"))["t"],
        payout_count=count,
    )
    return count


def payout_data(*, slug: str, advocates: int) -> Programme:
    """A programme whose `advocates` advocates each hold an approved commission above the
    payout threshold and a pending one, with orders and `earned` ledger entries."""
    now = timezone.now()
    with transaction.atomic():
        _bulk_load()
        programme = _programme(slug, f"Bench payouts ({advocates})")
        with _indexes_deferred(Order, Commission, LedgerEntry):
            first = _advocates(programme, domain=f"{slug}.example", count=advocates)
            order = Order.objects.create(
                source=Order.Source.API,
                store=store_built_in(Order.Source.API),
                external_id=f"{slug}-template",
                programme=programme,
                advocate=first,
                attribution="code",
                currency="EUR",
                gross_amount=12_000,
                net_amount=12_000,
                placed_at=now - timedelta(days=60),
            )
            copy_rows(
                Order,
                order.pk,
                f"""{_qn(Advocate._meta.db_table)} a CROSS JOIN generate_series(1, 2) AS k(n)
                    WHERE a.programme_id = %s AND NOT (a.id = %s AND k.n = 1)""",
                {
                    "external_id": f"'{slug}-' || a.id || '-' || k.n",
                    "advocate_id": "a.id",
                    "gross_amount": "10000 + mod(a.id, 50) * 100",
                    "net_amount": "10000 + mod(a.id, 50) * 100",
                    "placed_at": "now() - CASE k.n WHEN 1 THEN interval '60 days' "
                    "ELSE interval '1 day' END",
                },
                params=[programme.pk, first.pk],
            )
            commission = Commission.objects.create(
                order=order,
                advocate=first,
                currency="EUR",
                base_amount=12_000,
                amount=1_200,
                status=Commission.Status.APPROVED,
                hold_until=order.placed_at + timedelta(days=30),
            )
            copy_rows(
                Commission,
                commission.pk,
                f"{_qn(Order._meta.db_table)} o WHERE o.programme_id = %s AND o.id <> %s",
                {
                    "order_id": "o.id",
                    "advocate_id": "o.advocate_id",
                    "base_amount": "o.net_amount",
                    "amount": "o.net_amount / 10",
                    "status": "CASE WHEN o.placed_at < now() - interval '30 days' "
                    "THEN 'approved' ELSE 'pending' END",
                    "hold_until": "o.placed_at + interval '30 days'",
                    "created_at": "o.placed_at",
                },
                params=[programme.pk, order.pk],
            )
            entry = LedgerEntry.objects.create(
                advocate=first,
                currency="EUR",
                amount=1_200,
                kind=LedgerEntry.Kind.EARNED,
                reference=f"commission:{commission.pk}",
                commission=commission,
            )
            copy_rows(
                LedgerEntry,
                entry.pk,
                f"""{_qn(Commission._meta.db_table)} c
                    JOIN {_qn(Advocate._meta.db_table)} a ON a.id = c.advocate_id
                    WHERE a.programme_id = %s AND c.id <> %s""",
                {
                    "advocate_id": "c.advocate_id",
                    "amount": "c.amount",
                    "reference": "'commission:' || c.id",
                    "commission_id": "c.id",
                    "created_at": "c.created_at",
                },
                params=[programme.pk, commission.pk],
            )
    _analyze()
    return programme
