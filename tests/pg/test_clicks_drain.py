"""The click drain on PostgreSQL writes with COPY: the same rows and daily counts the ORM
would write, and a batch that fails to commit goes back to the buffer whole."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError

from referrals.links.buffer import get_click_buffer
from referrals.links.clicks import click_record, clicks_drain
from referrals.models import Click, ClickDaily
from tests.factories import RepCodeFactory

pytestmark = [pytest.mark.pg, pytest.mark.django_db(transaction=True)]

MIDNIGHT = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _no_background_flush(settings):
    settings.STREETTEAM_CLICK_FLUSH_SECONDS = 0


def _click(rep_code, at, n, **overrides):
    fields = {
        "rep_code_id": rep_code.pk,
        "advocate_id": rep_code.advocate_id,
        "visitor_id": f"visitor{n}",
        "ip": "203.0.113.7",
        "user_agent": 'Mozilla/5.0 "quoted"\ttabbed',  # COPY's own escapes must survive
        "referrer": "https://example.net/a?b=c\\d",
        "landing": "/campaign/",
        "at": at,
    }
    click_record(**{**fields, **overrides})


def test_copied_clicks_are_the_rows_and_counts_the_orm_would_write():
    code, other = RepCodeFactory(), RepCodeFactory()
    times = [MIDNIGHT - timedelta(seconds=1), MIDNIGHT, MIDNIGHT + timedelta(hours=5)]
    for n, at in enumerate(times):
        _click(code, at, n)
    _click(other, MIDNIGHT, 9, user_agent="")

    assert clicks_drain() == 4

    stored = sorted(
        Click.objects.values_list("rep_code_id", "created_at", "visitor_id", "user_agent"),
        key=lambda row: (row[0], row[1]),
    )
    assert stored == sorted(
        [(code.pk, at, f"visitor{n}", 'Mozilla/5.0 "quoted"\ttabbed') for n, at in enumerate(times)]
        + [(other.pk, MIDNIGHT, "visitor9", "")],
        key=lambda row: (row[0], row[1]),
    )
    assert Click.objects.filter(referrer="https://example.net/a?b=c\\d").count() == 4
    days = {(d.rep_code_id, d.day.isoformat()): d.clicks for d in ClickDaily.objects.all()}
    assert days == {
        (code.pk, "2026-02-28"): 1,
        (code.pk, "2026-03-01"): 2,
        (other.pk, "2026-03-01"): 1,
    }


def test_a_batch_that_cannot_commit_goes_back_to_the_buffer():
    code = RepCodeFactory()
    _click(code, MIDNIGHT, 1)
    _click(code, MIDNIGHT, 2, rep_code_id=10**9)  # no such code: the foreign key refuses

    with pytest.raises(IntegrityError):
        clicks_drain()

    assert len(get_click_buffer()) == 2
    assert Click.objects.count() == 0
    assert ClickDaily.objects.count() == 0
