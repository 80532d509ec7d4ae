"""The PostgreSQL pass: start a throwaway cluster (ops/postgres.py), run pytest against it,
stop it and delete it, even when the tests fail or the run is interrupted.

    python -m tests.pg.run                  # what `make test` runs (DEFAULT_ARGS)
    python -m tests.pg.run -m pg -k payout  # any pytest arguments instead

pytest-django creates and drops its test database on the cluster (user `postgres`, superuser).
"""

import os
import signal
import subprocess
import sys
import time

from tests.pg.cluster import Cluster

# The concurrency tests (marked `pg`, which -m here selects over pyproject's addopts), the
# money services' own tests, on PostgreSQL as in production, and the production stack (marked
# `prod`: gunicorn, Celery worker and beat on their own PostgreSQL and Redis).
DEFAULT_ARGS = [
    *("-m", "not slow", "tests/pg", "tests/referrals/services"),
    "tests/referrals/reports/test_selectors.py",
    "tests/prod/test_run_prod.py",
]


def _terminate(signum, frame):
    raise SystemExit(128 + signum)


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGTERM, _terminate)
    started = time.monotonic()
    cluster = Cluster()
    try:
        cluster.start()
        print(
            f"PostgreSQL test cluster on 127.0.0.1:{cluster.port} "
            f"({time.monotonic() - started:.1f}s to start)",
            flush=True,
        )
        env = {**os.environ, "DATABASE_URL": cluster.url}
        return subprocess.call(  # noqa: S603 (this interpreter, the caller's pytest arguments)
            [sys.executable, "-m", "pytest", *(argv or DEFAULT_ARGS)], env=env
        )
    finally:
        cluster.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
