"""Order ingestion on PostgreSQL: orders per second through `order_ingest`, as the API calls it.

Ours: every order goes through the service with attribution and idempotency, as POST
/api/v1/orders does: half carry a typed code, three in ten a link visitor id (resolved to the
visitor's last click, then attributed within the window), one in ten nothing, and one call in
ten repeats an earlier order's external id (answered from the first recording, not stored
twice). Each new attributed order also gets its pending commission and `earned` ledger entry.

Baseline: the same orders written as bare `Order` rows (one INSERT in its own transaction per
order, as the service's own transaction would be) without any lookup, check, commission or
ledger entry: the floor of storing an order on this database.

Both run from the same code with the same number of forked worker processes (2, like the
bench server's gunicorn workers; each its own interpreter and connection), so they share
Python, the driver and the database. The rate counts new orders only; the repeats
take time from ours without adding to its count.
"""

import multiprocessing
import time
from collections.abc import Callable

from django.db import connection, connections, transaction
from django.utils import timezone

from advocacy.models import RepCode
from referrals.links.cookies import visitor_id_sign
from referrals.links.selectors import link_referral_for_visitor
from referrals.models import Click, Order
from referrals.services.orders import order_ingest
from referrals.services.stores import store_built_in

from .datagen import BaseData
from .report import Figure, Target

ORDERS = 3_000
WORKERS = 2  # processes, like the bench server's gunicorn workers
TARGET_PER_SECOND = 200  # "hundreds per second" (bench/README.md, the figures)


def _visitor(n: int) -> str:
    return f"benchvisitor{n:020d}"


def _clicks_for_links(base: BaseData, count: int) -> None:
    """One recent click per link visitor, so link attribution finds it within the window."""
    codes = {
        rep.advocate_id: rep
        for rep in RepCode.objects.filter(advocate__programme_id=base.programme_id)
    }
    advocates = sorted(codes)
    now = timezone.now()
    Click.objects.bulk_create(
        [
            Click(
                rep_code=codes[advocates[n % len(advocates)]],
                advocate_id=advocates[n % len(advocates)],
                created_at=now,
                visitor_id=_visitor(n),
                landing="/",
            )
            for n in range(count)
        ],
        batch_size=1000,
    )


def _plan(base: BaseData, count: int, prefix: str) -> list[dict]:
    """The calls: order i's external id, attribution and amounts; every tenth call repeats the
    order five before it."""
    calls = []
    for i in range(count):
        if i % 10 == 9:
            calls.append({**calls[i - 5], "repeat": True})
            continue
        gross = 3_000 + (i * 37) % 20_000
        kind = i % 10
        call = {
            "external_id": f"{prefix}-{i}",
            "gross_amount": gross,
            "discount_amount": 0,
            "code": "",
            "visitor_id": "",
            "shopper_email": f"shopper{i}@{prefix}.example",
            "repeat": False,
        }
        if kind < 5:
            call.update(code=base.codes[i % len(base.codes)], discount_amount=gross // 5)
        elif kind < 8:
            # Signed, as the merchant script sends it: the API verifies it before the lookup.
            call.update(visitor_id=visitor_id_sign(_visitor(i)), discount_amount=gross // 5)
        calls.append(call)
    return calls


def _ours(call: dict) -> None:
    link = link_referral_for_visitor(call["visitor_id"]) if call["visitor_id"] else None
    result = order_ingest(
        source=Order.Source.API,
        external_id=call["external_id"],
        currency="EUR",
        gross_amount=call["gross_amount"],
        discount_amount=call["discount_amount"],
        code=call["code"],
        link=link,
        shopper_email=call["shopper_email"],
    )
    if call["code"] and result.commission is None and result.created:
        raise AssertionError(f"order {call['external_id']} was not attributed")


def _bare(call: dict) -> None:
    with transaction.atomic():
        Order.objects.create(
            source=Order.Source.SANDBOX,
            store=store_built_in(Order.Source.SANDBOX),
            external_id=call["external_id"],
            currency="EUR",
            gross_amount=call["gross_amount"],
            discount_amount=call["discount_amount"],
            net_amount=call["gross_amount"] - call["discount_amount"],
            placed_at=timezone.now(),
        )


def _run_share(work: Callable[[dict], None], share: list[dict]) -> None:
    try:
        for call in share:
            work(call)
    finally:
        connection.close()


def _timed(work: Callable[[dict], None], calls: list[dict], workers: int) -> float:
    """Seconds to run every call, split round-robin over `workers` forked processes (as a web
    server's workers would run them: each its own interpreter and database connection)."""
    connections.close_all()  # a forked child must open its own connection, not share ours
    shares = [calls[i::workers] for i in range(workers)]
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        started = time.perf_counter()
        pool.starmap(_run_share, [(work, share) for share in shares])
        return time.perf_counter() - started


def ingest_figure(
    base: BaseData,
    progress: Callable[[str], None],
    *,
    orders: int = ORDERS,
    workers: int = WORKERS,
) -> Figure:
    _clicks_for_links(base, orders)
    ours_calls = _plan(base, orders, "ingest")
    bare_calls = [call for call in _plan(base, orders, "bare") if not call["repeat"]]
    new_orders = len(bare_calls)

    ours_seconds = _timed(_ours, ours_calls, workers)
    stored = Order.objects.filter(source=Order.Source.API, external_id__startswith="ingest-")
    if stored.count() != new_orders:
        raise AssertionError(f"{stored.count()} orders stored for {new_orders} distinct ids")
    attributed = stored.filter(advocate__isnull=False).count()
    progress(
        f"ours: {len(ours_calls):,} calls ({new_orders:,} new orders, {attributed:,} "
        f"attributed, {len(ours_calls) - new_orders:,} repeats) in {ours_seconds:.1f}s"
    )
    bare_seconds = _timed(_bare, bare_calls, workers)
    progress(f"baseline: {new_orders:,} bare INSERTs in {bare_seconds:.1f}s")
    return Figure(
        name=f"order ingestion, {workers} processes",
        unit="orders/s",
        ours=new_orders / ours_seconds,
        baseline=new_orders / bare_seconds,
        higher_is_better=True,
        target=Target(f"ours >= {TARGET_PER_SECOND} orders/s", TARGET_PER_SECOND),
        note="the same orders as bare Order INSERTs, one transaction each, same processes "
        "(no lookup, attribution, idempotency check, commission or ledger entry)",
    )
