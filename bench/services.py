"""The services a bench run starts on loopback and stops again: a throwaway PostgreSQL cluster
(tests/pg/cluster.py), a redis-server and the gunicorn server under test.

Each is a context manager; leaving it stops the process and deletes its folder, also when the run
fails or is interrupted (Ctrl-C, SIGTERM).
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from tests.pg.cluster import Cluster, free_port

ROOT = Path(__file__).resolve().parent.parent


# What the TLS proxy in front of a real deployment adds (SECURE_PROXY_SSL_HEADER): with it the
# production HTTPS redirect stays on and every request the bench sends is treated as HTTPS.
HTTPS_PROXY_HEADER = {"X-Forwarded-Proto": "https"}


class ServiceError(RuntimeError):
    pass


@contextmanager
def postgresql():
    """A fresh cluster on a free port; yields its DATABASE_URL."""
    with Cluster() as cluster:
        yield cluster.url


@contextmanager
def redis_server():
    """redis-server on a free loopback port, no persistence; yields its base URL (no db)."""
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(binary).exists():
        raise ServiceError("redis-server is not installed (make system-deps installs it).")
    import redis

    with tempfile.TemporaryDirectory(prefix="streetteam-bench-redis-") as workdir:
        port = free_port()
        server = subprocess.Popen(  # noqa: S603 (our own fixed command line)
            [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "",
             "--appendonly", "no", "--dir", workdir],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        url = f"redis://127.0.0.1:{port}"
        try:
            client = redis.Redis.from_url(url)
            deadline = time.monotonic() + 10
            while True:
                try:
                    client.ping()
                    break
                except redis.ConnectionError as exc:
                    if server.poll() is not None or time.monotonic() > deadline:
                        raise ServiceError(f"redis-server did not start on port {port}") from exc
                    time.sleep(0.05)
            client.close()
            yield url
        finally:
            _stop(server)


@contextmanager
def gunicorn(*, workers: int, worker_class: str = "sync", threads: int = 1, env: dict):
    """gunicorn serving config.wsgi with the bench settings; yields its base URL once it answers.

    Both sides of every HTTP comparison are served by this one server: same process, same
    workers, same middleware; only the URL differs.
    """
    port = free_port()
    command = [
        sys.executable, "-m", "gunicorn", "config.wsgi:application",
        "--bind", f"127.0.0.1:{port}",
        "--workers", str(workers),
        "--worker-class", worker_class,
        "--threads", str(threads),
        "--log-level", "warning",
        "--backlog", "2048",
    ]  # fmt: skip
    log = tempfile.TemporaryFile(mode="w+")
    server = subprocess.Popen(  # noqa: S603 (this interpreter, our own arguments)
        command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                ping = urllib.request.Request(  # noqa: S310 (our own server on loopback)
                    url + "/bench/ping", headers=HTTPS_PROXY_HEADER
                )
                urllib.request.urlopen(ping, timeout=5).read()  # noqa: S310
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
                if server.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise ServiceError(f"gunicorn did not start:\n{log.read()[-3000:]}") from exc
                time.sleep(0.2)
        yield url
    finally:
        _stop(server)
        log.close()


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def bench_environment(*, database_url: str, redis_url: str) -> dict:
    """The environment of a production-like run: DEBUG off, PostgreSQL, Redis for the cache, the
    click buffer and the Celery broker (tasks are queued as on a web node, nobody consumes them).

    The requests the bench sends carry X-Forwarded-Proto: https, as behind the TLS proxy of a
    real deployment, so the production HTTPS redirect stays on.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("STREETTEAM_", "STRIPE_", "CELERY_", "EMAIL_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="bench.settings",
        DEBUG="false",
        SECRET_KEY="bench-only-" + os.urandom(16).hex(),
        ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
        DATABASE_URL=database_url,
        CACHE_URL=f"{redis_url}/1",
        STREETTEAM_CLICK_BUFFER_URL=f"{redis_url}/0",
        CELERY_BROKER_URL=f"{redis_url}/2",
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    return env
