"""The click drain figure's plumbing (no timing here): it can be run alone, and the rows its
baseline copies are exactly the rows `clicks_drain` writes from the same queue.

Against the suite's real redis-server (tests/redis_server.py) and its SQLite database; the COPY
itself is PostgreSQL's, so only `python -m bench drain` runs it.
"""

import json

import pytest
import redis

from bench import drain
from bench.run import FIGURES, _arguments
from referrals.models import Click, ClickDaily

pytestmark = pytest.mark.django_db


@pytest.fixture
def buffer(redis_url, settings):
    settings.STREETTEAM_CLICK_BUFFER_URL = redis_url
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield drain.get_click_buffer()  # bench.drain holds the click buffer's imports
    client.flushdb()
    client.close()


def test_drain_can_be_run_alone_and_comes_last_in_a_full_run():
    assert _arguments(["drain"]).figures == ["drain"]
    assert _arguments([]).figures == FIGURES
    assert FIGURES[-1] == "drain"  # after the dashboard figure has read its million clicks


def test_the_rows_the_baseline_copies_are_the_rows_the_drain_writes(
    buffer, rep_code, other_rep_code
):
    codes = [rep_code.code, other_rep_code.code]
    drain.push_clicks(buffer, codes, 0, 7)
    queued = [json.loads(raw) for raw in buffer.client.lrange(buffer.queue_key, 0, -1)]
    assert len(queued) == 7
    # The first click on each code came through the redirect; the rest copy its code's part.
    assert [item["rep_code_id"] for item in queued] == [rep_code.pk, other_rep_code.pk] * 3 + [
        rep_code.pk
    ]
    assert len({item["visitor_id"] for item in queued}) == 7

    rows = drain.queued_rows(buffer)
    assert drain.drain_all(buffer) == 7
    written = Click.objects.order_by("pk").values_list(*drain.COLUMNS)
    assert list(written) == rows
    assert dict(ClickDaily.objects.values_list("rep_code_id", "clicks")) == {
        rep_code.pk: 4,
        other_rep_code.pk: 3,
    }


def test_clicks_of_another_shape_than_the_redirect_s_are_refused(buffer, rep_code):
    drain.push_clicks(buffer, [rep_code.code], 0, 2)
    item = json.loads(buffer.client.lindex(buffer.queue_key, 0))
    buffer.push(dict(reversed(item.items())))
    with pytest.raises(AssertionError, match="different shapes"):
        drain.queued_rows(buffer)


def test_pushing_needs_an_empty_buffer(buffer, rep_code):
    drain.push_clicks(buffer, [rep_code.code], 0, 1)
    with pytest.raises(AssertionError, match="empty buffer"):
        drain.push_clicks(buffer, [rep_code.code], 1, 1)
