"""Recording clicks: buffered on the request, written in batches."""

from collections import Counter
from datetime import UTC, datetime

from django.db import connection, transaction
from django.utils import timezone

from referrals.conf import app_settings
from referrals.hashing import ip_hash
from referrals.links.buffer import get_click_buffer
from referrals.models import Click, ClickDaily


def click_item(
    *,
    rep_code_id: int,
    advocate_id: int,
    visitor_id: str,
    ip: str,
    user_agent: str,
    referrer: str,
    landing: str,
    at: datetime | None = None,
) -> dict:
    """One click as the buffer holds it (JSON-ready), the IP already hashed."""
    return {
        "rep_code_id": rep_code_id,
        "advocate_id": advocate_id,
        "landing": landing[:500],
        "at": (at or timezone.now()).isoformat(),
        "visitor_id": visitor_id[:32],
        "ip_hash": ip_hash(ip),
        "user_agent": user_agent[:255],
        "referrer": referrer[:500],
    }


def click_record(**click) -> None:
    """Queue one click (the fields of `click_item`). No database write here: this runs on the
    redirect's hot path."""
    buffer = get_click_buffer()
    if buffer.wants_flusher:  # the in-process buffer writes in the background
        buffer.start_flusher(clicks_drain)
    buffer.push(click_item(**click))


def clicks_drain(*, max_batches: int = 100) -> int:
    """Move buffered clicks into the Click table in batches; returns how many were written.

    One drain at a time (another running drain makes this return 0); a batch is acknowledged to
    the buffer only once inserted, and put back if the insert fails (see referrals.links.buffer).
    Each batch's clicks and their daily counts (ClickDaily) commit together: a batch delivered
    twice after a crash adds its clicks and its counts twice, so the counts always equal the
    Click rows the dashboard would otherwise count.
    """
    buffer = get_click_buffer()
    written = 0
    with buffer.draining() as ours:
        if not ours:
            return 0
        for _ in range(max_batches):
            batch = buffer.pop_batch(app_settings.CLICK_BATCH_SIZE)
            if not batch:
                break
            rows = [_row(item) for item in batch]
            try:
                with transaction.atomic():
                    _insert(rows)
                    _count_daily(rows)
            except Exception:
                buffer.requeue(batch)
                raise
            buffer.ack(batch)
            written += len(rows)
    return written


# A buffered click as a Click row, in this column order.
COLUMNS = (
    "rep_code_id",
    "advocate_id",
    "created_at",
    "visitor_id",
    "ip_hash",
    "user_agent",
    "referrer",
    "landing",
)


def _row(item: dict) -> tuple:
    return (
        item["rep_code_id"],
        item["advocate_id"],
        datetime.fromisoformat(item["at"]),
        item["visitor_id"],
        item["ip_hash"],
        item["user_agent"],
        item["referrer"],
        item["landing"],
    )


def _insert(rows: list[tuple]) -> None:
    """Write the rows: PostgreSQL's COPY where we have it (no per-value work in Python, the
    drain's cost otherwise), the ORM's bulk insert elsewhere (SQLite in development)."""
    if connection.vendor != "postgresql":
        Click.objects.bulk_create([Click(**dict(zip(COLUMNS, row, strict=True))) for row in rows])
        return
    table = connection.ops.quote_name(Click._meta.db_table)
    with (
        connection.cursor() as cursor,
        cursor.copy(
            f"COPY {table} ({', '.join(COLUMNS)}) FROM STDIN"  # (names from model metadata)
        ) as copy,
    ):
        for row in rows:
            copy.write_row(row)


def _count_daily(rows: list[tuple]) -> None:
    """Add the batch's clicks to their codes' per-day counts (an upsert per 1,000 code-days).

    An increment in the database (ON CONFLICT ... SET clicks = clicks + excluded.clicks), not a
    read-modify-write in Python, so it stays right whatever else writes the row.
    """
    per_day = Counter(
        (rep_code_id, advocate_id, created_at.astimezone(UTC).date())
        for rep_code_id, advocate_id, created_at, *_ in rows
    )
    if not per_day:
        return
    table = connection.ops.quote_name(ClickDaily._meta.db_table)
    increment = f"clicks = {table}.clicks + excluded.clicks"
    groups = sorted(per_day.items())
    with connection.cursor() as cursor:
        # 1,000 groups a statement keeps the parameters far below any database's limit.
        for start in range(0, len(groups), 1000):
            chunk = groups[start : start + 1000]
            values = ", ".join(["(%s, %s, %s, %s)"] * len(chunk))
            cursor.execute(
                f"INSERT INTO {table} (rep_code_id, advocate_id, day, clicks) VALUES {values} "  # noqa: S608 (table name from model metadata)
                f"ON CONFLICT (rep_code_id, day) DO UPDATE SET {increment}",
                [value for key, count in chunk for value in (*key, count)],
            )
