"""The payout schedule: each day, a draft batch for every programme whose schedule falls on
that day, through the ordinary build. Managers still review and approve every batch.

At most one batch per programme and day: the build records the day on the batch
(`PayoutBatch.scheduled_for`), unique per programme in the database, so a second run of the
task, or two workers running it at once, can't build a second batch."""

from datetime import date

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from advocacy.models import PayoutSchedule, Programme
from referrals.models import PayoutBatch
from referrals.payouts.services.build import payout_batch_build


def payout_schedule_due(day: date):
    """The programmes whose schedule builds a batch on `day` and that have none for it yet (a
    draft programme pays nobody): one query."""
    return (
        Programme.objects.exclude(status=Programme.Status.DRAFT)
        .filter(
            Q(payout_schedule=PayoutSchedule.WEEKLY, payout_schedule_weekday=day.weekday())
            | Q(payout_schedule=PayoutSchedule.MONTHLY, payout_schedule_day=day.day)
        )
        .exclude(batches__scheduled_for=day)
        .order_by("pk")
    )


def payout_schedule_run(*, day: date | None = None) -> list[PayoutBatch]:
    """Build today's (or `day`'s) scheduled batches as drafts, audited as built by the schedule
    (no actor). A programme where nobody has enough to be paid gets no batch. Returns the
    batches built."""
    day = day or timezone.localdate()
    built = []
    for programme in payout_schedule_due(day):
        try:
            # Each programme in its own transaction: one failing doesn't undo the others.
            with transaction.atomic():
                batch = payout_batch_build(
                    programme_id=programme.pk,
                    actor=None,
                    backend=programme.payout_schedule_backend,
                    scheduled_for=day,
                )
        except IntegrityError:
            # Another run built this programme's batch for the day meanwhile; anything else
            # is a bug to hear about.
            if PayoutBatch.objects.filter(programme=programme, scheduled_for=day).exists():
                continue
            raise
        if batch is not None:
            built.append(batch)
    return built
