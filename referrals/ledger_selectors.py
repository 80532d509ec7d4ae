"""Reads of the append-only ledger: balances, and the one definition of "payable".

- balance: every entry, pending earnings included (what the advocate has earned net of
  reversals and payments, whatever its status).
- payable: the part that may be paid now: entries not tied to a commission (payments, failed
  payments, adjustments) plus those of a *settled* commission (approved, paid, reversed or
  rejected) that no dispute freezes. Pending and frozen commissions wait.

`SETTLED` is the one constant; `PAYABLE_ENTRIES` (ORM) and `settled_commission_sql` (raw SQL,
for the payout build and the advocate's figures) are both built from it, so the three readers
of "payable" can't drift apart.
"""

from django.db.models import Q, QuerySet, Sum

from advocacy.models import Advocate
from referrals.models import Commission, LedgerEntry

SETTLED = (
    Commission.Status.APPROVED,
    Commission.Status.PAID,
    Commission.Status.REVERSED,
    Commission.Status.REJECTED,
)
PAYABLE_ENTRIES = Q(commission__isnull=True) | Q(
    commission__status__in=SETTLED, commission__frozen=False
)


def settled_commission_sql(alias: str) -> tuple[str, list]:
    """(SQL, params): the commission row `alias` is settled and not frozen. An entry is payable
    when it has no commission or its commission matches this (`PAYABLE_ENTRIES` in SQL)."""
    placeholders = ", ".join(["%s"] * len(SETTLED))
    return f"{alias}.status IN ({placeholders}) AND {alias}.frozen = %s", [*SETTLED, False]


def balance(advocate: Advocate, currency: str) -> int:
    return LedgerEntry.objects.filter(advocate=advocate, currency=currency).aggregate(
        total=Sum("amount", default=0)
    )["total"]


def payable_balance(advocate: Advocate, currency: str) -> int:
    return (
        LedgerEntry.objects.filter(advocate=advocate, currency=currency)
        .filter(PAYABLE_ENTRIES)
        .aggregate(total=Sum("amount", default=0))["total"]
    )


def payable_balances(*, programme_id: int, currency: str) -> QuerySet:
    """advocate_id -> payable total for every advocate of a programme, in one grouped query."""
    return (
        LedgerEntry.objects.filter(advocate__programme_id=programme_id, currency=currency)
        .filter(PAYABLE_ENTRIES)
        .values("advocate_id")
        .annotate(total=Sum("amount"))
        .order_by()
    )


def commission_outstanding(commission: Commission) -> int:
    """What is still credited for this commission: earned minus what was reversed."""
    return commission.ledger.aggregate(total=Sum("amount", default=0))["total"]
