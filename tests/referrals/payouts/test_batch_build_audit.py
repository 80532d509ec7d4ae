"""Issue #16, mutation testing of `build.py`: the `batch_built` audit row names who built the
batch, its total and its number of payouts."""

import pytest

from referrals.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_the_build_is_audited_with_its_author_total_and_payouts(build, manager):
    batch = build()

    event = AuditEvent.objects.get(action="batch_built", object_id=batch.pk)
    assert (event.actor, event.data["total"], event.data["payouts"]) == (manager, 800, 1)
