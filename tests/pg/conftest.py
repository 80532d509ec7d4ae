"""Fixtures for the PostgreSQL pass (`python -m tests.pg.run`, part of `make test`).

These tests are marked `pg` (excluded from the default SQLite run) and use
`django_db(transaction=True)`: every service call commits for real, so threads see each other's
rows and block on each other's locks as web workers and Celery workers would.
"""

import threading
from dataclasses import dataclass

import pytest
from django.db import connection

THREADS = 20


@pytest.fixture(autouse=True)
def _postgresql_only(request):
    if request.node.get_closest_marker("pg") and connection.vendor != "postgresql":
        # Fail, don't skip: a PostgreSQL test that didn't run on PostgreSQL proved nothing.
        pytest.fail("needs PostgreSQL: run `python -m tests.pg.run` (part of `make test`)")


@dataclass
class Outcome:
    result: object = None
    error: BaseException | None = None


def in_threads(work, n: int = THREADS, timeout: float = 120) -> list[Outcome]:
    """Run work(i) for i in range(n), each in its own thread with its own database connection,
    all released at once by a barrier; what each returned or raised, in order."""
    barrier = threading.Barrier(n)
    outcomes = [Outcome() for _ in range(n)]

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            outcomes[i].result = work(i)
        except BaseException as exc:  # reported to the test, not lost in the thread
            outcomes[i].error = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,), name=f"worker-{i}") for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a worker hung (deadlock?)"
    return outcomes


@pytest.fixture
def threads():
    return in_threads
