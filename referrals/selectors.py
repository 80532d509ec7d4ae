"""Read-only queries shared by views, the dashboard, the API and reports."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import (
    Count,
    Exists,
    IntegerField,
    OuterRef,
    QuerySet,
    Subquery,
    Sum,
    prefetch_related_objects,
)
from django.db.models.functions import TruncWeek
from django.utils import timezone

from advocacy.models import Advocate, RepCode
from referrals.ledger_selectors import settled_commission_sql
from referrals.models import (
    Adjustment,
    ApiKey,
    AuditEvent,
    ClickDaily,
    Commission,
    FraudSignal,
    LedgerEntry,
    Order,
    Payout,
    PayoutBatch,
    Store,
    WebhookEvent,
)


@dataclass(frozen=True)
class AdvocateStats:
    """Activity counts. Money is `advocate_balance`, the one definition of held / payable /
    paid out, shared by the dashboard and the API."""

    currency: str
    clicks: int
    orders: int

    @property
    def conversion_percent(self) -> int:
        return round(100 * self.orders / self.clicks) if self.clicks else 0


def advocate_stats(advocate: Advocate) -> AdvocateStats:
    """Clicks and referred orders in one query whatever the volume (see _advocate_figures)."""
    figures = _advocate_figures(advocate, stats=True, balance=False)
    return _stats(advocate, figures)


def _stats(advocate: Advocate, figures: dict[str, int]) -> AdvocateStats:
    return AdvocateStats(
        currency=advocate.programme.currency, clicks=figures["clicks"], orders=figures["orders"]
    )


@dataclass(frozen=True)
class RecentCommission:
    amount: int
    currency: str
    status: str
    hold_until: datetime
    # Why it was rejected (the manager's words) or reversed (the service's memo: "Refund …",
    # "Dispute … lost"); "" otherwise.
    reason: str = ""

    @property
    def status_label(self) -> str:
        return _COMMISSION_STATUS_LABELS.get(self.status, self.status)


@dataclass(frozen=True)
class RecentReferral:
    placed_at: datetime
    code: str  # the code credited, "" if none
    net_amount: int
    currency: str
    status: str
    commissions: list[RecentCommission]  # newest first; empty when the order earned nothing

    @property
    def status_label(self) -> str:
        return _ORDER_STATUS_LABELS.get(self.status, self.status)


_ORDER_STATUS_LABELS = dict(Order.Status.choices)
_COMMISSION_STATUS_LABELS = dict(Commission.Status.choices)


def advocate_recent_referrals(advocate: Advocate, limit: int = 10) -> list[RecentReferral]:
    """The advocate's latest orders, newest first, each with its commissions: one query (the
    orders picked by a LIMIT subquery over the order_advocate_time index, their commissions
    joined), read as plain values."""
    latest = Order.objects.filter(advocate=advocate).order_by("-placed_at").values("pk")[:limit]
    # The latest decision that took the commission back, from its audit trail (audit_object
    # index): a subquery per commission row, still one statement.
    reason = (
        AuditEvent.objects.filter(
            object_type="commission",
            object_id=OuterRef("commissions__pk"),
            action__in=["commission_rejected", "commission_reversed"],
        )
        .order_by("-created_at", "-id")
        .values("reason")[:1]
    )
    rows = (
        Order.objects.filter(pk__in=latest)
        .annotate(commission_reason=Subquery(reason))
        .order_by("-placed_at", "-pk", "-commissions__created_at", "-commissions__pk")
        .values_list(
            "pk",
            "placed_at",
            "rep_code__code",
            "net_amount",
            "currency",
            "status",
            "commissions__pk",
            "commissions__amount",
            "commissions__currency",
            "commissions__status",
            "commissions__hold_until",
            "commission_reason",
        )
    )
    referrals: list[RecentReferral] = []
    last_pk = None
    for pk, placed_at, code, net, currency, status, commission_pk, *commission, why in rows:
        if pk != last_pk:
            referrals.append(RecentReferral(placed_at, code or "", net, currency, status, []))
            last_pk = pk
        if commission_pk is not None:
            referrals[-1].commissions.append(RecentCommission(*commission, reason=why or ""))
    return referrals


def advocate_weekly_earnings(advocate: Advocate, weeks: int = 12) -> list[tuple]:
    """(week start, commission total) by the week of the sale, for the last `weeks` weeks,
    empty weeks included; reversed and rejected commissions don't count."""
    now = timezone.now()
    start = timezone.localdate(now) - timedelta(weeks=weeks - 1)
    start -= timedelta(days=start.weekday())
    # A range on placed_at itself (midnight of the first day, in the current time zone), not on
    # its date, so the order_advocate_time index answers it. A commission's order is credited
    # to the same advocate (order_ingest and renewals set both), which lets the query start
    # from the advocate's recent orders instead of all their commissions.
    since = timezone.make_aware(datetime.combine(start, datetime.min.time()))
    rows = (
        Commission.objects.filter(
            advocate=advocate, order__advocate=advocate, order__placed_at__gte=since
        )
        .exclude(status__in=["reversed", "rejected"])
        .annotate(week=TruncWeek("order__placed_at"))
        .values("week")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    by_week = {row["week"].date(): row["total"] for row in rows}
    return [
        (start + timedelta(weeks=i), by_week.get(start + timedelta(weeks=i), 0))
        for i in range(weeks)
    ]


def advocate_codes(advocate: Advocate) -> list[RepCode]:
    """An advocate's active codes, the one to headline first: a vanity code (the one a manager
    allowed, as the campaign page and the manager's messages use it), else the code that brought
    the most orders, else the oldest. One query."""
    return list(
        advocate.codes.filter(is_active=True)
        .annotate(order_count=Count("orders"))
        .order_by("-is_vanity", "-order_count", "created_at", "pk")
    )


@dataclass(frozen=True)
class AdvocateBalance:
    """An advocate's money in their programme's currency, from the ledger and their payouts.

    held + payable is their balance (the sum of their ledger entries). `payable` follows
    `ledger_selectors.payable_balance` (the one definition of payable) and can be negative
    after a refund on paid-out money.
    """

    currency: str
    held: int  # commissions still pending (or frozen by a dispute): not payable yet
    payable: int  # approved and not yet gathered into a payout
    reversed: int  # taken back after refunds and disputes, as a positive figure
    paid_out: int  # payouts that were sent
    in_flight: int  # payouts built but not sent yet (pending or processing)
    threshold: int  # the programme's smallest payout
    # The part of `reversed` the programme's managers rejected (not a refund or a dispute).
    rejected: int = 0

    @property
    def reversed_after_refunds(self) -> int:
        """What refunds and disputes took back: `reversed` without the rejections."""
        return self.reversed - self.rejected

    @property
    def minimum_payout(self) -> int:
        return max(self.threshold, 1)

    @property
    def reaches_threshold(self) -> bool:
        return self.payable >= self.minimum_payout

    @property
    def to_threshold(self) -> int:
        """How much more must become payable before the next payout includes them."""
        return max(self.minimum_payout - self.payable, 0)


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _advocate_figures(advocate: Advocate, *, stats: bool, balance: bool) -> dict[str, int]:
    """An advocate's figures in one statement whatever the volume (portable SQL: PostgreSQL and
    SQLite). With `balance`: one pass over their ledger entries in the programme's currency
    (total, reversed and held as aggregates with a FILTER) and their payouts; with `stats`: their
    clicks and referred orders.

    Held money is summed over the entries of the advocate's own pending or frozen commissions,
    found by an uncorrelated subquery that PostgreSQL hashes once, rather than by joining every
    ledger entry to its commission: entries about a commission are always written to that
    commission's advocate (services), so it is the same sum.
    """
    currency = advocate.programme.currency
    ledger, commission = _table(LedgerEntry), _table(Commission)
    payout, click_daily, order = _table(Payout), _table(ClickDaily), _table(Order)
    settled, settled_params = settled_commission_sql("c")
    # (name, SQL, parameters), in the order of the SELECT list.
    columns: list[tuple[str, str, list]] = []
    if balance:
        columns += [
            ("ledger_total", "COALESCE(SUM(le.amount), 0)", []),
            (
                "ledger_reversed",
                "COALESCE(SUM(le.amount) FILTER (WHERE le.kind = %s), 0)",
                [LedgerEntry.Kind.REVERSED],
            ),
            (
                "ledger_rejected",
                "COALESCE(SUM(le.amount) FILTER (WHERE le.kind = %s AND le.reference LIKE %s), 0)",
                [LedgerEntry.Kind.REVERSED, "commission:%:rejected"],
            ),
            (
                "ledger_held",
                f"""COALESCE(SUM(le.amount) FILTER (WHERE le.commission_id IN (
                    SELECT c.id FROM {commission} c
                    WHERE c.advocate_id = %s AND NOT ({settled})
                )), 0)""",  # noqa: S608 (table names from model metadata; values are parameters)
                [advocate.pk, *settled_params],
            ),
            (
                "payouts_paid",
                f"""(SELECT COALESCE(SUM(p.amount), 0) FROM {payout} p
                    WHERE p.advocate_id = %s AND p.currency = %s AND p.status = %s)""",  # noqa: S608
                [advocate.pk, currency, Payout.Status.PAID],
            ),
            (
                "payouts_in_flight",
                f"""(SELECT COALESCE(SUM(p.amount), 0) FROM {payout} p
                    WHERE p.advocate_id = %s AND p.currency = %s AND p.status IN (%s, %s))""",  # noqa: S608
                [advocate.pk, currency, Payout.Status.PENDING, Payout.Status.PROCESSING],
            ),
        ]
    if stats:
        columns += [
            # Summed from the daily counts the click drain keeps (a row per code and day).
            (
                "clicks",
                f"""(SELECT COALESCE(SUM(d.clicks), 0) FROM {click_daily} d
                    WHERE d.advocate_id = %s)""",  # noqa: S608
                [advocate.pk],
            ),
            # Counted over the order_advocate_time index.
            (
                "orders",
                f"(SELECT COUNT(*) FROM {order} o WHERE o.advocate_id = %s)",  # noqa: S608
                [advocate.pk],
            ),
        ]
    sql = "SELECT " + ", ".join(column for _, column, _ in columns)
    params = [param for _, _, column_params in columns for param in column_params]
    if balance:  # an aggregate: one row, also for an advocate without entries
        sql += f" FROM {ledger} le WHERE le.advocate_id = %s AND le.currency = %s"
        params += [advocate.pk, currency]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return {name: int(value) for (name, _, _), value in zip(columns, row, strict=True)}


def advocate_balance(advocate: Advocate) -> AdvocateBalance:
    """The balance by status, in one query whatever the volume (see _advocate_figures)."""
    return _balance(advocate, _advocate_figures(advocate, stats=False, balance=True))


def advocate_overview(advocate: Advocate) -> tuple[AdvocateStats, AdvocateBalance]:
    """advocate_stats and advocate_balance together, in one query (the dashboard, the API)."""
    figures = _advocate_figures(advocate, stats=True, balance=True)
    return _stats(advocate, figures), _balance(advocate, figures)


def _balance(advocate: Advocate, figures: dict[str, int]) -> AdvocateBalance:
    return AdvocateBalance(
        currency=advocate.programme.currency,
        held=figures["ledger_held"],
        payable=figures["ledger_total"] - figures["ledger_held"],
        reversed=-figures["ledger_reversed"],
        paid_out=figures["payouts_paid"],
        in_flight=figures["payouts_in_flight"],
        threshold=advocate.programme.payout_threshold,
        rejected=-figures["ledger_rejected"],
    )


def advocate_payouts(advocate: Advocate):
    """The advocate's payouts, newest first (retries after a failure are payouts of their own)."""
    return Payout.objects.filter(advocate=advocate).order_by("-created_at", "-id")


def advocate_adjustments(advocate: Advocate, limit: int = 20) -> list[Adjustment]:
    """The managers' bonuses and corrections for the advocate, newest first, with their reason
    (what the advocate sees of them in their payout history)."""
    return list(
        Adjustment.objects.filter(advocate=advocate)
        .order_by("-created_at", "-id")
        .only("kind", "amount", "currency", "reason", "created_at")[:limit]
    )


def advocate_commissions_export(advocate: Advocate):
    """Every commission of the advocate, oldest sale first, as tuples for a CSV export:
    (placed_at, order external id, order net amount, commission amount, currency, status,
    hold_until). Streams in chunks: fine for an advocate with a long history."""
    return (
        Commission.objects.filter(advocate=advocate)
        .order_by("order__placed_at", "id")
        .values_list(
            "order__placed_at",
            "order__external_id",
            "order__net_amount",
            "amount",
            "currency",
            "status",
            "hold_until",
        )
        .iterator(chunk_size=2000)
    )


# ------------------------------------------------------------------------------
# The managers' admin: the commission queue, the audit trail and payout batches


class SubqueryCount(Subquery):
    """How many rows a correlated queryset has, as an integer column (no join, no GROUP BY)."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) _count)"
    output_field = IntegerField()


def commission_queue() -> QuerySet[Commission]:
    """Commissions as managers review them, each with `has_open_fraud`: its order carries a
    fraud signal nobody has resolved yet."""
    open_signal = FraudSignal.objects.filter(order=OuterRef("order"), resolved_at__isnull=True)
    return Commission.objects.select_related(
        "order__programme", "advocate__user", "advocate__programme", "payout"
    ).annotate(has_open_fraud=Exists(open_signal))


def commissions_ready_for_review(
    queryset: QuerySet[Commission], *, now=None
) -> QuerySet[Commission]:
    """Pending, past their hold and not frozen: what a manager may approve today."""
    return queryset.filter(
        status=Commission.Status.PENDING, frozen=False, hold_until__lte=now or timezone.now()
    )


def commission_risk_flags(commission: Commission, *, now=None) -> list[str]:
    """What needs a manager's eye on a commission of `commission_queue` (or one with
    `has_open_fraud` unset: then no fraud flag), as codes: "fraud" (its order has an unresolved
    fraud signal), "frozen" (an open dispute), "ready" (pending, past its hold, not frozen)."""
    now = now or timezone.now()
    flags = []
    if getattr(commission, "has_open_fraud", False):
        flags.append("fraud")
    if commission.frozen:
        flags.append("frozen")
    if (
        commission.status == Commission.Status.PENDING
        and not commission.frozen
        and commission.hold_until <= now
    ):
        flags.append("ready")
    return flags


def audit_trail(obj) -> QuerySet[AuditEvent]:
    """Every audit row about one money object (a commission, an order, a batch, a payout)."""
    return AuditEvent.objects.filter(
        object_type=obj._meta.model_name, object_id=obj.pk
    ).select_related("actor")


def commission_ledger(commission: Commission) -> QuerySet[LedgerEntry]:
    return LedgerEntry.objects.filter(commission=commission).order_by("created_at", "id")


def audit_actions() -> list[str]:
    """Every action name the audit log holds, for the log's filter."""
    return list(AuditEvent.objects.order_by("action").values_list("action", flat=True).distinct())


# What each audited object type is, loaded with what its sentence names (advocate, order...).
_AUDIT_SUBJECTS = {
    "commission": lambda: Commission.objects.select_related("advocate__user", "order"),
    "payout": lambda: Payout.objects.select_related("advocate__user"),
    "payoutbatch": lambda: PayoutBatch.objects.all(),
    "order": lambda: Order.objects.all(),
    "apikey": lambda: ApiKey.objects.select_related("store"),
    "store": lambda: Store.objects.all(),
    "webhookevent": lambda: WebhookEvent.objects.all(),
    "advocate": lambda: Advocate.objects.select_related("user"),
    "fraudsignal": lambda: FraudSignal.objects.select_related("order"),
    "adjustment": lambda: Adjustment.objects.select_related("advocate__user"),
}


def audit_event_subjects(events) -> dict[tuple[str, int], object]:
    """The objects a page of audit events is about, keyed by (object_type, object_id): one
    query per object type present, whatever the number of events (and their actors, when the
    events were not loaded with them)."""
    events = list(events)
    prefetch_related_objects(events, "actor")
    wanted: dict[str, set[int]] = {}
    for event in events:
        if event.object_type in _AUDIT_SUBJECTS:
            wanted.setdefault(event.object_type, set()).add(event.object_id)
    return {
        (object_type, obj.pk): obj
        for object_type, ids in wanted.items()
        for obj in _AUDIT_SUBJECTS[object_type]().filter(pk__in=ids)
    }
