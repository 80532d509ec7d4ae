"""The two HTTP comparisons, measured with wrk against one gunicorn server:

- `/r/<CODE>` against a bare Django redirect view (bench/views.py: bare_redirect);
- `GET /api/v1/codes/{code}` (with a valid API key) against a bare Django JSON view.

Both sides of a comparison hit the same server, so they share the WSGI server, worker count,
middleware and settings; only the view differs. Each side is warmed up first, then the two are
measured in alternating rounds (ours, baseline, ours, baseline, …) so that noise from the rest
of the machine falls on both; each side's figure is the median of its rounds.
"""

import statistics
from collections.abc import Callable
from dataclasses import dataclass

from . import wrk
from .report import Figure, Target
from .services import HTTPS_PROXY_HEADER


@dataclass(frozen=True)
class Load:
    seconds: float = 5
    rounds: int = 3
    warmup_seconds: float = 2
    connections: int = 32
    threads: int = 2


def _rounds(
    url_ours: str,
    url_baseline: str,
    headers: dict,
    load: Load,
    progress: Callable[[str], None],
) -> tuple[list[float], list[float], int]:
    """Requests per second of each round, ours and baseline, and how many requests ours got."""
    kwargs = {"connections": load.connections, "threads": load.threads, "headers": headers}
    served = 0
    for url in (url_ours, url_baseline):
        result = wrk.run(url, seconds=load.warmup_seconds, **kwargs)
        served += result.requests if url == url_ours else 0
    ours, baseline = [], []
    for i in range(load.rounds):
        for url, rates in ((url_ours, ours), (url_baseline, baseline)):
            result = wrk.run(url, seconds=load.seconds, **kwargs)
            if not result.clean:
                raise wrk.WrkError(
                    f"{url}: {result.bad_responses} answers were not 2xx/3xx, "
                    f"{result.connect_errors} connect errors, {result.timeouts} timeouts"
                )
            rates.append(result.requests_per_second)
            served += result.requests if url == url_ours else 0
        progress(
            f"round {i + 1}/{load.rounds}: ours {ours[-1]:,.0f} req/s, "
            f"baseline {baseline[-1]:,.0f} req/s"
        )
    return ours, baseline, served


def redirect_figure(
    base_url: str, code: str, load: Load, progress: Callable[[str], None]
) -> tuple[Figure, int]:
    """The /r/<CODE> figure, and how many redirects were served (each buffers one click)."""
    ours, baseline, served = _rounds(
        f"{base_url}/r/{code}",
        f"{base_url}/bench/redirect/{code}",
        dict(HTTPS_PROXY_HEADER),
        load,
        progress,
    )
    figure = Figure(
        name="redirect /r/<CODE>",
        unit="req/s",
        ours=statistics.median(ours),
        baseline=statistics.median(baseline),
        higher_is_better=True,
        target=Target("ratio >= 0.6 of a bare Django redirect view", 0.6, on="ratio"),
        note="a bare Django redirect view (302, no cache, no click) on the same gunicorn",
    )
    return figure, served


def api_figure(
    base_url: str, code: str, token: str, load: Load, progress: Callable[[str], None]
) -> Figure:
    ours, baseline, _ = _rounds(
        f"{base_url}/api/v1/codes/{code}",
        f"{base_url}/bench/json/{code}",
        {**HTTPS_PROXY_HEADER, "Authorization": f"Bearer {token}"},
        load,
        progress,
    )
    return Figure(
        name="API GET /api/v1/codes/{code}",
        unit="req/s",
        ours=statistics.median(ours),
        baseline=statistics.median(baseline),
        higher_is_better=True,
        target=Target("ratio >= 0.6 of a bare Django JSON view", 0.6, on="ratio"),
        note="a bare Django JsonResponse view of the same shape (no key check, no lookup) "
        "on the same gunicorn",
    )
