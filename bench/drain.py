"""Draining the click buffer: clicks per second moved from Redis into PostgreSQL, in batches.

Ours: `clicks_drain`, called until the Redis buffer is empty, as the `clicks` Celery queue runs
it: per batch of STREETTEAM_CLICK_BATCH_SIZE clicks, the Lua pop onto the processing list, the
JSON decoding, the Click rows' COPY and the batch's daily counts (ClickDaily) in one
transaction, then the ack.

The clicks are queued beforehand, untimed, over a few hundred codes of the base programme: in
each round the first click on every code goes through the redirect itself (`redirect_resolve`,
the Lua script /r/<CODE> runs, a cold database lookup the first time), and the others are what
`click_record` queues, pushed with the buffer's own `push`: the code's part (id, advocate,
landing) as the redirect queued it for that code, then `click_item` of a visit (a
random-looking visitor id, an IP hashed as on the request, a user agent, a referrer, now). The
run checks that every queued click has the redirect's fields in the redirect's order, that the
drain added exactly the queued clicks, and that each code's daily counts grew by its clicks.

Baseline: the same rows, read back from the queue and decoded before the clock starts, written
into the same Click table by a bare COPY per batch of the same size, each batch its own
transaction (as the drain commits each batch), on the same connection: the floor of storing
these clicks from Python on this database, without Redis, JSON, the ORM or the daily counts. The
run checks that it stored exactly the rows the drain stored, then deletes its copies, so that
the Click table and the daily counts agree afterwards. (Why COPY and not a multi-row INSERT: see
bench/README.md.)

After an untimed warm-up round of one batch, the sides alternate over 4 rounds (the baseline
first in the first and third, the drain in the others), so the table's growth and the machine's
noise fall on both; each side's rate is all its timed clicks over all its timed seconds.
"""

import hashlib
import json
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Sum

from advocacy.models import RepCode
from referrals.conf import app_settings
from referrals.models import Click, ClickDaily

# isort: split
from referrals.links.buffer import RedisClickBuffer, get_click_buffer
from referrals.links.clicks import COLUMNS, click_item, clicks_drain
from referrals.links.redirect import redirect_resolve

# isort: split
from .datagen import BaseData
from .report import Figure, Target

CLICKS = 100_000
ROUNDS = 4
CODES = 300  # the base programme's codes after the top one (BENCHTOP)
# A floor to catch a regression, with room for the load others put on the shared 2-core
# machine (bench/README.md).
TARGET_PER_SECOND = 3_000
PUSHES_PER_COMMAND = 1_000

_CODE_FIELDS = ("rep_code_id", "advocate_id", "landing")  # what the redirect takes from the code
USER_AGENTS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Safari/605.1.15",
)
REFERRERS = ("", "https://www.instagram.com/", "https://t.co/", "https://www.google.com/")


def visit(n: int) -> dict:
    """The request side of click n, as the redirect view reads it (a new visitor each time)."""
    return {
        "ip": f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}",
        "visitor_id": hashlib.md5(f"drain-{n}".encode(), usedforsecurity=False).hexdigest(),
        "user_agent": USER_AGENTS[n % len(USER_AGENTS)],
        "referrer": REFERRERS[n % len(REFERRERS)],
    }


def push_clicks(buffer: RedisClickBuffer, codes: list[str], first: int, count: int) -> None:
    """Queue clicks `first` … `first + count - 1` on an empty buffer, the i-th of them on
    codes[i % len(codes)]: one per code through the redirect, then the rest as `click_record`
    queues them, with the code's part copied from the click the redirect queued for that code.

    The rest go through the buffer's own `push_many` (its JSON, its queue), a thousand clicks per
    command: a round trip per click, as the redirect makes, would take longer than the drain.
    """
    if len(buffer):
        raise AssertionError("push_clicks needs an empty buffer")
    codes = codes[:count]
    for i, code in enumerate(codes):
        if redirect_resolve(code, **visit(first + i)).target is None:
            raise AssertionError(f"the redirect found no target for {code}")
    # The redirect gathers clicks per process and a background thread pushes them every
    # STREETTEAM_CLICK_PUSH_SECONDS; send what it still holds before counting the queue.
    buffer.push_gathered()
    queued = buffer.client.lrange(buffer.queue_key, 0, -1)
    if len(queued) != len(codes):
        raise AssertionError(f"{len(queued)} clicks queued by {len(codes)} redirects")
    heads = [{field: json.loads(raw)[field] for field in _CODE_FIELDS} for raw in queued]
    rest = range(len(codes), count)
    for start in range(rest.start, rest.stop, PUSHES_PER_COMMAND):
        stop = min(start + PUSHES_PER_COMMAND, rest.stop)
        buffer.push_many(
            [click_item(**heads[i % len(codes)], **visit(first + i)) for i in range(start, stop)]
        )


def queued_rows(buffer: RedisClickBuffer) -> list[tuple]:
    """The queued clicks as the drain will write them (COLUMNS), checking that all of them have
    the same fields in the same order (those the redirect queued among them, too)."""
    items = [json.loads(raw) for raw in buffer.client.lrange(buffer.queue_key, 0, -1)]
    shapes = {tuple(item) for item in items}
    if len(shapes) > 1:
        raise AssertionError(f"queued clicks of different shapes: {sorted(shapes)}")
    return [
        (
            item["rep_code_id"],
            item["advocate_id"],
            datetime.fromisoformat(item["at"]),
            item["visitor_id"],
            item["ip_hash"],
            item["user_agent"],
            item["referrer"],
            item["landing"],
        )
        for item in items
    ]


def bare_copy(rows: list[tuple], batch_size: int) -> None:
    """The baseline: the rows as Click rows, one COPY per batch, each in its own transaction."""
    table = connection.ops.quote_name(Click._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(column) for column in COLUMNS)
    with connection.cursor() as cursor:
        for start in range(0, len(rows), batch_size):
            with (
                transaction.atomic(),
                cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy_,
            ):
                for row in rows[start : start + batch_size]:
                    copy_.write_row(row)


def drain_all(buffer: RedisClickBuffer) -> int:
    """Call the drain until it finds nothing; returns the clicks written."""
    written = 0
    while drained := clicks_drain():
        written += drained
    if len(buffer):
        raise AssertionError(f"{len(buffer)} clicks left in the buffer (another drain running?)")
    return written


def _last_click_id() -> int:
    return Click.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def _in_ranges(ranges: list[tuple[int, int]]) -> tuple[str, list[int]]:
    """A WHERE clause for ids in any of the (after, up to) ranges."""
    sql = " OR ".join(["(id > %s AND id <= %s)"] * len(ranges))
    return sql, [bound for pair in ranges for bound in pair]


def _digest(ranges: list[tuple[int, int]]) -> tuple:
    """The count and an order-free checksum of the Click rows with ids in `ranges` (their
    COLUMNS only)."""
    where, params = _in_ranges(ranges)
    table = connection.ops.quote_name(Click._meta.db_table)
    values = ", ".join(connection.ops.quote_name(column) for column in COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*), sum(hashtextextended(concat_ws('|', {values}), 0)::numeric) "  # noqa: S608 (our SQL)
            f"FROM {table} WHERE {where}",
            params,
        )
        return tuple(cursor.fetchone())


def _daily_counts(rep_code_ids: list[int]) -> Counter:
    rows = (
        ClickDaily.objects.filter(rep_code_id__in=rep_code_ids)
        .values_list("rep_code_id")
        .annotate(total=Sum("clicks"))
    )
    return Counter(dict(rows))


def _empty(buffer: RedisClickBuffer, progress: Callable[[str], None]) -> None:
    """Drop what the redirect figure left in the queue (it counted them already): draining them
    would add untimed seconds and change nothing measured."""
    left = len(buffer)
    if left:
        buffer.client.delete(buffer.queue_key)
        progress(f"dropped the {left:,} clicks the redirect rounds left in the buffer")
    if len(buffer):
        raise AssertionError("the buffer holds an unacknowledged batch")


def drain_figure(
    base: BaseData,
    progress: Callable[[str], None],
    *,
    clicks: int = CLICKS,
    rounds: int = ROUNDS,
    codes: int = CODES,
) -> Figure:
    buffer = get_click_buffer()
    if not isinstance(buffer, RedisClickBuffer):
        raise AssertionError("the click buffer is not Redis (STREETTEAM_CLICK_BUFFER_URL)")
    _empty(buffer, progress)
    batch_size = app_settings.CLICK_BATCH_SIZE
    bench_codes = base.codes[1 : 1 + codes]
    rep_code_ids = list(RepCode.objects.filter(code__in=bench_codes).values_list("pk", flat=True))
    clicks_before = Click.objects.count()
    daily_before = _daily_counts(rep_code_ids)
    pushed: Counter = Counter()
    seconds = {"ours": 0.0, "baseline": 0.0}
    ids: dict[str, list[tuple[int, int]]] = {"ours": [], "baseline": []}
    per_round = clicks // rounds
    # An untimed first round of one batch a side (the drain's first call loads its Lua script,
    # the first COPYs warm their paths); its rows are checked like the others.
    plan = [("warm-up", batch_size)] + [
        (f"round {n + 1}/{rounds}", per_round) for n in range(rounds)
    ]
    queued = 0  # clicks so far, the warm-up's included
    for number, (label, count) in enumerate(plan):
        started = time.perf_counter()
        push_clicks(buffer, bench_codes, queued, count)
        queued += count
        rows = queued_rows(buffer)
        if len(rows) != count:
            raise AssertionError(f"{len(rows)} clicks queued for {count}")
        pushed.update(row[0] for row in rows)
        pushing = time.perf_counter() - started
        took = {}
        for side in ["baseline", "ours"] if number % 2 else ["ours", "baseline"]:
            before = _last_click_id()
            started = time.perf_counter()
            if side == "ours":
                written = drain_all(buffer)
            else:
                bare_copy(rows, batch_size)
                written = len(rows)
            took[side] = time.perf_counter() - started
            if written != count:
                raise AssertionError(f"{side}: {written} clicks written for {count}")
            ids[side].append((before, _last_click_id()))
        if number:
            seconds["ours"] += took["ours"]
            seconds["baseline"] += took["baseline"]
        progress(
            f"{label}: {count:,} clicks queued in {pushing:.1f}s; "
            f"drained in {took['ours']:.2f}s, copied in {took['baseline']:.2f}s"
        )
    total = per_round * rounds

    ours, bare = _digest(ids["ours"]), _digest(ids["baseline"])
    if ours[0] != queued or ours != bare:
        raise AssertionError(f"the drained rows {ours} differ from the copied ones {bare}")
    where, params = _in_ranges(ids["baseline"])
    with connection.cursor() as cursor:
        table = connection.ops.quote_name(Click._meta.db_table)
        cursor.execute(f"DELETE FROM {table} WHERE {where}", params)  # noqa: S608 (our SQL)
    if Click.objects.count() - clicks_before != queued:
        raise AssertionError("the drain added other clicks than the queued ones")
    if _daily_counts(rep_code_ids) - daily_before != pushed:
        raise AssertionError("the daily counts did not grow by the drained clicks")
    progress(
        f"ours: {total:,} clicks drained in {seconds['ours']:.2f}s; baseline: the same rows "
        f"copied in {seconds['baseline']:.2f}s; rows equal; daily counts up by {queued:,}"
    )
    return Figure(
        name=f"click drain, {total // 1000}k clicks",
        unit="clicks/s",
        ours=total / seconds["ours"],
        baseline=total / seconds["baseline"],
        higher_is_better=True,
        target=Target(f"ours >= {TARGET_PER_SECOND:,} clicks/s", TARGET_PER_SECOND),
        note=f"the same clicks as bare rows, a COPY per batch of {batch_size:,} in its own "
        "transaction, same connection (no Redis, JSON, ORM or daily counts)",
    )
