"""A real redis-server on loopback for the tests that need one (the Redis click buffer, the
Redis cache), and a way to count what it was asked.

Needs /usr/bin/redis-server (or one on PATH); .ci/run installs it. Missing, the tests fail: the
production paths must not go untested silently. Registered in tests/conftest.py.
"""

import shutil
import socket
import subprocess
import tempfile
import time

import pytest
import redis


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
