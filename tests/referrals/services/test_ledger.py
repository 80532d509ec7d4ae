"""The ledger's one writer and its one definition of "payable".

Every ledger row is written by `services.ledger.ledger_write` (or, for the batch build, its
set-based form): checked by behaviour (each row saved in a full money flow came through it) and
by a scan of the source. The three readers of "payable" (the ORM balance, the advocate's
figures in raw SQL, the batch build in raw SQL) agree on a history with every kind of entry."""

import inspect
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import IntegrityError, transaction
from django.db.models.signals import pre_save
from django.utils import timezone

from referrals import ledger_selectors
from referrals.models import LedgerEntry
from referrals.payouts import services as payouts
from referrals.selectors import advocate_balance
from referrals.services import ledger
from referrals.services.commissions import commission_approve, commission_reject
from referrals.services.refunds import dispute_close, dispute_open, refund_record
from tests.factories import PASSWORD, AdvocateFactory, UserFactory, sale

pytestmark = pytest.mark.django_db

LONG_AGO = timezone.now() - timedelta(days=60)


@pytest.fixture
def manager():
    return UserFactory(is_staff=True, is_superuser=True)


def _approved(rep_code, external_id, gross, manager):
    commission = sale(rep_code, external_id, gross, LONG_AGO).commission
    return commission_approve(commission_id=commission.pk, actor=manager)


def test_every_ledger_row_of_a_money_flow_is_written_by_ledger_write(rep_code, manager):
    """Earn, reject, refund, dispute lost, reserve (build), fail, retry: each row saved passes
    through ledger_write (the build's rows are written by its set-based SQL, no save())."""
    writers = []

    def record(sender, instance, **kwargs):
        frames = {(frame.function, frame.filename) for frame in inspect.stack()}
        writers.append(
            # `in`: under `make mutate` mutmut renames it x_ledger_write__mutmut_orig.
            any("ledger_write" in name and path == ledger.__file__ for name, path in frames)
        )

    pre_save.connect(record, sender=LedgerEntry, weak=False)
    try:
        paid = _approved(rep_code, "to-pay", 5000, manager)
        rejected = sale(rep_code, "to-reject", 3000, LONG_AGO).commission
        commission_reject(commission_id=rejected.pk, actor=manager, reason="Test order")
        refunded = sale(rep_code, "to-refund", 4000)
        refund_record(order=refunded.order, external_id="re_1", amount=1000)
        disputed = sale(rep_code, "to-dispute", 2000)
        dispute_open(order=disputed.order, external_id="dp_1")
        dispute_close(order=disputed.order, external_id="dp_1", won=False)
        batch = payouts.payout_batch_build(programme_id=rep_code.advocate.programme_id)
        payouts.payout_batch_approve(batch_id=batch.pk, actor=manager, password=PASSWORD)
        payouts.payout_batch_execute(batch_id=batch.pk, actor=manager)
        [payout] = batch.payouts.all()
        payouts.payout_mark_failed(payout_id=payout.pk, actor=manager, reason="Bank said no")
        payouts.payout_retry(payout_id=payout.pk, actor=manager)
    finally:
        pre_save.disconnect(record, sender=LedgerEntry)

    assert paid.pk
    kinds = list(LedgerEntry.objects.values_list("kind", flat=True))
    assert set(kinds) == {"earned", "reversed", "paid", "payout_failed"}
    # All but the batch build's one reservation were saved one by one, all by ledger_write.
    assert len(writers) == len(kinds) - 1
    assert all(writers)


def test_no_other_module_creates_ledger_rows():
    root = Path(ledger.__file__).resolve().parents[1]
    pattern = re.compile(
        r"LedgerEntry\.objects\.(create|bulk_create|get_or_create|update_or_create)"
        r"|LedgerEntry\(|INSERT INTO \{ledger",
    )
    offenders = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if path.name != "ledger.py" and "migrations" not in path.parts
        if pattern.search(path.read_text())
    ]
    assert offenders == ["models/commissions.py"]  # the class definition itself


def test_ledger_write_keeps_one_row_per_kind_and_reference(advocate):
    write = dict(advocate_id=advocate.pk, currency="EUR", kind="adjustment", reference="manual:1")
    ledger.ledger_write(amount=100, **write)
    with pytest.raises(IntegrityError), transaction.atomic():
        ledger.ledger_write(amount=100, **write)
    ledger.ledger_write(amount=-100, **{**write, "kind": "reversed"})  # another kind: allowed
    assert LedgerEntry.objects.count() == 2


@pytest.mark.parametrize(
    ("kind", "amount"),
    [("earned", -5), ("reversed", 5), ("paid", 5), ("payout_failed", -5), ("adjustment", 0)],
)
def test_ledger_write_refuses_an_amount_the_kind_cannot_carry(advocate, kind, amount):
    with pytest.raises(ValueError, match="ledger amount|entry can't be"):
        ledger.ledger_write(
            advocate_id=advocate.pk, currency="EUR", kind=kind, amount=amount, reference="x:1"
        )
    assert not LedgerEntry.objects.exists()


def test_ledger_write_refuses_an_unknown_kind(advocate):
    with pytest.raises(ValueError, match="Unknown ledger kind"):
        ledger.ledger_write(
            advocate_id=advocate.pk, currency="EUR", kind="gift", amount=5, reference="x:1"
        )


def test_the_readers_of_payable_agree(rep_code, manager):
    """Pending, approved, frozen, rejected and refunded commissions: the ORM balance, the
    figures' SQL and the batch build all count the same money as payable."""
    advocate = rep_code.advocate
    _approved(rep_code, "approved", 5000, manager)
    sale(rep_code, "pending", 7000)
    frozen = sale(rep_code, "frozen", 3000, LONG_AGO)
    commission_approve(commission_id=frozen.commission.pk, actor=manager)
    dispute_open(order=frozen.order, external_id="dp_1")
    rejected = sale(rep_code, "rejected", 3000, LONG_AGO).commission
    commission_reject(commission_id=rejected.pk, actor=manager, reason="Test order")
    refunded = _approved(rep_code, "refunded", 4000, manager)
    refund_record(order=refunded.order, external_id="re_1", amount=1000)

    payable = ledger_selectors.payable_balance(advocate, "EUR")
    assert 0 < payable < ledger_selectors.balance(advocate, "EUR")
    assert advocate_balance(advocate).payable == payable
    [row] = ledger_selectors.payable_balances(programme_id=advocate.programme_id, currency="EUR")
    assert row == {"advocate_id": advocate.pk, "total": payable}
    batch = payouts.payout_batch_build(programme_id=advocate.programme_id, actor=manager)
    assert batch.payouts.get().amount == payable
    assert ledger_selectors.payable_balance(advocate, "EUR") == 0


def test_payable_balances_are_one_programme_and_one_currency(advocate):
    """The batch build's per-advocate totals: another programme's advocate and the same
    advocate's money in another currency are not in them."""
    stranger = AdvocateFactory()  # another programme
    entries = [
        (advocate, "EUR", 700, "adjustment:1"),
        (advocate, "EUR", -200, "adjustment:2"),
        (advocate, "USD", 9_000, "adjustment:3"),
        (stranger, "EUR", 4_000, "adjustment:4"),
    ]
    for who, currency, amount, reference in entries:
        ledger.ledger_write(
            advocate_id=who.pk,
            currency=currency,
            kind="adjustment",
            amount=amount,
            reference=reference,
        )

    rows = ledger_selectors.payable_balances(programme_id=advocate.programme_id, currency="EUR")

    assert list(rows) == [{"advocate_id": advocate.pk, "total": 500}]
