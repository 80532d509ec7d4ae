"""The hot paths' own Redis connection (kernel.redis_direct) against a real redis-server: it
answers like redis-py, and survives what a production Redis does to its clients (a restart
that drops the connection and the loaded scripts, a fork of the web process)."""

import os

import pytest
import redis

from kernel.redis_direct import DirectCommands
from referrals.links.buffer import get_click_buffer

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(redis_url):
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


def _kill_direct_connections(client):
    """What a Redis restart or an idle timeout does: every other client is disconnected."""
    own = client.client_id()
    for info in client.client_list():
        if int(info["id"]) != own:
            client.client_kill_filter(_id=info["id"])


def test_answers_as_redis_py_does(client):
    direct = DirectCommands(client)
    client.set("a", b"1")
    assert direct.execute("GET", "a") == client.get("a") == b"1"
    assert direct.execute("MGET", "a", "missing") == client.mget(["a", "missing"])


def test_a_dropped_connection_is_reopened_and_the_command_sent_again(client):
    direct = DirectCommands(client)
    client.set("a", b"1")
    assert direct.execute("GET", "a") == b"1"
    _kill_direct_connections(client)
    assert direct.execute("GET", "a") == b"1"


def test_an_error_answer_leaves_the_connection_usable(client):
    direct = DirectCommands(client)
    client.set("a", b"1")
    with pytest.raises(redis.ResponseError):
        direct.execute("INCR", "a", "too-many-arguments")
    assert direct.execute("GET", "a") == b"1"


def test_a_forked_process_opens_its_own_connection(client):
    direct = DirectCommands(client)
    client.set("a", b"1")
    assert direct.execute("GET", "a") == b"1"
    parents = direct._connection()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: a gunicorn worker forked after the parent used the connection
        try:
            ok = direct.execute("GET", "a") == b"1" and direct._connection() is not parents
            os.write(write, b"ok" if ok else b"no")
        finally:
            os._exit(0)
    os.close(write)
    _, status = os.waitpid(pid, 0)
    assert os.read(read, 2) == b"ok"
    assert status == 0
    assert direct.execute("GET", "a") == b"1"
    assert direct._connection() is parents


def test_a_redirect_after_the_server_lost_its_scripts_and_connections(
    redis_url, redis_cache, settings, client, rep_code
):
    from django.test import Client

    settings.STREETTEAM_CLICK_BUFFER_URL = redis_url
    browser = Client()
    assert browser.get(f"/r/{rep_code.code}").status_code == 302
    client.script_flush()  # a restarted server has no scripts loaded
    _kill_direct_connections(client)
    assert browser.get(f"/r/{rep_code.code}").status_code == 302
    assert len(get_click_buffer()) == 2


def test_the_cache_reads_through_its_own_connection_after_a_drop(redis_cache):
    from django.core.cache import cache

    cache.set("k", {"a": 1})
    assert cache.get("k") == {"a": 1}
    _kill_direct_connections(redis_cache)
    assert cache.get_many(["k", "missing"]) == {"k": {"a": 1}}
    assert cache.get("missing", "default") == "default"
    assert cache.get_many([]) == {}
