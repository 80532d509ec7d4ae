"""The Redis click buffer against a real redis-server: restarts, failed drains, crashed drains.

Needs /usr/bin/redis-server (or one on PATH); .ci/run installs it. Missing, the tests fail: the
production buffer must not go untested silently.
"""

import shutil
import socket
import subprocess
import tempfile
import time

import pytest
import redis

from referrals import clickbuffer
from referrals.clickbuffer import RedisClickBuffer, get_click_buffer
from referrals.models import Click, ClickDaily
from referrals.services.clicks import click_record, clicks_drain

pytestmark = pytest.mark.django_db


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def redis_url():
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not shutil.which(binary):
        pytest.fail(
            "redis-server is not installed: the Redis click buffer tests need it "
            "(apt-get install redis-server; .ci/run does this)",
            pytrace=False,
        )
    port = _free_port()
    with tempfile.TemporaryDirectory() as workdir:
        server = subprocess.Popen(  # noqa: S603 (our own fixed command line)
            [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "",
             "--appendonly", "no", "--dir", workdir],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        url = f"redis://127.0.0.1:{port}/0"
        try:
            client = redis.Redis.from_url(url)
            for _ in range(100):
                try:
                    client.ping()
                    break
                except redis.ConnectionError:
                    if server.poll() is not None:
                        pytest.fail(f"redis-server exited with {server.returncode}", pytrace=False)
                    time.sleep(0.05)
            else:
                pytest.fail("redis-server did not answer within 5 seconds", pytrace=False)
            client.close()
            yield url
        finally:
            server.terminate()
            server.wait(timeout=10)


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


@pytest.fixture
def redis_cache(redis_url, settings):
    """The cache on the same redis-server (database 1), as in production."""
    cache_url = redis_url.rsplit("/", 1)[0] + "/1"
    settings.CACHES = {
        "default": {"BACKEND": "config.redis_cache.RedisCache", "LOCATION": cache_url}
    }
    client = redis.Redis.from_url(cache_url)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


def _commands(server) -> dict[str, int]:
    """Commands the server ran since the last CONFIG RESETSTAT (our own INFO calls aside)."""
    stats = server.info("commandstats")
    counts = {name.removeprefix("cmdstat_"): value["calls"] for name, value in stats.items()}
    return {
        name: calls for name, calls in counts.items() if name not in {"info", "config|resetstat"}
    }


def test_a_warm_redirect_is_two_redis_commands(redis_buffer, redis_cache, client, rep_code):
    """One read for the code, the targets generation and the rate limit; one push for the click."""
    assert client.get(f"/r/{rep_code.code}").status_code == 302  # fills the cache
    redis_buffer.config_resetstat()
    response = client.get(f"/r/{rep_code.code.lower()}")
    assert response.status_code == 302
    assert _commands(redis_buffer) == {"mget": 1, "rpush": 1}
    assert len(get_click_buffer()) == 2


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
