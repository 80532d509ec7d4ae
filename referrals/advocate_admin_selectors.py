"""Advocates in the managers' admin: the listing's figures and the advocate's page (figures per
currency, codes, recent commissions and payouts, fraud signals, audit trail)."""

from dataclasses import dataclass

from django.db.models import BigIntegerField, Count, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from advocacy.models import Advocate, RepCode
from referrals.ledger_selectors import PAYABLE_ENTRIES
from referrals.models import (
    AuditEvent,
    ClickDaily,
    Commission,
    FraudSignal,
    LedgerEntry,
    Order,
    Payout,
)
from referrals.selectors import SubqueryCount, advocate_payouts


def _subquery_total(queryset: QuerySet, field: str) -> Coalesce:
    """SUM(`field`) over a queryset correlated to the outer advocate, as one integer column."""
    total = queryset.order_by().values("advocate_id").annotate(total=Sum(field)).values("total")
    return Coalesce(Subquery(total[:1], output_field=BigIntegerField()), 0)


def advocates_with_figures(queryset: QuerySet[Advocate]) -> QuerySet[Advocate]:
    """Advocates annotated with `click_count`, `referred_orders`, `earned` and `balance` (money in
    their programme's currency, minor units), each a correlated subquery on an index that
    starts with the advocate: one query for a page of advocates, whatever its size."""
    in_currency = LedgerEntry.objects.filter(
        advocate=OuterRef("pk"), currency=OuterRef("programme__currency")
    )
    return queryset.annotate(
        click_count=_subquery_total(ClickDaily.objects.filter(advocate=OuterRef("pk")), "clicks"),
        referred_orders=SubqueryCount(Order.objects.filter(advocate=OuterRef("pk")).values("pk")),
        earned=_subquery_total(in_currency.filter(kind=LedgerEntry.Kind.EARNED), "amount"),
        balance=_subquery_total(in_currency, "amount"),
    )


@dataclass(frozen=True)
class CurrencyFigures:
    """An advocate's money in one currency (minor units); reversed and paid as positive
    figures. balance = earned - reversed - paid + adjustments; payable follows
    `ledger_selectors.PAYABLE_ENTRIES`, the one definition of payable."""

    currency: str
    referred_orders: int = 0
    referred_revenue: int = 0  # the orders' net amounts (after the shopper's discount)
    earned: int = 0
    reversed: int = 0
    paid: int = 0  # paid out, net of payouts that failed and were credited back
    balance: int = 0
    payable: int = 0


def advocate_figures_by_currency(advocate: Advocate) -> list[CurrencyFigures]:
    """Referred orders and ledger money per currency, the programme's currency first (shown
    even when empty); two grouped queries. Nothing is summed across currencies."""
    kind = LedgerEntry.Kind
    ledger = (
        LedgerEntry.objects.filter(advocate=advocate)
        .values("currency")
        .annotate(
            earned=Sum("amount", filter=Q(kind=kind.EARNED), default=0),
            reversed=Sum("amount", filter=Q(kind=kind.REVERSED), default=0),
            paid=Sum("amount", filter=Q(kind__in=[kind.PAID, kind.PAYOUT_FAILED]), default=0),
            balance=Sum("amount", default=0),
            payable=Sum("amount", filter=PAYABLE_ENTRIES, default=0),
        )
        .order_by()
    )
    orders = (
        Order.objects.filter(advocate=advocate)
        .values("currency")
        .annotate(count=Count("pk"), revenue=Sum("net_amount", default=0))
        .order_by()
    )
    rows: dict[str, dict] = {advocate.programme.currency: {}}
    for row in orders:
        rows.setdefault(row["currency"], {}).update(
            referred_orders=row["count"], referred_revenue=row["revenue"]
        )
    for row in ledger:
        rows.setdefault(row["currency"], {}).update(
            earned=row["earned"],
            reversed=-row["reversed"],
            paid=-row["paid"],
            balance=row["balance"],
            payable=row["payable"],
        )
    return [CurrencyFigures(currency=currency, **values) for currency, values in rows.items()]


def advocate_clicks(advocate: Advocate) -> int:
    return ClickDaily.objects.filter(advocate=advocate).aggregate(total=Sum("clicks", default=0))[
        "total"
    ]


def advocate_codes_with_figures(advocate: Advocate) -> QuerySet[RepCode]:
    """Every code of the advocate (active first, then oldest), with `click_count` and
    `sale_count`."""
    clicks = (
        ClickDaily.objects.filter(rep_code=OuterRef("pk"))
        .order_by()
        .values("rep_code_id")
        .annotate(total=Sum("clicks"))
        .values("total")
    )
    return (
        RepCode.objects.filter(advocate=advocate)
        .annotate(
            click_count=Coalesce(Subquery(clicks[:1], output_field=BigIntegerField()), 0),
            sale_count=SubqueryCount(Order.objects.filter(rep_code=OuterRef("pk")).values("pk")),
        )
        .order_by("-is_active", "created_at", "pk")
    )


def advocate_recent_commissions(advocate: Advocate, limit: int = 10) -> list[Commission]:
    return list(
        Commission.objects.filter(advocate=advocate)
        .select_related("order")
        .order_by("-created_at", "-pk")[:limit]
    )


def advocate_recent_payouts(advocate: Advocate, limit: int = 10) -> list[Payout]:
    return list(advocate_payouts(advocate)[:limit])


def advocate_fraud_signals(advocate: Advocate, limit: int = 20) -> list[FraudSignal]:
    """Signals raised on the advocate's orders (or on the advocate), unresolved first."""
    return list(
        FraudSignal.objects.filter(Q(advocate=advocate) | Q(order__advocate=advocate))
        .select_related("order")
        .order_by(F("resolved_at").desc(nulls_first=True), "-created_at", "-pk")[:limit]
    )


def advocate_audit_trail(advocate: Advocate, limit: int = 50) -> list[AuditEvent]:
    """Audit rows about the advocate, their commissions and their payouts, newest first."""
    about = (
        Q(object_type="advocate", object_id=advocate.pk)
        | Q(
            object_type="commission",
            object_id__in=Commission.objects.filter(advocate=advocate).values("pk"),
        )
        | Q(
            object_type="payout",
            object_id__in=Payout.objects.filter(advocate=advocate).values("pk"),
        )
    )
    return list(AuditEvent.objects.filter(about).select_related("actor")[:limit])
