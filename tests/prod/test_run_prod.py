"""The production stack, for real: `python -m ops.run_prod` (what `make run-prod` runs) with
DEBUG=false against PostgreSQL and a Redis of its own. It migrates and collects static files, then
runs gunicorn, a Celery worker on all four queues and beat; a click on /r/<CODE> goes into the
Redis buffer and reaches PostgreSQL only through the worker's drain, which beat sends.

Marked `prod` and run by `python -m tests.pg.run` (part of `make test`), on the test database
pytest-django migrated on the throwaway cluster (so only the demo seed is skipped: `make run-prod`
seeds, tests/cms covers the seed).
"""

import http.client
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from ops.postgres import free_port
from ops.redis import RedisServer
from referrals.models import Click

pytestmark = [pytest.mark.prod, pytest.mark.django_db(transaction=True)]

BASE_DIR = Path(__file__).resolve().parents[2]
# Generous: a loaded two-core machine; the test only waits this long when something is wrong.
STARTUP_DEADLINE = 180
DRAIN_DEADLINE = 60


def _get(port: int, path: str) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", path, headers={"Host": "127.0.0.1"})
    response = connection.getresponse()
    response.body = response.read()
    connection.close()
    return response


def _wait_until(condition, deadline: float, what: str, runner: subprocess.Popen):
    while True:
        result = condition()
        if result:
            return result
        if runner.poll() is not None:
            pytest.fail(f"run_prod exited with {runner.returncode} while waiting for {what}")
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.5)


def _database_url() -> str:
    """The test database pytest-django created, as a URL for the subprocesses."""
    if connection.vendor != "postgresql":
        pytest.fail("needs PostgreSQL: run `python -m tests.pg.run` (part of `make test`)")
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@pytest.fixture
def redis():
    with RedisServer() as server:
        yield server


@pytest.fixture
def run_prod(transactional_db, redis, tmp_path):
    """ops.run_prod in a subprocess; stopped (Ctrl-C) before the test database is flushed."""
    port = free_port()
    env = {
        **{key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")},
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": redis.url(0),
        "CACHE_URL": redis.url(1),
        "STREETTEAM_CLICK_BUFFER_URL": redis.url(2),
        "STATIC_ROOT": str(tmp_path / "static"),
        "WEB_CONCURRENCY": "1",
        "CELERY_WORKER_CONCURRENCY": "1",
    }
    for key in ("SECRET_KEY", "DEBUG", "SITE_URL", "ALLOWED_HOSTS", "SECURE_SSL_REDIRECT"):
        env.pop(key, None)  # run_prod's own local defaults, as `make run-prod` gets them
    log = (tmp_path / "run_prod.log").open("w")
    runner = subprocess.Popen(  # noqa: S603 (this interpreter, our own module)
        [sys.executable, "-m", "ops.run_prod", "--no-services", "--no-seed"]
        + ["--port", str(port), "--var", str(tmp_path / "var")],
        cwd=BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield runner, port
    finally:
        if runner.poll() is None:
            runner.send_signal(signal.SIGINT)
            try:
                runner.wait(timeout=60)
            except subprocess.TimeoutExpired:
                runner.kill()
        log.close()
        print((tmp_path / "run_prod.log").read_text()[-5000:])


def test_production_stack_serves_redirects_drains_clicks_and_stops_on_ctrl_c(rep_code, run_prod):
    runner, port = run_prod
    deadline = time.monotonic() + STARTUP_DEADLINE

    def login_page():
        try:
            response = _get(port, "/account/login/")
        except OSError:
            return None
        return response if response.status == 200 else None

    page = _wait_until(login_page, deadline, "gunicorn to serve the login page", runner)

    # DEBUG=false: WhiteNoise serves the collected, hashed stylesheet with a far-future cache.
    stylesheet = re.search(rb'href="(/static/css/streetteam\.[0-9a-f]{12}\.css)"', page.body)
    assert stylesheet, "the page links the hashed stylesheet"
    css = _get(port, stylesheet.group(1).decode())
    assert css.status == 200
    assert css.getheader("Content-Type").startswith("text/css")
    assert "immutable" in css.getheader("Cache-Control")
    assert b".bar-chart" in css.body
    # Production headers, and no debug page for a missing URL.
    assert "frame-ancestors 'none'" in page.getheader("Content-Security-Policy")
    missing = _get(port, "/no-such-page/")
    assert missing.status == 404
    assert b"URLconf" not in missing.body

    redirect = _get(port, f"/r/{rep_code.code}")
    assert redirect.status == 302
    assert f"st_ref={rep_code.code}." in redirect.getheader("Set-Cookie")

    # The request wrote nothing; beat sends clicks_drain to the `clicks` queue every 5 s.
    _wait_until(
        lambda: Click.objects.filter(rep_code=rep_code).exists(),
        time.monotonic() + DRAIN_DEADLINE,
        "the click to be drained into PostgreSQL",
        runner,
    )
    assert Click.objects.filter(rep_code=rep_code).count() == 1

    runner.send_signal(signal.SIGINT)
    assert runner.wait(timeout=60) == 0
    with pytest.raises(ConnectionRefusedError):
        _get(port, "/")
