"""`python -m bench [FIGURE …]`: start the services, make the data, measure, print the report.

    python -m bench                      # every figure (what `make bench` runs)
    python -m bench redirect api         # only the HTTP comparisons
    python -m bench dashboard --requests 50

Figures: redirect, api (wrk against gunicorn), ingest, dashboard, reports, payouts, drain
(in-process).
Every run starts its own throwaway PostgreSQL cluster and redis-server on free loopback ports
and stops them at the end; nothing is left behind.
"""

import argparse
import os
import signal
import sys
import time

from . import services

FIGURES = ["redirect", "api", "ingest", "dashboard", "reports", "payouts", "drain"]
_started = time.monotonic()


def progress(message: str) -> None:
    print(f"[{time.monotonic() - _started:6.1f}s] {message}", flush=True)


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("figures", nargs="*", metavar="FIGURE", help=", ".join(FIGURES))
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--seconds", type=float, default=5, help="length of a wrk round")
    parser.add_argument("--rounds", type=int, default=5, help="wrk rounds per side")
    parser.add_argument("--requests", type=int, default=200, help="dashboard requests per side")
    args = parser.parse_args(argv)
    unknown = set(args.figures) - set(FIGURES)
    if unknown:
        parser.error(f"unknown figures {sorted(unknown)}; choose from {', '.join(FIGURES)}")
    args.figures = [name for name in FIGURES if name in args.figures] or FIGURES
    return args


def _prepare_django(env: dict) -> None:
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    progress("migrating the database")
    call_command("migrate", verbosity=0)
    progress("collecting static files")
    call_command("collectstatic", "--noinput", verbosity=0)


def _http_figures(args, env: dict, base) -> list:
    from django.db import connections

    from . import http
    from .datagen import TOP_CODE

    connections.close_all()  # the server's workers open their own
    load = http.Load(seconds=args.seconds, rounds=args.rounds)
    figures = []
    with services.gunicorn(workers=args.workers, env=env) as url:
        progress(
            f"gunicorn on {url}: {args.workers} sync workers; wrk -t2 -c32 -d{load.seconds:g}s"
        )
        if "redirect" in args.figures:
            progress("redirect: /r/<CODE> against a bare Django redirect view")
            figure, served = http.redirect_figure(url, TOP_CODE, load, progress)
            figures.append(figure)
            _check_clicks_buffered(served)
        if "api" in args.figures:
            progress("api: GET /api/v1/codes/{code} against a bare Django JSON view")
            figures.append(http.api_figure(url, TOP_CODE, base.api_token, load, progress))
    return figures


def _check_clicks_buffered(served: int) -> None:
    """Every redirect wrk counted queued one click in Redis, none written on the request."""
    from referrals.links.buffer import get_click_buffer

    buffered = len(get_click_buffer())
    progress(f"clicks waiting in the Redis buffer: {buffered:,} (for {served:,} redirects)")
    if buffered < served:
        raise AssertionError(f"{served - buffered} redirects recorded no click")


def _terminate(signum, frame):
    raise SystemExit(128 + signum)  # unwinds the context managers: services stop, folders go


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _terminate)
    args = _arguments(sys.argv[1:] if argv is None else argv)
    progress(f"bench: {', '.join(args.figures)}")
    progress("starting PostgreSQL and redis-server on loopback")
    with services.postgresql() as database_url, services.redis_server() as redis_url:
        env = services.bench_environment(database_url=database_url, redis_url=redis_url)
        _prepare_django(env)
        from . import datagen
        from .report import summary, table

        progress("generating the base data (programme, 1,000 advocates, codes, API key)")
        base = datagen.base_data()
        figures = []
        if {"redirect", "api"} & set(args.figures):
            figures += _http_figures(args, env, base)
        if {"dashboard", "reports"} & set(args.figures):
            progress("generating 1M clicks and 100k orders (SQL)")
            started = time.monotonic()
            counts = datagen.dashboard_data(base)
            progress(
                "generated "
                + ", ".join(f"{n:,} {table_}" for table_, n in counts.items())
                + f" in {time.monotonic() - started:.1f}s"
            )
        if "dashboard" in args.figures:
            from .dashboard import dashboard_figures

            progress("dashboard: the top advocate's /dashboard/ against a bare page")
            figures += dashboard_figures(base, progress, requests=args.requests)
        if "reports" in args.figures:
            from .reports import report_figures

            progress("reports: the manager's overview and the by-advocate report, a year")
            figures += report_figures(base, progress)
        if "ingest" in args.figures:
            from .ingest import ingest_figure

            progress("ingest: order_ingest with attribution and idempotency, 2 processes")
            figures.append(ingest_figure(base, progress))
        if "payouts" in args.figures:
            from .payout_build import payout_figure

            progress("payouts: generating 100k advocates with commissions (SQL)")
            figures.append(payout_figure(progress))
        if "drain" in args.figures:
            from .drain import CLICKS, drain_figure

            progress(f"drain: clicks_drain of {CLICKS:,} clicks from Redis against COPY")
            figures.append(drain_figure(base, progress))
        progress("done; stopping the services")
    print()
    print(table(figures))
    print()
    print(summary(figures))
    return 0 if all(figure.met is not False for figure in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
