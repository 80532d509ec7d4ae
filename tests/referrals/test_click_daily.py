"""The daily click counts (ClickDaily) the drain keeps beside the clicks it writes.

The dashboard and the stats API sum these instead of counting Click rows, so after every drain
they must equal the Click table, grouped by code and UTC day.
"""

import importlib
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.apps import apps

from referrals.links import clicks as click_service
from referrals.links.buffer import get_click_buffer
from referrals.links.clicks import click_record, clicks_drain
from referrals.models import Click, ClickDaily
from referrals.selectors import advocate_stats
from tests.factories import RepCodeFactory

pytestmark = pytest.mark.django_db


def _click(rep_code, at: datetime, n: int = 0):
    click_record(
        rep_code_id=rep_code.pk,
        advocate_id=rep_code.advocate_id,
        visitor_id=f"v{n}",
        ip="203.0.113.7",
        user_agent="test",
        referrer="",
        landing="/",
        at=at,
    )


def _counts() -> dict:
    return {
        (row.rep_code_id, row.advocate_id, row.day): row.clicks for row in ClickDaily.objects.all()
    }


def _clicks_grouped() -> dict:
    """What the counts must be: the Click table grouped by code and UTC day."""
    return dict(
        Counter(
            (c.rep_code_id, c.advocate_id, c.created_at.astimezone(UTC).date())
            for c in Click.objects.all()
        )
    )


def test_the_drain_counts_clicks_per_code_and_utc_day(rep_code):
    other = RepCodeFactory(advocate=rep_code.advocate)
    day = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    _click(rep_code, day)
    _click(rep_code, day + timedelta(hours=3))
    _click(rep_code, day + timedelta(days=1))
    _click(other, day)
    # 23:30 in New York on the 10th is 04:30 UTC on the 11th: the UTC day counts.
    _click(other, datetime(2026, 3, 10, 23, 30, tzinfo=timezone(timedelta(hours=-5))))
    assert clicks_drain() == 5

    advocate = rep_code.advocate_id
    march_10, march_11 = day.date(), day.date() + timedelta(days=1)
    assert _counts() == {
        (rep_code.pk, advocate, march_10): 2,
        (rep_code.pk, advocate, march_11): 1,
        (other.pk, advocate, march_10): 1,
        (other.pk, advocate, march_11): 1,
    }
    assert _counts() == _clicks_grouped()


def test_later_batches_add_to_the_days_they_share(rep_code, settings):
    settings.STREETTEAM_CLICK_BATCH_SIZE = 2
    now = datetime.now(UTC)
    for n in range(5):
        _click(rep_code, now, n)
    assert clicks_drain() == 5  # three batches
    _click(rep_code, now, 5)
    assert clicks_drain() == 1
    assert _counts() == {(rep_code.pk, rep_code.advocate_id, now.date()): 6}
    assert advocate_stats(rep_code.advocate).clicks == 6


def test_stats_count_only_the_advocates_own_clicks(rep_code):
    stranger = RepCodeFactory()
    now = datetime.now(UTC)
    for n in range(3):
        _click(rep_code, now - timedelta(days=n * 40), n)  # spread over months
    _click(stranger, now)
    clicks_drain()
    assert advocate_stats(rep_code.advocate).clicks == 3
    assert advocate_stats(stranger.advocate).clicks == 1


def test_a_failed_count_write_writes_no_clicks_either_and_requeues(rep_code, monkeypatch):
    now = datetime.now(UTC)
    for n in range(3):
        _click(rep_code, now, n)

    def broken(clicks):
        raise RuntimeError("database down")

    monkeypatch.setattr(click_service, "_count_daily", broken)
    with pytest.raises(RuntimeError):
        clicks_drain()
    assert not Click.objects.exists()  # rolled back with the counts
    assert len(get_click_buffer()) == 3

    monkeypatch.undo()
    assert clicks_drain() == 3
    assert _counts() == {(rep_code.pk, rep_code.advocate_id, now.date()): 3}
    assert _counts() == _clicks_grouped()


def test_the_migration_counts_the_clicks_already_stored(rep_code):
    """Clicks written before ClickDaily existed are counted once by migration 0006."""
    day = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    Click.objects.bulk_create(
        Click(rep_code=rep_code, advocate=rep_code.advocate, created_at=day + timedelta(days=n % 2))
        for n in range(5)
    )
    migration = importlib.import_module("referrals.migrations.0006_clickdaily")
    migration.count_existing_clicks(apps, None)
    assert _counts() == {
        (rep_code.pk, rep_code.advocate_id, day.date()): 3,
        (rep_code.pk, rep_code.advocate_id, day.date() + timedelta(days=1)): 2,
    }
