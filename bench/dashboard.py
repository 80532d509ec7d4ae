"""The advocate dashboard at 1M clicks and 100k orders: queries per request and p95 time.

The top advocate (100k clicks, 10k orders, with commissions, reversals and payouts; see
datagen.dashboard_data) is signed in and `/dashboard/` is requested in-process through Django's
test client, with the bench settings against the bench's PostgreSQL and Redis: the time is the
server's own (middleware, views, queries, template), without the network.

Baseline: a bare signed-in page (bench/views.py: bare_page) on the same layout, requested the
same way in alternation with the dashboard, so both see the same machine: the floor any
signed-in page pays (session, user, the base template).
"""

import time
from collections.abc import Callable

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import User

from .datagen import BaseData
from .report import Figure, Target, percentile

REQUESTS = 200
WARMUP = 20
MAX_QUERIES = 10
P95_MS = 50.0


def _get(client: Client, path: str) -> None:
    response = client.get(path, secure=True)
    if response.status_code != 200:
        raise AssertionError(f"{path} answered {response.status_code}")


def _queries(client: Client, path: str, samples: int = 5) -> int:
    """Queries per request (the most seen over a few requests: it must not vary)."""
    counts = []
    for _ in range(samples):
        with CaptureQueriesContext(connection) as captured:
            _get(client, path)
        counts.append(
            sum(1 for q in captured.captured_queries if q["sql"] not in ("BEGIN", "COMMIT"))
        )
    return max(counts)


def dashboard_figures(
    base: BaseData,
    progress: Callable[[str], None],
    *,
    requests: int = REQUESTS,
    warmup: int = WARMUP,
) -> list[Figure]:
    client = Client()
    client.force_login(User.objects.get(pk=base.top_user_id))
    ours_path, bare_path = "/dashboard/", "/bench/page/"
    page = client.get(ours_path, secure=True).content.decode()
    if "Link clicks" not in page:
        raise AssertionError("the dashboard did not render")
    for _ in range(warmup):
        _get(client, ours_path)
        _get(client, bare_path)
    ours_queries, bare_queries = _queries(client, ours_path), _queries(client, bare_path)
    progress(f"queries per request: dashboard {ours_queries}, bare page {bare_queries}")

    ours_ms, bare_ms = [], []
    for _ in range(requests):
        for path, samples in ((ours_path, ours_ms), (bare_path, bare_ms)):
            started = time.perf_counter()
            _get(client, path)
            samples.append((time.perf_counter() - started) * 1000)
    progress(
        f"{requests} requests each: dashboard p50 {percentile(ours_ms, 0.5):.1f} ms, "
        f"p95 {percentile(ours_ms, 0.95):.1f} ms; bare page p95 {percentile(bare_ms, 0.95):.1f} ms"
    )
    note = "a bare signed-in page on the same layout (session, user, base template), same client"
    return [
        Figure(
            name="dashboard queries per request",
            unit="queries",
            ours=ours_queries,
            baseline=bare_queries,
            higher_is_better=False,
            target=Target(f"ours <= {MAX_QUERIES} queries", MAX_QUERIES),
            note=note,
        ),
        Figure(
            name="dashboard p95 server time",
            unit="ms",
            ours=percentile(ours_ms, 0.95),
            baseline=percentile(bare_ms, 0.95),
            higher_is_better=False,
            target=Target(f"ours <= {P95_MS:.0f} ms", P95_MS),
            note=note,
        ),
    ]
