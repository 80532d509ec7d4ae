"""A real redis-server on loopback for the tests that need one (the Redis click buffer, the
Redis cache), and a way to count what it was asked.

Needs /usr/bin/redis-server (or one on PATH); .ci/run installs it. Missing, the tests fail: the
production paths must not go untested silently. Registered in tests/conftest.py.
"""

import pytest
import redis

from ops.redis import RedisError, RedisServer


@pytest.fixture(scope="session")
def redis_url():
    """A throwaway redis-server (ops.redis, as `make services` runs one) for the session."""
    try:
        server = RedisServer().start()
    except RedisError as exc:
        pytest.fail(f"{exc} (.ci/run installs it)", pytrace=False)
    try:
        yield server.url(0)
    finally:
        server.stop()


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


def redis_commands(server) -> dict[str, int]:
    """Commands the server ran since the last CONFIG RESETSTAT (our own INFO calls aside)."""
    stats = server.info("commandstats")
    counts = {name.removeprefix("cmdstat_"): value["calls"] for name, value in stats.items()}
    return {
        name: calls for name, calls in counts.items() if name not in {"info", "config|resetstat"}
    }
