"""Random sequences of everything that moves money, with DESIGN.md's invariants checked after
every step: orders (some repeated), refunds (some repeated, partial and full), disputes, hold
release, approvals, rejections, batch builds, approvals, payouts, payout failures and retries.

The default run draws 200 sequences; `pytest -m slow` draws 1,000 longer ones.
"""

from collections import Counter
from datetime import timedelta

import pytest
from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from kernel.errors import ServiceError
from referrals import ledger_selectors as ledger
from referrals.models import (
    AuditEvent,
    Commission,
    LedgerEntry,
    Order,
    Payout,
    PayoutBatch,
)
from referrals.payouts import services as payouts
from referrals.services import commissions, refunds
from referrals.services.orders import order_ingest
from tests.factories import (
    PASSWORD,
    AdvocateFactory,
    ProgrammeFactory,
    RepCodeFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

FORWARD = {
    status: {status} | {to for to in Commission.TRANSITIONS[status]}
    for status in Commission.TRANSITIONS
}
# Reachable in several steps: pending -> approved -> paid.
FORWARD[Commission.Status.PENDING] |= {Commission.Status.PAID}


class MoneyMachine(RuleBasedStateMachine):
    orders = Bundle("orders")
    payouts_made = Bundle("payouts")

    def __init__(self):
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self.now = timezone.now()
        self.seen_status: dict[int, str] = {}
        self.audit_count = 0
        self.ingested_ids: set[str] = set()
        self.order_seq = 0
        self.refund_seq = 0

    def teardown(self):
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    @initialize()
    def setup_programme(self):
        self.programme = ProgrammeFactory(
            payout_threshold=0, auto_approve_limit=2000, dual_approval_above=0
        )
        self.advocates = [AdvocateFactory(programme=self.programme) for _ in range(2)]
        self.codes = [RepCodeFactory(advocate=a).code for a in self.advocates]
        self.managers = [UserFactory(is_staff=True, is_superuser=True) for _ in range(2)]

    # ----------------------------------------------------------------- orders, refunds, disputes
    @rule(
        target=orders,
        who=st.integers(0, 1),
        # Small amounts make rounding matter; now and then a huge one checks nothing overflows.
        gross=st.one_of(st.integers(2_000, 25_000), st.integers(1, 300), st.integers(1, 5_000_000)),
        held=st.sampled_from([False, False, True]),
    )
    def ingest_order(self, who, gross, held):
        self.order_seq += 1
        external_id = f"o-{self.order_seq}"
        placed_at = self.now - timedelta(days=1 if held else 45)
        result = order_ingest(
            source="api",
            external_id=external_id,
            currency="EUR",
            gross_amount=gross,
            discount_amount=gross // 5,
            tax_amount=gross // 10,
            code=self.codes[who],
            shopper_email=f"shopper{self.order_seq}@example.net",
            placed_at=placed_at,
        )
        self.ingested_ids.add(external_id)
        return result.order.pk

    @rule(order_id=orders)
    def ingest_same_order_again(self, order_id):  # invariant 1: at most once
        order = Order.objects.get(pk=order_id)
        result = order_ingest(
            source=order.source,
            external_id=order.external_id,
            currency="EUR",
            gross_amount=order.gross_amount,
            discount_amount=order.discount_amount,
            code=order.rep_code.code,
            placed_at=order.placed_at,
        )
        assert not result.created
        assert result.order.pk == order_id

    @rule(
        order_id=orders,
        how=st.sampled_from(["share", "equal_parts", "repeat"]),
        # Thirds and halves leave rounding residues; 100 refunds what is left.
        share=st.one_of(st.sampled_from([33, 50, 100]), st.integers(1, 100)),
        parts=st.integers(2, 5),
    )
    def refund(self, order_id, how, share, parts):
        order = Order.objects.get(pk=order_id)
        paid = refunds.order_total_paid(order)
        left = paid - order.refunds.aggregate(t=Sum("amount", default=0))["t"]
        self.refund_seq += 1
        if how == "repeat":
            previous = order.refunds.first()
            if previous is not None:
                before = LedgerEntry.objects.count()
                refunds.refund_record(order=order, external_id=previous.external_id, amount=1)
                assert LedgerEntry.objects.count() == before, "a repeated refund id moved money"
            return
        if left <= 0:
            with pytest.raises(ServiceError):
                refunds.refund_record(order=order, external_id=f"re-{self.refund_seq}", amount=1)
            return
        if how == "share":
            amount = max(1, left * share // 100)
            refunds.refund_record(order=order, external_id=f"re-{self.refund_seq}", amount=amount)
            return
        # Several equal partial refunds, then the rest: each rounds; the last must net to zero.
        piece = left // parts
        if piece <= 0:
            return
        for n in range(parts - 1):
            refunds.refund_record(
                order=order, external_id=f"re-{self.refund_seq}-{n}", amount=piece
            )
        rest = left - piece * (parts - 1)
        refunds.refund_record(order=order, external_id=f"re-{self.refund_seq}-last", amount=rest)
        order.refresh_from_db()
        assert order.status == Order.Status.REFUNDED

    @rule(data=st.data(), full=st.booleans())
    def refund_while_payout_open(self, data, full):
        """The race that matters for invariant 5: money goes back after the batch was built."""
        open_ids = list(
            Commission.objects.filter(payout__status=Payout.Status.PENDING).values_list(
                "order_id", flat=True
            )
        )
        if not open_ids:
            return
        order = Order.objects.get(pk=data.draw(st.sampled_from(open_ids)))
        left = (
            refunds.order_total_paid(order)
            - order.refunds.aggregate(t=Sum("amount", default=0))["t"]
        )
        if left > 0:
            self.refund_seq += 1
            amount = left if full else max(1, left // 2)
            refunds.refund_record(order=order, external_id=f"re-{self.refund_seq}", amount=amount)

    @rule(
        order_id=orders,
        dispute_no=st.integers(1, 2),
        outcome=st.sampled_from(["open", "won", "lost"]),
    )
    def dispute(self, order_id, dispute_no, outcome):
        order = Order.objects.get(pk=order_id)
        external_id = f"dp-{order_id}-{dispute_no}"
        if outcome == "open":
            refunds.dispute_open(order=order, external_id=external_id)
        else:
            refunds.dispute_close(order=order, external_id=external_id, won=outcome == "won")

    # ----------------------------------------------------------------------------- approvals
    @rule()
    def release_held(self):
        commissions.commissions_release_held(now=self.now)

    @rule(data=st.data(), approve=st.booleans())
    def decide_one(self, data, approve):
        ids = list(Commission.objects.values_list("pk", flat=True))
        if not ids:
            return
        pk = data.draw(st.sampled_from(ids))
        manager = self.managers[0]
        try:
            if approve:
                commissions.commission_approve(commission_id=pk, actor=manager)
            else:
                commissions.commission_reject(commission_id=pk, actor=manager, reason="Test")
        except ServiceError:
            pass  # not allowed from its state: fine, as long as nothing changed (invariants)

    # ------------------------------------------------------------------------------- payouts
    @rule(target=payouts_made, builder=st.integers(0, 1), data=st.data())
    def build_and_settle(self, builder, data):
        """Build, approve and execute a batch, then settle some payouts now, leave the rest."""
        manager = self.managers[builder]
        batch = payouts.payout_batch_build(programme_id=self.programme.pk, actor=manager)
        if batch is None:
            return []
        payouts.payout_batch_approve(batch_id=batch.pk, actor=manager, password=PASSWORD)
        payouts.payout_batch_execute(batch_id=batch.pk, actor=manager)
        left = []
        for pk in batch.payouts.values_list("pk", flat=True):
            outcome = data.draw(st.sampled_from(["paid", "failed", "retry", "later"]))
            if outcome == "later":
                left.append(pk)
            else:
                self._settle(pk, outcome)
        return left

    @rule(payout_ids=consumes(payouts_made), data=st.data())
    def settle_later(self, payout_ids, data):
        for pk in payout_ids:
            self._settle(pk, data.draw(st.sampled_from(["paid", "failed", "retry"])))

    def _settle(self, pk, outcome):
        payout = Payout.objects.get(pk=pk)
        if payout.status != Payout.Status.PENDING:
            return
        if outcome == "paid":
            try:
                payouts.payout_mark_paid(payout_id=pk, actor=self.managers[0])
            except ServiceError as exc:
                # A refund or dispute since the build: this payout must not go out.
                assert exc.code == "balance_negative"  # noqa: PT017 (only sometimes raised)
                payouts.payout_mark_failed(payout_id=pk, actor=self.managers[0], reason=exc.code)
                return
            # Invariant 5 at the moment of payment: nothing paid beyond what was earned.
            assert ledger.payable_balance(payout.advocate, "EUR") >= 0
            before = LedgerEntry.objects.count()
            payouts.payout_mark_paid(payout_id=pk, actor=self.managers[1])  # a second click
            assert LedgerEntry.objects.count() == before, "a payout was paid twice"
            return
        payouts.payout_mark_failed(payout_id=pk, actor=self.managers[0], reason="Bounced")
        if outcome == "retry":
            try:
                retry = payouts.payout_retry(payout_id=pk, actor=self.managers[1])
            except ServiceError as exc:
                assert exc.code == "nothing_payable"  # noqa: PT017 (only sometimes raised)
                return
            self._settle(retry.pk, "paid")

    # ---------------------------------------------------------------------------- invariants
    @invariant()
    def one_order_per_external_id(self):
        assert Order.objects.count() == len(self.ingested_ids)

    @invariant()
    def one_commission_per_order_advocate_rule(self):
        dupes = (
            Commission.objects.values("order", "advocate", "rule")
            .annotate(n=Count("id"))
            .filter(n__gt=1)
        )
        assert not dupes.exists()

    @invariant()
    def refunds_reverse_in_proportion(self):
        orders = {
            o.pk: o
            for o in Order.objects.annotate(
                refunded=Sum("refunds__amount", default=0), n_refunds=Count("refunds")
            )
        }
        lost = set(Order.objects.filter(disputes__status="lost").values_list("pk", flat=True))
        for commission in Commission.objects.annotate(outstanding=Sum("ledger__amount")):
            order = orders[commission.order_id]
            outstanding = commission.outstanding
            assert 0 <= outstanding <= commission.amount
            if order.status == Order.Status.REFUNDED or commission.status in (
                Commission.Status.REVERSED,
                Commission.Status.REJECTED,
            ):
                assert outstanding == 0, "a full refund must net the commission to zero"
            elif order.refunded and order.pk not in lost:
                # What was reversed is the refunded share, within one minor unit per refund.
                expected = commission.amount * order.refunded / refunds.order_total_paid(order)
                reversed_amount = commission.amount - outstanding
                assert abs(reversed_amount - expected) <= order.n_refunds
            assert order.refunded <= refunds.order_total_paid(order)

    @invariant()
    def balances_are_ledger_sums_and_reservations_add_up(self):
        if not hasattr(self, "advocates"):
            return
        by_kind = {
            (row["advocate_id"], row["kind"]): row["t"]
            for row in LedgerEntry.objects.values("advocate_id", "kind").annotate(t=Sum("amount"))
        }
        earned = dict(
            Commission.objects.values_list("advocate_id").annotate(t=Sum("amount")).order_by()
        )
        reserved = dict(
            Payout.objects.exclude(status=Payout.Status.FAILED)
            .values_list("advocate_id")
            .annotate(t=Sum("amount"))
            .order_by()
        )
        for advocate in self.advocates:
            total = sum(t for (a, _), t in by_kind.items() if a == advocate.pk)
            assert ledger.balance(advocate, "EUR") == total
            reversed_ = by_kind.get((advocate.pk, "reversed"), 0)
            assert total == earned.get(advocate.pk, 0) + reversed_ - reserved.get(advocate.pk, 0)

    @invariant()
    def each_payout_reserved_once_and_released_at_most_once(self):
        entries = Counter(
            LedgerEntry.objects.filter(kind__in=["paid", "payout_failed"]).values_list(
                "kind", "reference"
            )
        )
        paid_audited = set(
            AuditEvent.objects.filter(action="payout_paid").values_list("object_id", flat=True)
        )
        for pk, status in Payout.objects.values_list("pk", "status"):
            ref = f"payout:{pk}"
            assert entries[("paid", ref)] == 1
            assert entries[("payout_failed", ref)] == (1 if status == Payout.Status.FAILED else 0)
            if status == Payout.Status.PAID:
                assert pk in paid_audited

    @invariant()
    def commissions_only_move_forward_with_an_audit_row(self):
        audited = {
            (object_id, data.get("after"))
            for object_id, data in AuditEvent.objects.filter(object_type="commission").values_list(
                "object_id", "data"
            )
        }
        for pk, status in Commission.objects.values_list("pk", "status"):
            before = self.seen_status.get(pk, Commission.Status.PENDING)
            assert status in FORWARD[before], f"commission {pk} went {before} -> {status}"
            if status != Commission.Status.PENDING:
                assert (pk, status) in audited, f"commission {pk} is {status} with no audit row"
            self.seen_status[pk] = status
        count = AuditEvent.objects.count()
        assert count >= self.audit_count, "audit rows disappeared"
        self.audit_count = count

    @invariant()
    def batches_match_their_payouts(self):
        originals = dict(
            Payout.objects.filter(retry_of__isnull=True)
            .values_list("batch_id")
            .annotate(t=Sum("amount"))
            .order_by()
        )
        for pk, total in PayoutBatch.objects.values_list("pk", "total_amount"):
            assert total == originals.get(pk, 0)
        assert not Payout.objects.filter(amount__lte=0).exists()


def _run(max_examples: int, steps: int):
    run_state_machine_as_test(
        MoneyMachine,
        settings=settings(
            max_examples=max_examples,
            stateful_step_count=steps,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )


def test_money_invariants_hold_over_random_sequences():
    _run(max_examples=200, steps=20)


@pytest.mark.slow
def test_money_invariants_hold_over_long_random_sequences():
    _run(max_examples=1000, steps=50)
