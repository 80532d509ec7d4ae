"""Payout execution on PostgreSQL against the fake Stripe server: 20 workers executing the same
payout, a worker that dies between the transfer and the commit, and a whole batch built with the
set-based SQL (a payout is executed at most once)."""

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from advocacy.models import Advocate
from referrals import ledger_selectors as ledger
from referrals.models import Commission, LedgerEntry, Payout, PayoutBatch
from referrals.payouts import services as payouts
from referrals.payouts import tasks
from referrals.services import commissions
from referrals.services.orders import order_ingest
from tests.factories import PASSWORD, AdvocateFactory, RepCodeFactory, UserFactory, received_ago

from .conftest import THREADS

pytestmark = [pytest.mark.pg, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def manager(db):
    return UserFactory(is_staff=True, is_superuser=True)


def earn(rep_code, *, orders: int, gross: int = 10_000) -> None:
    """Approved commissions (10% of `gross` each) for the code's advocate."""
    for _ in range(orders):
        result = order_ingest(
            source="api",
            external_id=f"ord-{rep_code.code}-{Commission.objects.count()}",
            currency="EUR",
            gross_amount=gross,
            code=rep_code.code,
            placed_at=timezone.now() - timedelta(days=45),
        )
        commissions.commission_approve(
            commission_id=received_ago(result.commission, timedelta(days=45)).pk
        )


def connected(rep_code, account: str = "acct_1Connected"):
    Advocate.objects.filter(pk=rep_code.advocate_id).update(
        stripe_account_id=account, stripe_payouts_enabled=True
    )


def build_and_approve(programme, manager) -> PayoutBatch:
    batch = payouts.payout_batch_build(
        programme_id=programme.pk, actor=manager, backend=PayoutBatch.Backend.STRIPE_CONNECT
    )
    return payouts.payout_batch_approve(batch_id=batch.pk, actor=manager, password=PASSWORD)


@pytest.fixture
def queued(monkeypatch):
    """Execute a batch without running its payout tasks: their ids, for the test to run."""
    ids = []
    monkeypatch.setattr(tasks.payout_execute, "delay", ids.append)
    return ids


def paid_entries(payout) -> int:
    return LedgerEntry.objects.filter(
        kind=LedgerEntry.Kind.PAID, reference=f"payout:{payout.pk}"
    ).count()


def test_twenty_workers_executing_one_payout_send_one_transfer(
    threads, fake_stripe, rep_code, manager, queued
):
    connected(rep_code)
    earn(rep_code, orders=3)
    batch = build_and_approve(rep_code.advocate.programme, manager)
    payouts.payout_batch_execute(batch_id=batch.pk, actor=manager)
    [payout_id] = queued

    outcomes = threads(lambda i: payouts.payout_execute(payout_id=payout_id).status)

    assert [o.error for o in outcomes] == [None] * THREADS
    assert {o.result for o in outcomes} == {Payout.Status.PAID}
    payout = Payout.objects.get(pk=payout_id)
    [transfer] = fake_stripe.transfers
    assert transfer["amount"] == payout.amount == 3_000
    assert payout.external_ref == transfer["id"]
    # Workers that found it `processing` asked again with the same key and got the replay.
    sent = fake_stripe.requests_to("POST", "/v1/transfers")
    assert {r.idempotency_key for r in sent} == {payout.idempotency_key}
    assert {r.response["id"] for r in sent} == {transfer["id"]}
    assert paid_entries(payout) == 1
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.PAYOUT_FAILED).count() == 0
    assert set(payout.commissions.values_list("status", flat=True)) == {Commission.Status.PAID}
    assert ledger.balance(rep_code.advocate, "EUR") == 0
    assert PayoutBatch.objects.get(pk=batch.pk).status == PayoutBatch.Status.DONE


def test_a_worker_dying_after_the_transfer_is_recovered_without_a_second_transfer(
    fake_stripe, rep_code, manager, queued, monkeypatch
):
    connected(rep_code)
    earn(rep_code, orders=2)
    batch = build_and_approve(rep_code.advocate.programme, manager)
    payouts.payout_batch_execute(batch_id=batch.pk, actor=manager)
    [payout_id] = queued

    def dies(*args, **kwargs):
        raise SystemExit("worker killed after Stripe answered, before the commit")

    with monkeypatch.context() as patch:
        patch.setattr(payouts.payouts, "_payout_paid", dies)  # the module of payout_execute
        with pytest.raises(SystemExit):
            payouts.payout_execute(payout_id=payout_id)

    payout = Payout.objects.get(pk=payout_id)
    assert payout.status == Payout.Status.PROCESSING
    assert payout.external_ref == ""
    [transfer] = fake_stripe.transfers

    payout = payouts.payout_execute(payout_id=payout_id)  # the task's retry

    assert payout.status == Payout.Status.PAID
    assert payout.external_ref == transfer["id"]
    assert len(fake_stripe.transfers) == 1
    first, retry = fake_stripe.requests_to("POST", "/v1/transfers")
    assert first.idempotency_key == retry.idempotency_key == payout.idempotency_key
    assert (first.replayed, retry.replayed) == (False, True)
    assert retry.response == first.response
    assert paid_entries(payout) == 1
    assert ledger.balance(rep_code.advocate, "EUR") == 0
    assert PayoutBatch.objects.get(pk=batch.pk).status == PayoutBatch.Status.DONE


def test_a_batch_built_with_set_based_sql_is_paid_through_stripe_connect(
    fake_stripe, programme, manager
):
    programme.payout_threshold = 1_500
    programme.save(update_fields=["payout_threshold"])
    codes = [RepCodeFactory(advocate=AdvocateFactory(programme=programme)) for _ in range(4)]
    for n, code in enumerate(codes[:3]):
        connected(code, f"acct_1Advocate{n}")
        earn(code, orders=n + 2)  # 2_000, 3_000 and 4_000
    earn(codes[3], orders=1)  # 1_000: under the threshold, waits for the next batch
    banned = RepCodeFactory(advocate=AdvocateFactory(programme=programme))
    earn(banned, orders=5)
    Advocate.objects.filter(pk=banned.advocate_id).update(status=Advocate.Status.BANNED)

    batch = build_and_approve(programme, manager)
    assert (batch.payout_count, batch.total_amount) == (3, 9_000)
    batch = payouts.payout_batch_execute(batch_id=batch.pk, actor=manager)  # tasks run eagerly

    batch.refresh_from_db()
    assert batch.status == PayoutBatch.Status.DONE
    paid = {p.advocate_id: p for p in batch.payouts.all()}
    assert {p.status for p in paid.values()} == {Payout.Status.PAID}
    assert set(paid) == {code.advocate_id for code in codes[:3]}
    transfers = {t["destination"]: t for t in fake_stripe.transfers}
    assert len(fake_stripe.transfers) == 3
    for n, code in enumerate(codes[:3]):
        payout = paid[code.advocate_id]
        transfer = transfers[f"acct_1Advocate{n}"]
        assert transfer["amount"] == payout.amount == (n + 2) * 1_000
        assert transfer["metadata"]["payout_id"] == str(payout.pk)
        assert payout.external_ref == transfer["id"]
        entry = LedgerEntry.objects.get(kind=LedgerEntry.Kind.PAID, reference=f"payout:{payout.pk}")
        assert entry.amount == -payout.amount
        assert entry.memo == f"Payout batch {batch.pk}"
        assert payout.commissions.count() == n + 2
        assert ledger.balance(code.advocate, "EUR") == 0
    assert ledger.payable_balance(codes[3].advocate, "EUR") == 1_000
    assert ledger.payable_balance(banned.advocate, "EUR") == 5_000


def test_the_one_statement_build_links_only_payable_commissions_and_restores_the_settings(
    programme,
):
    """The PostgreSQL build (one statement with data-modifying WITH, work_mem and JIT set for
    that statement only) pays, reserves and links exactly what the ledger says is payable."""
    programme.payout_threshold = 1_500
    programme.save(update_fields=["payout_threshold"])
    code = RepCodeFactory(advocate=AdvocateFactory(programme=programme))
    earn(code, orders=3)  # three approved commissions of 1_000
    frozen = Commission.objects.filter(advocate=code.advocate).order_by("pk").last()
    Commission.objects.filter(pk=frozen.pk).update(frozen=True)  # an open dispute
    pending = order_ingest(
        source="api", external_id="recent", currency="EUR", gross_amount=10_000, code=code.code
    ).commission
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('work_mem'), current_setting('jit')")
        settings_before = cursor.fetchone()

    batch = payouts.payout_batch_build(programme_id=programme.pk)

    payout = batch.payouts.get()
    assert (batch.payout_count, batch.total_amount, payout.amount) == (1, 2_000, 2_000)
    assert payout.commissions.count() == 2
    assert frozen not in payout.commissions.all()
    assert pending not in payout.commissions.all()
    entry = LedgerEntry.objects.get(kind=LedgerEntry.Kind.PAID, reference=f"payout:{payout.pk}")
    assert (entry.amount, entry.memo) == (-2_000, f"Payout batch {batch.pk}")
    assert ledger.payable_balance(code.advocate, "EUR") == 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('work_mem'), current_setting('jit')")
        assert cursor.fetchone() == settings_before


def test_a_build_links_its_commissions_in_place_without_touching_an_index(programme):
    """Commission.payout has no index (migration 0008), so linking a batch's commissions is a
    HOT update: the row is rewritten on its own page and no index gets an entry. An index
    added back on payout_id would make every link a full update again."""
    for _ in range(5):
        earn(RepCodeFactory(advocate=AdvocateFactory(programme=programme)), orders=2)

    def updates(cursor) -> tuple[int, int]:
        # This backend's counts not yet flushed to the shared statistics, this transaction's
        # included: read before and after the build, in one transaction.
        cursor.execute(
            "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables"
            " WHERE relid = %s::regclass",
            [Commission._meta.db_table],
        )
        return cursor.fetchone()

    with transaction.atomic(), connection.cursor() as cursor:
        before = updates(cursor)
        batch = payouts.payout_batch_build(programme_id=programme.pk)
        after = updates(cursor)
    linked = Commission.objects.filter(payout__batch=batch).count()
    assert linked == 10
    assert (after[0] - before[0], after[1] - before[1]) == (linked, linked)
