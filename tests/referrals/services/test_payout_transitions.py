"""Payouts and batches move only along their models' TRANSITIONS maps, through
`payout_transition` / `payout_batch_transition`, each move with exactly one audit row; an
illegal move raises a ServiceError with a stable code and changes nothing."""

import pytest

from kernel.errors import ServiceError
from referrals.models import AuditEvent, Payout, PayoutBatch
from referrals.payouts.services.transitions import payout_batch_transition, payout_transition
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PAYOUT_MOVES = [(a, b) for a in Payout.Status for b in Payout.Status if a != b]
BATCH_MOVES = [(a, b) for a in PayoutBatch.Status for b in PayoutBatch.Status if a != b]


@pytest.fixture
def batch(advocate):
    return PayoutBatch.objects.create(programme=advocate.programme, currency="EUR")


def _payout(batch, advocate, status):
    return Payout.objects.create(
        batch=batch, advocate=advocate, currency="EUR", amount=1_000, status=status
    )


def test_the_maps_cover_every_status():
    assert set(Payout.TRANSITIONS) == set(Payout.Status)
    assert set(PayoutBatch.TRANSITIONS) == set(PayoutBatch.Status)


@pytest.mark.parametrize(("before", "after"), PAYOUT_MOVES)
def test_a_payout_moves_only_along_its_map(batch, advocate, before, after):
    payout = _payout(batch, advocate, before)
    actor = UserFactory()
    if after in Payout.TRANSITIONS[before]:
        payout_transition(payout=payout, to=after, actor=actor, update={"failure_reason": "x"})
        payout.refresh_from_db()
        assert (payout.status, payout.failure_reason) == (after, "x")
        [row] = AuditEvent.objects.all()
        assert (row.action, row.actor, row.object_type, row.object_id) == (
            f"payout_{after}",
            actor,
            "payout",
            payout.pk,
        )
        assert (row.data["before"], row.data["after"]) == (before, after)
    else:
        with pytest.raises(ServiceError) as caught:
            payout_transition(payout=payout, to=after, actor=actor, update={"failure_reason": "x"})
        assert caught.value.code == "payout_transition_invalid"
        payout.refresh_from_db()
        assert (payout.status, payout.failure_reason) == (before, "")
        assert not AuditEvent.objects.exists()


@pytest.mark.parametrize(("before", "after"), BATCH_MOVES)
def test_a_batch_moves_only_along_its_map(batch, before, after):
    PayoutBatch.objects.filter(pk=batch.pk).update(status=before)
    batch.refresh_from_db()
    actor = UserFactory()
    if after in PayoutBatch.TRANSITIONS[before]:
        payout_batch_transition(batch=batch, to=after, actor=actor, update={"approved_by": actor})
        batch.refresh_from_db()
        assert (batch.status, batch.approved_by) == (after, actor)
        [row] = AuditEvent.objects.all()
        assert (row.action, row.actor, row.object_type, row.object_id) == (
            f"batch_{after}",
            actor,
            "payoutbatch",
            batch.pk,
        )
        assert (row.data["before"], row.data["after"]) == (before, after)
    else:
        with pytest.raises(ServiceError) as caught:
            payout_batch_transition(
                batch=batch, to=after, actor=actor, update={"approved_by": actor}
            )
        assert caught.value.code == "batch_transition_invalid"
        batch.refresh_from_db()
        assert (batch.status, batch.approved_by) == (before, None)
        assert not AuditEvent.objects.exists()


def test_the_action_name_and_data_can_be_given(batch, advocate):
    payout = _payout(batch, advocate, Payout.Status.PENDING)
    payout_transition(payout=payout, to=Payout.Status.PAID, action="payout_settled", amount=7)
    row = AuditEvent.objects.get()
    assert (row.action, row.actor, row.data["amount"]) == ("payout_settled", None, 7)
