"""Recording clicks: buffered on the request, written in batches."""

from datetime import datetime

from django.utils import timezone

from ..clickbuffer import get_click_buffer
from ..conf import app_settings
from ..hashing import ip_hash
from ..models import Click


def click_record(
    *,
    rep_code_id: int,
    advocate_id: int,
    visitor_id: str,
    ip: str,
    user_agent: str,
    referrer: str,
    landing: str,
    at: datetime | None = None,
) -> None:
    """Queue one click. No database write here: this runs on the redirect's hot path."""
    get_click_buffer().push(
        {
            "rep_code_id": rep_code_id,
            "advocate_id": advocate_id,
            "at": (at or timezone.now()).isoformat(),
            "visitor_id": visitor_id[:32],
            "ip_hash": ip_hash(ip),
            "user_agent": user_agent[:255],
            "referrer": referrer[:500],
            "landing": landing[:500],
        }
    )


def clicks_drain(*, max_batches: int = 100) -> int:
    """Move buffered clicks into the Click table in batches; returns how many were written.

    One drain at a time (another running drain makes this return 0); a batch is acknowledged to
    the buffer only once inserted, and put back if the insert fails (see referrals.clickbuffer).
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
            rows = [
                Click(
                    rep_code_id=item["rep_code_id"],
                    advocate_id=item["advocate_id"],
                    created_at=datetime.fromisoformat(item["at"]),
                    visitor_id=item["visitor_id"],
                    ip_hash=item["ip_hash"],
                    user_agent=item["user_agent"],
                    referrer=item["referrer"],
                    landing=item["landing"],
                )
                for item in batch
            ]
            try:
                Click.objects.bulk_create(rows, batch_size=1000)
            except Exception:
                buffer.requeue(batch)
                raise
            buffer.ack(batch)
            written += len(rows)
    return written
