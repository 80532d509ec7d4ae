"""The Redis click buffer against a real redis-server (tests/redis_server.py): restarts, failed
drains, crashed drains, and what /r/ asks of Redis."""

import time

import pytest
import redis

from referrals.links import buffer as clickbuffer
from referrals.links.buffer import RedisClickBuffer, get_click_buffer
from referrals.links.clicks import click_record, clicks_drain
from referrals.links.cookies import visitor_id_sign
from referrals.models import Click, ClickDaily
from tests.redis_server import redis_commands

pytestmark = pytest.mark.django_db


@pytest.fixture
def redis_buffer(redis_url, settings):
    settings.STREETTEAM_CLICK_BUFFER_URL = redis_url
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


def _restart_web():
    """What a new web process sees: no module-level buffer yet."""
    clickbuffer._buffer = None
    return get_click_buffer()


def _click(rep_code, n: int = 0):
    click_record(
        rep_code_id=rep_code.pk,
        advocate_id=rep_code.advocate_id,
        visitor_id=f"v{n}",
        ip="203.0.113.7",
        user_agent="test",
        referrer="",
        landing="/?ref=X",
    )


def test_the_redis_backend_is_used(redis_buffer):
    assert isinstance(get_click_buffer(), RedisClickBuffer)


def test_redirect_clicks_survive_a_web_restart_and_drain_in_one_batch(
    redis_buffer, client, rep_code, django_assert_num_queries
):
    for _ in range(3):
        assert client.get(f"/r/{rep_code.code}").status_code == 302
    buffer = _restart_web()
    assert len(buffer) == 3
    # One INSERT for the whole batch and one upsert of its daily counts, in a savepoint here
    # (the test's transaction) as in a transaction of their own in production.
    with django_assert_num_queries(4):
        assert clicks_drain() == 3
    assert Click.objects.filter(rep_code=rep_code).count() == 3
    assert len(buffer) == 0
    assert clicks_drain() == 0


def test_a_failed_drain_requeues_in_order(redis_buffer, rep_code, monkeypatch):
    for n in range(5):
        _click(rep_code, n)

    def broken_bulk_create(*args, **kwargs):
        raise RuntimeError("database down")

    monkeypatch.setattr(Click.objects, "bulk_create", broken_bulk_create)
    with pytest.raises(RuntimeError):
        clicks_drain()
    monkeypatch.undo()
    buffer = _restart_web()
    assert len(buffer) == 5
    assert redis_buffer.llen("streetteam:clicks:processing") == 0
    assert [item["visitor_id"] for item in buffer.pop_batch(10)] == [f"v{n}" for n in range(5)]
    buffer.requeue([])
    assert clicks_drain() == 5
    assert sorted(Click.objects.values_list("visitor_id", flat=True)) == [f"v{n}" for n in range(5)]


def test_a_batch_popped_by_a_drain_that_died_is_written_by_the_next(redis_buffer, rep_code):
    for n in range(5):
        _click(rep_code, n)
    dying = get_click_buffer()
    assert len(dying.pop_batch(3)) == 3  # ...and the process dies before inserting them
    _click(rep_code, 5)
    buffer = _restart_web()
    assert len(buffer) == 6  # nothing lost
    assert clicks_drain() == 6
    assert sorted(Click.objects.values_list("visitor_id", flat=True)) == [f"v{n}" for n in range(6)]
    assert len(buffer) == 0


def test_one_drain_at_a_time(redis_buffer, rep_code):
    _click(rep_code)
    buffer = get_click_buffer()
    with buffer.draining() as ours:
        assert ours
        assert clicks_drain() == 0  # another drain holds the lock
    assert clicks_drain() == 1


def test_five_thousand_clicks_in_batches_of_a_thousand(redis_buffer, rep_code, settings):
    settings.STREETTEAM_CLICK_BATCH_SIZE = 1000
    for n in range(5000):
        _click(rep_code, n)
    buffer = _restart_web()
    assert len(buffer) == 5000
    assert clicks_drain(max_batches=2) == 2000
    assert clicks_drain() == 3000
    assert clicks_drain() == 0
    visitors = list(Click.objects.values_list("visitor_id", flat=True))
    assert len(visitors) == 5000
    assert set(visitors) == {f"v{n}" for n in range(5000)}  # none lost, none twice
    assert len(buffer) == 0


def test_a_batch_written_again_after_a_crash_is_counted_again_with_its_clicks(
    redis_buffer, rep_code, monkeypatch
):
    """At-least-once delivery: a drain that dies after its commit and before the ack leaves the
    batch to be written again. The daily counts commit with the clicks, so they repeat with
    them: they always equal the Click rows the dashboard would otherwise count."""
    for n in range(3):
        _click(rep_code, n)

    def dies_before_ack(self, items):
        raise SystemExit("killed between commit and ack")

    monkeypatch.setattr(RedisClickBuffer, "ack", dies_before_ack)
    with pytest.raises(SystemExit):
        clicks_drain()
    monkeypatch.undo()
    assert clicks_drain() == 3  # the unacknowledged batch, again
    assert Click.objects.count() == 6
    assert sum(ClickDaily.objects.values_list("clicks", flat=True)) == 6


def test_a_warm_redirect_is_one_cache_read_and_one_push(
    redis_buffer, redis_cache, client, rep_code
):
    """The cache's MGET brings the IP's misses, the generation and the code's card; the click is
    pushed once the redirect is answered. Nothing else reaches Redis (the two share a server)."""
    assert client.get(f"/r/{rep_code.code}").status_code == 302  # fills the entry
    redis_buffer.config_resetstat()
    response = client.get(
        f"/r/{rep_code.code.lower()}",
        HTTP_USER_AGENT="Phone/1.0",
        HTTP_REFERER="https://social.example/post/1",
    )
    assert response.status_code == 302
    assert redis_commands(redis_buffer) == {"mget": 1, "rpush": 1}
    assert clicks_drain() == 2
    click = Click.objects.order_by("pk").last()
    assert (click.rep_code_id, click.advocate_id) == (rep_code.pk, rep_code.advocate_id)
    assert click.landing == response["Location"]
    assert visitor_id_sign(click.visitor_id) == response.cookies["st_vid"].value  # stored bare
    assert (click.user_agent, click.referrer) == ("Phone/1.0", "https://social.example/post/1")
    assert click.ip_hash


def test_an_unknown_code_is_remembered_and_counted_as_a_miss(
    redis_buffer, redis_cache, client, rep_code
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    assert client.get("/r/NOSUCHCODE").status_code == 404
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/r/nosuchcode").status_code == 404
    # (the friendly 404 page reads the site's settings; the code itself is not looked up)
    assert not [q for q in queries if "repcode" in q["sql"]]
    misses = redis_cache.keys(":1:rl:redirect_miss:*")  # the shared cache's rate-limit counter
    assert len(misses) == 1
    assert int(redis_cache.get(misses[0])) == 2
    assert len(get_click_buffer()) == 0


def test_a_guessing_ip_is_refused_for_real_codes_too_and_nothing_is_queued(
    redis_buffer, redis_cache, client, rep_code, settings
):
    settings.STREETTEAM_RATE_LIMITS = {"redirect_miss": "2/600"}
    assert client.get(f"/r/{rep_code.code}").status_code == 302
    for guess in ("GUESS01", "GUESS02"):
        assert client.get(f"/r/{guess}").status_code == 404
    response = client.get(f"/r/{rep_code.code}")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert len(get_click_buffer()) == 1  # the first click only


def test_a_lost_generation_starts_again_without_losing_the_click(
    redis_buffer, redis_cache, client, rep_code, django_assert_max_num_queries
):
    from advocacy.cache import GENERATION_KEY

    assert client.get(f"/r/{rep_code.code}").status_code == 302
    redis_cache.delete(f":1:{GENERATION_KEY}")  # evicted, or Redis restarted without its data
    assert client.get(f"/r/{rep_code.code}").status_code == 302  # from the database
    redis_buffer.config_resetstat()
    with django_assert_max_num_queries(0):
        assert client.get(f"/r/{rep_code.code}").status_code == 302  # warm again
    assert redis_commands(redis_buffer) == {"mget": 1, "rpush": 1}
    assert len(get_click_buffer()) == 3


def test_an_entry_cached_before_a_change_is_not_used(
    redis_buffer, redis_cache, client, rep_code, django_assert_max_num_queries
):
    from advocacy.cache import targets_invalidate

    assert client.get(f"/r/{rep_code.code}").status_code == 302
    # A bulk update bypasses the services' invalidation; the caller bumps the generation.
    type(rep_code).objects.filter(pk=rep_code.pk).update(is_active=False)
    targets_invalidate()
    assert client.get(f"/r/{rep_code.code}").status_code == 404
    assert len(get_click_buffer()) == 1


def test_a_change_is_seen_at_once_through_redis(redis_buffer, redis_cache, client, rep_code):
    from advocacy.services import repcode_deactivate

    assert client.get(f"/r/{rep_code.code}").status_code == 302
    repcode_deactivate(rep_code=rep_code)
    assert client.get(f"/r/{rep_code.code}").status_code == 404


def test_the_redis_cache_reuses_one_client(redis_cache):
    from django.core.cache import cache

    backend = cache._cache
    assert backend.get_client() is backend.get_client(write=True)
    cache.set("k", {"a": 1})
    assert cache.get_many(["k", "missing"]) == {"k": {"a": 1}}
    cache.add("n", 1)
    assert cache.incr("n") == 2


# Gathering: with STREETTEAM_CLICK_PUSH_SECONDS a web process sends its clicks in batches ------


@pytest.fixture
def gathering(redis_buffer, settings):
    """Clicks gathered in the process; the pusher thread's interval is long enough that only
    the test sends them (push_gathered, as the thread and exit do)."""
    settings.STREETTEAM_CLICK_PUSH_SECONDS = 3600
    return redis_buffer


def test_a_gathering_redirect_waits_on_one_cache_read_and_no_push(
    gathering, redis_cache, client, rep_code
):
    assert client.get(f"/r/{rep_code.code}").status_code == 302  # fills the entry
    gathering.config_resetstat()

    for _ in range(10):
        assert client.get(f"/r/{rep_code.code}").status_code == 302

    assert redis_commands(gathering) == {"mget": 10}
    assert get_click_buffer().push_gathered() == 11
    assert redis_commands(gathering) == {"mget": 10, "rpush": 1}
    assert clicks_drain() == 11


def test_gathered_clicks_count_and_drain_before_they_reach_redis(gathering, rep_code):
    for n in range(3):
        _click(rep_code, n)

    assert gathering.llen("streetteam:clicks") == 0
    assert len(get_click_buffer()) == 3
    assert clicks_drain() == 3  # the drain sends this process's clicks first
    assert Click.objects.filter(rep_code=rep_code).count() == 3


def test_clicks_gathered_while_redis_is_away_are_kept_in_order(gathering, rep_code, monkeypatch):
    for n in range(3):
        _click(rep_code, n)
    buffer = get_click_buffer()

    def refused(*args, **kwargs):
        raise redis.ConnectionError("Redis is away")

    monkeypatch.setattr(buffer._redis, "rpush", refused)
    with pytest.raises(redis.ConnectionError):
        buffer.push_gathered()
    monkeypatch.undo()

    assert buffer.push_gathered() == 3
    assert clicks_drain() == 3
    assert list(Click.objects.order_by("pk").values_list("visitor_id", flat=True)) == [
        "v0",
        "v1",
        "v2",
    ]


def test_the_pusher_thread_sends_the_gathered_clicks_on_its_own(redis_buffer, settings, rep_code):
    settings.STREETTEAM_CLICK_PUSH_SECONDS = 0.01
    _click(rep_code)

    deadline = time.monotonic() + 5
    while redis_buffer.llen("streetteam:clicks") == 0 and time.monotonic() < deadline:
        time.sleep(0.01)

    assert redis_buffer.llen("streetteam:clicks") == 1
