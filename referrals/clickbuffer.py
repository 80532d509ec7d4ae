"""Where clicks wait between the redirect and the database.

`/r/<CODE>` must not write to the database on the request, so it pushes a small dict here and
`clicks_drain` moves batches into the Click table. Two backends:

- memory (the embedded default): a process-local deque; a daemon thread drains it every
  STREETTEAM_CLICK_FLUSH_SECONDS (0 = no thread: tests and the drain task call it explicitly).
  Clicks still in memory are lost if the process dies; production uses Redis.
- redis (STREETTEAM_CLICK_BUFFER_URL=redis://...): a list; pushes survive web restarts and any
  worker can drain it.
"""

import json
import logging
import threading
import time
from collections import deque

from .conf import app_settings

logger = logging.getLogger(__name__)

_REDIS_KEY = "streetteam:clicks"


class MemoryClickBuffer:
    def __init__(self):
        self._items: deque[dict] = deque()
        self._lock = threading.Lock()
        self._flusher: threading.Thread | None = None

    def push(self, item: dict) -> None:
        self._items.append(item)  # deque.append is atomic; no lock on the hot path
        if self._flusher is None and app_settings.CLICK_FLUSH_SECONDS > 0:
            self._start_flusher()

    def pop_batch(self, size: int) -> list[dict]:
        batch = []
        with self._lock:
            while self._items and len(batch) < size:
                batch.append(self._items.popleft())
        return batch

    def requeue(self, items: list[dict]) -> None:
        with self._lock:
            self._items.extendleft(reversed(items))

    def __len__(self) -> int:
        return len(self._items)

    def _start_flusher(self) -> None:
        with self._lock:
            if self._flusher is not None:
                return
            self._flusher = threading.Thread(target=self._flush_forever, daemon=True)
            self._flusher.start()

    def _flush_forever(self) -> None:
        from django.db import close_old_connections

        from .services.clicks import clicks_drain

        while True:
            time.sleep(app_settings.CLICK_FLUSH_SECONDS)
            if not self._items:
                continue
            try:
                clicks_drain()
            except Exception:  # a failed drain requeues; keep the flusher alive
                logger.exception("click drain failed")
            finally:
                close_old_connections()


class RedisClickBuffer:
    def __init__(self, url: str):
        import redis

        self._redis = redis.Redis.from_url(url)

    def push(self, item: dict) -> None:
        self._redis.rpush(_REDIS_KEY, json.dumps(item, separators=(",", ":")))

    def pop_batch(self, size: int) -> list[dict]:
        raw = self._redis.lpop(_REDIS_KEY, size) or []
        return [json.loads(x) for x in raw]

    def requeue(self, items: list[dict]) -> None:
        if items:
            self._redis.lpush(_REDIS_KEY, *[json.dumps(x) for x in reversed(items)])

    def __len__(self) -> int:
        return int(self._redis.llen(_REDIS_KEY))


_buffer = None
_buffer_lock = threading.Lock()


def get_click_buffer():
    global _buffer
    if _buffer is None:
        with _buffer_lock:
            if _buffer is None:
                url = app_settings.CLICK_BUFFER_URL
                _buffer = RedisClickBuffer(url) if url else MemoryClickBuffer()
    return _buffer
