"""Where clicks wait between the redirect and the database.

`/r/<CODE>` must not write to the database on the request, so it pushes a small dict here and
`clicks_drain` moves batches into the Click table. Two backends:

- memory (the embedded default): a process-local deque; a daemon thread drains it every
  STREETTEAM_CLICK_FLUSH_SECONDS (0 = no thread: tests and the drain task call it explicitly).
  Clicks still in memory are lost if the process dies; production uses Redis.
- redis (STREETTEAM_CLICK_BUFFER_URL=redis://...): a list; pushes survive web restarts and any
  worker can drain it. A web process gathers its clicks for STREETTEAM_CLICK_PUSH_SECONDS
  (0.05 s) and sends them in one RPUSH from a background thread, so a redirect waits on no Redis
  write; the gathered clicks are sent at exit, and a hard crash loses at most that window.

A drain (`clicks_drain`) goes: `draining()` (a lock: one drain at a time), then per batch
`pop_batch` -> bulk insert -> `ack`, or `requeue` when the insert fails.

With Redis nothing popped is lost if the draining process dies between the pop and the insert:
`pop_batch` moves the batch, in one Lua script (atomic), from the head of `streetteam:clicks` onto a
processing list `streetteam:clicks:processing`, and `ack` deletes that list only after the insert
committed. While the processing list is not empty, `pop_batch` hands back *its* contents instead
of popping new clicks, so the next drain (after the dead one's lock expired) writes the orphaned
batch first; `requeue` moves it back to the head of the queue. The drain lock (SET NX with an
expiry, released only by its owner) keeps two drains from sharing the processing list. Delivery is
at-least-once: a process that dies after the insert committed and before `ack` leaves a batch
that is written again (a few duplicate clicks after a crash, never a lost one).
"""

import atexit
import json
import logging
import os
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from contextlib import contextmanager

from django.db import close_old_connections

from kernel.redis_direct import DirectCommands
from referrals.conf import app_settings

logger = logging.getLogger(__name__)

_REDIS_KEY = "streetteam:clicks"
_REDIS_PROCESSING_KEY = "streetteam:clicks:processing"
_REDIS_LOCK_KEY = "streetteam:clicks:drain-lock"
# Longer than any batch insert takes; a drain that died holding the lock frees it after this.
DRAIN_LOCK_SECONDS = 300

# KEYS[1] queue, KEYS[2] processing; ARGV[1] batch size. The unacknowledged batch if there is
# one, else up to ARGV[1] clicks moved from the queue's head onto the processing list.
_POP_BATCH = """
local pending = redis.call('LRANGE', KEYS[2], 0, -1)
if #pending > 0 then return pending end
local items = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if #items == 0 then return items end
redis.call('LTRIM', KEYS[1], #items, -1)
for i = 1, #items, 1000 do
  redis.call('RPUSH', KEYS[2], unpack(items, i, math.min(i + 999, #items)))
end
return items
"""

# KEYS[1] queue, KEYS[2] processing: put the unacknowledged batch back at the queue's head,
# in its order.
_REQUEUE = """
local pending = redis.call('LRANGE', KEYS[2], 0, -1)
for i = #pending, 1, -1 do redis.call('LPUSH', KEYS[1], pending[i]) end
redis.call('DEL', KEYS[2])
return #pending
"""

# KEYS[1] lock, ARGV[1] token: release only a lock we still own.
_UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class MemoryClickBuffer:
    def __init__(self):
        self._items: deque[dict] = deque()
        self._lock = threading.Lock()
        self._flusher: threading.Thread | None = None

    def push(self, item: dict) -> None:
        self._items.append(item)  # deque.append is atomic; no lock on the hot path

    @property
    def wants_flusher(self) -> bool:
        """True until a background thread writes this process's clicks (when configured)."""
        return self._flusher is None and app_settings.CLICK_FLUSH_SECONDS > 0

    def pop_batch(self, size: int) -> list[dict]:
        batch = []
        with self._lock:
            while self._items and len(batch) < size:
                batch.append(self._items.popleft())
        return batch

    def requeue(self, items: list[dict]) -> None:
        with self._lock:
            self._items.extendleft(reversed(items))

    def ack(self, items: list[dict]) -> None:
        """The batch is in the database (nothing to do: a popped batch lives only in memory)."""

    @contextmanager
    def draining(self):
        yield True

    def __len__(self) -> int:
        return len(self._items)

    def start_flusher(self, drain: Callable[[], object]) -> None:
        """Run `drain` every CLICK_FLUSH_SECONDS in a daemon thread (once per process)."""
        with self._lock:
            if self._flusher is not None:
                return
            self._flusher = threading.Thread(target=self._flush_forever, args=(drain,), daemon=True)
            self._flusher.start()

    def _flush_forever(self, drain: Callable[[], object]) -> None:
        while True:
            time.sleep(app_settings.CLICK_FLUSH_SECONDS)
            if not self._items:
                continue
            try:
                drain()
            except Exception:  # a failed drain requeues; keep the flusher alive
                logger.exception("click drain failed")
            finally:
                close_old_connections()


class RedisClickBuffer:
    # Drained by the `clicks_drain` task on beat's schedule, not by a thread in each process.
    wants_flusher = False

    def __init__(self, url: str):
        import redis

        self._redis = redis.Redis.from_url(url)
        self._direct = DirectCommands(self._redis)  # push: one per click, on /r/'s hot path
        self._pop_batch = self._redis.register_script(_POP_BATCH)
        self._requeue = self._redis.register_script(_REQUEUE)
        self._unlock = self._redis.register_script(_UNLOCK)
        self._gathered: deque[str] = deque()
        self._pusher_lock = threading.Lock()
        self._pusher_pid: int | None = None

    queue_key = _REDIS_KEY

    @property
    def client(self):
        """The buffer's Redis client (for tools that inspect the queue)."""
        return self._redis

    def push(self, item: dict) -> None:
        if app_settings.CLICK_PUSH_SECONDS <= 0:
            self._direct.execute("RPUSH", _REDIS_KEY, _encode(item))
            return
        self._gathered.append(_encode(item))  # deque.append is atomic: no lock on the hot path
        if self._pusher_pid != os.getpid():  # none yet in this process (or we were forked)
            self._start_pusher()

    def push_gathered(self) -> int:
        """Send this process's gathered clicks to Redis now (the pusher thread, the drain and
        exit call it); on failure they are kept, in order, for the next try."""
        items = []
        while self._gathered:
            try:
                items.append(self._gathered.popleft())
            except IndexError:  # another thread took the last one
                break
        for start in range(0, len(items), 1000):
            try:
                self._redis.rpush(_REDIS_KEY, *items[start : start + 1000])
            except Exception:
                self._gathered.extendleft(reversed(items[start:]))
                raise
        return len(items)

    def _start_pusher(self) -> None:
        with self._pusher_lock:
            if self._pusher_pid == os.getpid():
                return
            self._pusher_pid = os.getpid()
            threading.Thread(target=self._push_forever, daemon=True, name="click-push").start()
            atexit.register(self.push_gathered)

    def _push_forever(self) -> None:
        while True:
            interval = app_settings.CLICK_PUSH_SECONDS
            if interval <= 0:  # switched to pushing on the request: send what is left, stop
                with self._pusher_lock:
                    self._pusher_pid = None
                self.push_gathered()
                return
            time.sleep(interval)
            try:
                self.push_gathered()
            except Exception:  # Redis away: the clicks wait in memory for the next try
                logger.exception("could not push clicks to the Redis buffer")

    def push_many(self, items: list[dict]) -> None:
        """Queue many clicks in one command (imports and benchmarks; /r/ pushes one)."""
        if items:
            self._redis.rpush(_REDIS_KEY, *[_encode(item) for item in items])

    def pop_batch(self, size: int) -> list[dict]:
        self.push_gathered()  # a drain in this process also writes what it gathered
        raw = self._pop_batch(keys=[_REDIS_KEY, _REDIS_PROCESSING_KEY], args=[size])
        return [json.loads(x) for x in raw]

    def requeue(self, items: list[dict]) -> None:
        self._requeue(keys=[_REDIS_KEY, _REDIS_PROCESSING_KEY])

    def ack(self, items: list[dict]) -> None:
        self._redis.delete(_REDIS_PROCESSING_KEY)

    @contextmanager
    def draining(self):
        """True when this process holds the drain lock; False while another drain runs."""
        token = uuid.uuid4().hex
        acquired = bool(self._redis.set(_REDIS_LOCK_KEY, token, nx=True, ex=DRAIN_LOCK_SECONDS))
        try:
            yield acquired
        finally:
            if acquired:
                self._unlock(keys=[_REDIS_LOCK_KEY], args=[token])

    def __len__(self) -> int:
        """Clicks not in the database yet: queued, plus an unacknowledged batch."""
        with self._redis.pipeline(transaction=False) as pipe:
            pipe.llen(_REDIS_KEY)
            pipe.llen(_REDIS_PROCESSING_KEY)
            queued, processing = pipe.execute()
        return int(queued) + int(processing) + len(self._gathered)


def _encode(item: dict) -> str:
    return json.dumps(item, separators=(",", ":"))


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
