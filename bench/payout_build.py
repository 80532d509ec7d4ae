"""Building a payout batch for 100,000 advocates: seconds of `payout_batch_build`.

Ours: the service (set-based SQL) on a programme whose 100k advocates each have an approved
commission above the threshold (payable) and a pending one (held); see datagen.payout_data.
The batch must come out with one payout per advocate, and every advocate's payable balance at
zero afterwards.

Baseline: the build as a Python loop over advocates through the ORM (payable balance, payout,
`paid` ledger entry and the commissions' payout link, advocate by advocate, in one
transaction), run on a programme of the same shape with 2,000 advocates and extrapolated
linearly to 100k: what the set-based build replaces. Running the loop on all 100k would take
minutes of a bench run to learn the same thing.
"""

import time
from collections.abc import Callable

from django.db import transaction
from django.db.models import Sum

from advocacy.models import Advocate
from referrals.ledger_selectors import payable_balance, payable_balances
from referrals.models import Commission, LedgerEntry, Payout, PayoutBatch
from referrals.payouts.services import payout_batch_build

from .datagen import payout_data
from .report import Figure, Target

ADVOCATES = 100_000
LOOP_ADVOCATES = 2_000
TARGET_SECONDS = 5.0


@transaction.atomic
def _loop_build(programme) -> PayoutBatch:
    """The per-advocate build the set-based service replaces (same rules, row by row)."""
    batch = PayoutBatch.objects.create(programme=programme, currency=programme.currency)
    threshold = max(programme.payout_threshold, 1)
    total = count = 0
    for advocate in Advocate.objects.filter(programme=programme).exclude(
        status=Advocate.Status.BANNED
    ):
        amount = payable_balance(advocate, programme.currency)
        if amount < threshold:
            continue
        payout = Payout.objects.create(
            batch=batch, advocate=advocate, currency=programme.currency, amount=amount
        )
        LedgerEntry.objects.create(
            advocate=advocate,
            currency=programme.currency,
            amount=-amount,
            kind=LedgerEntry.Kind.PAID,
            reference=f"payout:{payout.pk}",
            memo=f"Payout batch {batch.pk}",
        )
        Commission.objects.filter(
            advocate=advocate,
            currency=programme.currency,
            status=Commission.Status.APPROVED,
            payout__isnull=True,
            frozen=False,
        ).update(payout=payout)
        total += amount
        count += 1
    PayoutBatch.objects.filter(pk=batch.pk).update(total_amount=total, payout_count=count)
    return batch


def _check(programme, batch: PayoutBatch, advocates: int) -> None:
    payouts = Payout.objects.filter(batch=batch)
    if payouts.count() != advocates:
        raise AssertionError(f"{payouts.count()} payouts for {advocates} advocates")
    left = payable_balances(programme_id=programme.pk, currency=programme.currency)
    if any(row["total"] for row in left):
        raise AssertionError("payable money was left out of the batch")
    linked = Commission.objects.filter(payout__batch=batch).aggregate(total=Sum("amount"))
    if linked["total"] != payouts.aggregate(total=Sum("amount"))["total"]:
        raise AssertionError("the payouts don't match the commissions they settle")


def payout_figure(
    progress: Callable[[str], None],
    *,
    advocates: int = ADVOCATES,
    loop_advocates: int = LOOP_ADVOCATES,
) -> Figure:
    started = time.perf_counter()
    programme = payout_data(slug="bench-payouts", advocates=advocates)
    loop_programme = payout_data(slug="bench-payouts-loop", advocates=loop_advocates)
    progress(
        f"generated {advocates:,} + {loop_advocates:,} advocates with commissions "
        f"in {time.perf_counter() - started:.1f}s"
    )

    started = time.perf_counter()
    batch = payout_batch_build(programme_id=programme.pk)
    ours = time.perf_counter() - started
    _check(programme, batch, advocates)
    progress(f"set-based build: {batch.payout_count:,} payouts in {ours:.2f}s")

    started = time.perf_counter()
    loop_batch = _loop_build(loop_programme)
    loop_seconds = time.perf_counter() - started
    _check(loop_programme, loop_batch, loop_advocates)
    baseline = loop_seconds * advocates / loop_advocates
    progress(
        f"loop build: {loop_advocates:,} payouts in {loop_seconds:.2f}s, "
        f"{baseline:.0f}s extrapolated to {advocates:,}"
    )
    return Figure(
        name=f"payout batch build, {advocates // 1000}k advocates",
        unit="s",
        ours=ours,
        baseline=baseline,
        higher_is_better=False,
        target=Target(f"ours <= {TARGET_SECONDS:.0f} s", TARGET_SECONDS),
        note=f"the same build as a per-advocate ORM loop, timed on {loop_advocates:,} "
        f"advocates and extrapolated linearly to {advocates:,}",
    )
