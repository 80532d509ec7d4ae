"""Issue #16, mutation testing of `commissions.py`: the e-mail each decision sends (the event
names the template), the auto-approve limit at its smallest, a commission that changed between
the list and its lock, and the recurring months of a first order without a programme."""

from datetime import UTC, datetime, timedelta

import pytest

from advocacy.models import RewardKind
from referrals.models import Commission
from referrals.services import commissions as svc
from tests.factories import OrderFactory, received_ago, sale

pytestmark = pytest.mark.django_db


@pytest.fixture
def emails(monkeypatch):
    sent = []
    monkeypatch.setattr(svc, "enqueue_on_commit", lambda name, *args: sent.append((name, args)))
    return sent


def one_cent_commissions(rep_code, count):
    """`count` commissions of 1 (a fixed reward of one cent) whose hold has ended, in a programme
    that approves up to 1 by itself."""
    programme = rep_code.advocate.programme
    programme.advocate_reward_kind = RewardKind.FIXED
    programme.advocate_reward_amount = 1
    programme.auto_approve_limit = 1
    programme.save(
        update_fields=["advocate_reward_kind", "advocate_reward_amount", "auto_approve_limit"]
    )
    made = [sale(rep_code, f"cent-{n}", 10_000).commission for n in range(count)]
    return [received_ago(c, timedelta(days=programme.hold_days + 1)) for c in made]


def test_rejecting_sends_the_reversed_email(rep_code, emails):
    commission = sale(rep_code, "o-1", 10_000).commission
    emails.clear()

    svc.commission_reject(commission_id=commission.pk, actor=None, reason="Fraud")

    assert emails == [("referrals.tasks.commission_email", (commission.pk, "reversed"))]


def test_an_auto_approve_limit_of_one_approves_a_commission_of_one_and_says_so(rep_code, emails):
    [commission] = one_cent_commissions(rep_code, 1)
    assert commission.amount == 1
    emails.clear()

    assert svc.commissions_release_held() == {"auto_approved": 1, "awaiting_review": 0}

    assert Commission.objects.get(pk=commission.pk).status == Commission.Status.APPROVED
    assert emails == [("referrals.tasks.commission_email", (commission.pk, "approved"))]


def test_a_commission_frozen_after_the_list_is_skipped_and_the_next_approved(rep_code, monkeypatch):
    one_cent_commissions(rep_code, 2)
    real = svc._locked
    seen = []

    def frozen_meanwhile(pk):
        if not seen:  # a dispute froze the first one between the list and its lock
            Commission.objects.filter(pk=pk).update(frozen=True)
        seen.append(pk)
        return real(pk)

    monkeypatch.setattr(svc, "_locked", frozen_meanwhile)

    assert svc.commissions_release_held()["auto_approved"] == 1

    first, second = seen
    assert Commission.objects.get(pk=first).status == Commission.Status.PENDING
    assert Commission.objects.get(pk=second).status == Commission.Status.APPROVED


def test_a_first_order_without_a_programme_earns_no_recurring_months(advocate):
    first = OrderFactory(programme=None, advocate=None, placed_at=datetime(2027, 1, 31, tzinfo=UTC))

    assert svc.recurring_commission_until(first) is None
