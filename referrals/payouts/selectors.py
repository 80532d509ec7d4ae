"""Reads for the payout screens: a batch's lines, its progress, its export rows and its history."""

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import (
    Count,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Sum,
)
from django.utils import dateformat

from advocacy.models import Advocate, PayoutSchedule, Programme
from advocacy.payout_details import payout_details_summary
from kernel.admin import plural
from kernel.money import format_money
from referrals.ledger_selectors import payable_balances
from referrals.models import (
    AuditEvent,
    Commission,
    FraudSignal,
    Payout,
    PayoutBatch,
)
from referrals.payouts.destination import destination_changed
from referrals.payouts.schedule import next_schedule_day, schedule_description
from referrals.selectors import SubqueryCount

DESTINATION_CHANGED = "Payout details changed after approval"

# Advocates whose payouts are neither built nor sent: their money waits in their balance.
NOT_PAYABLE = (Advocate.Status.PAUSED, Advocate.Status.BANNED)


@dataclass(frozen=True)
class LeftOut:
    """Who a batch build leaves out although their balance reaches the threshold."""

    currency: str
    by_status: dict  # status -> (advocates, amount in minor units)

    def sentence(self) -> str:
        """ "Left out: 1 paused advocate (€8.00) and ...", or "" when nobody is."""
        parts = [
            f"{plural(count, f'{status} advocate')} ({format_money(amount, self.currency)})"
            for status, (count, amount) in self.by_status.items()
        ]
        if not parts:
            return ""
        return (
            f"Left out: {' and '.join(parts)}: their money stays in their balance until they "
            "are active again."
        )


def payout_build_left_out(*, programme) -> LeftOut:
    """The paused and banned advocates of a programme a build would pay if they were active,
    counted by status with their payable total: one grouped query (the build's preview and its
    confirmation say it)."""
    threshold = max(programme.payout_threshold, 1)
    rows = (
        payable_balances(programme_id=programme.pk, currency=programme.currency)
        .filter(advocate__status__in=NOT_PAYABLE)
        .annotate(status=F("advocate__status"))
        .values_list("status", "total")
    )
    by_status = {}
    for status in NOT_PAYABLE:
        amounts = [
            total for row_status, total in rows if row_status == status and total >= threshold
        ]
        if amounts:
            by_status[str(status)] = (len(amounts), sum(amounts))
    return LeftOut(currency=programme.currency, by_status=by_status)


def audit_events_for_batch(batch_id: int) -> QuerySet[AuditEvent]:
    """The batch's own rows and those of its payouts (retries included)."""
    payout_ids = Payout.objects.filter(batch_id=batch_id).values("pk")
    return AuditEvent.objects.filter(
        Q(object_type="payoutbatch", object_id=batch_id)
        | Q(object_type="payout", object_id__in=payout_ids)
    ).select_related("actor")


def payout_batch_lines(batch: PayoutBatch) -> QuerySet[Payout]:
    """The batch's payouts, one line per advocate (and per retry), with what a reviewer must
    see before approving: `open_fraud_signals` on the advocate or their orders,
    `frozen_commissions` (an open dispute) and `commission_count` (what the payout settles)."""
    advocate = OuterRef("advocate")
    open_signals = FraudSignal.objects.filter(
        Q(advocate=advocate) | Q(order__advocate=advocate), resolved_at__isnull=True
    ).values("pk")
    frozen = Commission.objects.filter(advocate=advocate, frozen=True).values("pk")
    settled = Commission.objects.filter(advocate=advocate, payout=OuterRef("pk")).values("pk")
    return (
        batch.payouts.select_related("advocate__user", "retry_of")
        .annotate(
            open_fraud_signals=SubqueryCount(open_signals),
            frozen_commissions=SubqueryCount(frozen),
            commission_count=SubqueryCount(settled),
            retried=Exists(Payout.objects.filter(retry_of=OuterRef("pk"))),
        )
        .order_by("id")
    )


def payout_line_flags(payout: Payout, batch: PayoutBatch) -> list[str]:
    """What a reviewer must notice on a line of `payout_batch_lines` before approving: fraud
    signals, frozen commissions, an advocate who is not active, or no way for the batch's
    backend to pay them."""
    advocate = payout.advocate
    details = payout_details_summary(advocate)
    flags = []
    if payout.open_fraud_signals:
        flags.append(plural(payout.open_fraud_signals, "open fraud signal"))
    if payout.frozen_commissions:
        flags.append(plural(payout.frozen_commissions, "frozen commission"))
    if advocate.status != Advocate.Status.ACTIVE:
        flags.append(f"Advocate {advocate.get_status_display().lower()}")
    if (
        payout.status == Payout.Status.PENDING
        and batch.status in (PayoutBatch.Status.APPROVED, PayoutBatch.Status.EXECUTING)
        and destination_changed(payout, batch.backend)
    ):
        flags.append(DESTINATION_CHANGED)
    if batch.backend == PayoutBatch.Backend.MANUAL and (
        not details.is_set or details.method == Advocate.PayoutMethod.STRIPE_CONNECT
    ):
        flags.append("No bank or PayPal details")
    if batch.backend == PayoutBatch.Backend.STRIPE_CONNECT and not advocate.stripe_account_id:
        flags.append("No Stripe account")
    elif (
        batch.backend == PayoutBatch.Backend.STRIPE_CONNECT and not advocate.stripe_payouts_enabled
    ):
        flags.append("Stripe payouts not enabled yet")
    return flags


@dataclass(frozen=True)
class BatchProgress:
    paid: int
    failed: int  # failed and not retried (a retry is a payout of its own)
    pending: int  # pending or processing
    paid_amount: int
    open_amount: int

    @property
    def total(self) -> int:
        return self.paid + self.failed + self.pending

    @property
    def settled(self) -> int:
        return self.paid + self.failed

    @property
    def percent(self) -> int:
        return round(100 * self.settled / self.total) if self.total else 100


def payout_batch_progress(batch: PayoutBatch) -> BatchProgress:
    open_statuses = [Payout.Status.PENDING, Payout.Status.PROCESSING]
    counts = batch.payouts.aggregate(
        paid=Count("pk", filter=Q(status=Payout.Status.PAID)),
        failed=Count("pk", filter=Q(status=Payout.Status.FAILED, retry__isnull=True)),
        pending=Count("pk", filter=Q(status__in=open_statuses)),
        paid_amount=Sum("amount", filter=Q(status=Payout.Status.PAID), default=0),
        open_amount=Sum("amount", filter=Q(status__in=open_statuses), default=0),
    )
    return BatchProgress(**counts)


def payout_batch_export(batch: PayoutBatch) -> QuerySet[Payout]:
    """The payouts still to be paid by hand (the manual backend's CSV), with their advocates."""
    return (
        batch.payouts.filter(status=Payout.Status.PENDING)
        .select_related("advocate__user")
        .order_by("id")
    )


@dataclass(frozen=True)
class NextScheduledBatch:
    programme: Programme
    day: date
    schedule: str  # "weekly, on Mondays"

    def sentence(self, *, several: bool) -> str:
        """ "Next scheduled batch: Monday 7 December (weekly, on Mondays)." (with the
        programme's name when several programmes have a schedule)."""
        name = f" of {self.programme}" if several else ""
        when = dateformat.format(self.day, "l j F")
        return f"Next scheduled batch{name}: {when} ({self.schedule})."


def payout_schedules_next(*, today: date) -> list[NextScheduledBatch]:
    """For every programme with a payout schedule (not a draft), the day it builds its next
    batch: today when today's is still to build, else the next day it falls on. One query."""
    programmes = (
        Programme.objects.exclude(payout_schedule=PayoutSchedule.OFF)
        .exclude(status=Programme.Status.DRAFT)
        .annotate(
            built_today=Exists(
                PayoutBatch.objects.filter(programme=OuterRef("pk"), scheduled_for=today)
            )
        )
        .order_by("name", "pk")
    )
    return [
        NextScheduledBatch(
            programme=programme,
            day=next_schedule_day(
                programme, today + timedelta(days=1) if programme.built_today else today
            ),
            schedule=schedule_description(programme),
        )
        for programme in programmes
    ]
