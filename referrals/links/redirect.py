"""What `/r/<CODE>` does before it answers: refuse an IP that keeps guessing codes, find where the
code leads, and queue the click, in one Redis round trip when the click buffer is Redis.

Two implementations, chosen with the click buffer (referrals.links.buffer):

- Memory buffer (the embedded default): the cached lookup of referrals.links.cache (one
  `get_many` on the Django cache for the IP's miss counter, the targets generation and the
  code's entry), then the push onto the in-process buffer.
- Redis buffer (STREETTEAM_CLICK_BUFFER_URL=redis://…): the redirect keeps its lookups beside the
  click queue, in the buffer's Redis database, so one Lua script (EVALSHA) reads the IP's miss
  counter, the redirect generation and the code's entry and, when the entry is current and the IP
  not blocked, pushes the click; the process never waits for a second answer. The queue's
  database is not a cache: nothing there is evicted or flushed by `cache.clear()`, and entries
  expire on their own after STREETTEAM_TARGET_CACHE_SECONDS.

The Redis side follows the same generation protocol as referrals.links.cache (see advocacy.cache): a
number, `streetteam:redirect:generation`, bumped whenever the targets generation is (a hook
registered in ReferralsConfig.ready), and each code's entry stored with the number read before the
database was, so a change committed in between leaves the entry stale from the start. An entry is
`<generation>\\n<click head>\\n<target>`: the head is the start of the click's JSON with what the
code decides (`{"rep_code_id":…,"advocate_id":…,"landing":"…"`), which the script joins to the
request's own fields; an empty head and target mean "no usable code" (a cached miss).
"""

import json
import time
import weakref
from dataclasses import asdict, dataclass

from redis.exceptions import NoScriptError

from advocacy.codes import normalise_code
from config.redis_direct import DirectCommands
from referrals import ratelimit
from referrals.conf import app_settings
from referrals.links.buffer import RedisClickBuffer, get_click_buffer
from referrals.links.cache import target_lookup
from referrals.links.clicks import click_fields, click_record
from referrals.links.selectors import ReferralTarget, referral_target, referral_target_uncached
from referrals.services.codes import CODE_SHAPE

GENERATION_KEY = "streetteam:redirect:generation"
_ENTRY_PREFIX = "streetteam:redirect:code:"

# KEYS: 1 generation, 2 the code's entry, 3 the IP's miss counter, 4 the click queue.
# ARGV: 1 the miss limit, 2 the click's own fields (the end of its JSON, from the comma on).
# Returns {generation, entry, misses, pushed}; missing values come back as nil.
_REDIRECT = """
local found = redis.call('MGET', KEYS[1], KEYS[2], KEYS[3])
local generation, entry, misses = found[1], found[2], found[3]
if misses and tonumber(misses) >= tonumber(ARGV[1]) then
  return {generation, entry, misses, 0}
end
if generation and entry then
  local cut = string.find(entry, '\\n', 1, true)
  if cut and string.sub(entry, 1, cut - 1) == generation then
    local stop = string.find(entry, '\\n', cut + 1, true)
    if stop and stop > cut + 1 then
      redis.call('RPUSH', KEYS[4], string.sub(entry, cut + 1, stop - 1) .. ARGV[2])
      return {generation, entry, misses, 1}
    end
  end
end
return {generation, entry, misses, 0}
"""


@dataclass(frozen=True)
class Redirect:
    """The answer for one request: `wait` seconds when the IP is blocked (429), else `target`
    (None: unknown or unusable code, 404). A click was queued when there is a target."""

    target: object = None
    wait: int | None = None


def redirect_resolve(
    code: str, *, ip: str, visitor_id: str, user_agent: str, referrer: str
) -> Redirect:
    """Check the IP's misses, find where `code` leads and queue the click; count a miss for an
    unusable code."""
    buffer = get_click_buffer()
    visit = {"ip": ip, "visitor_id": visitor_id, "user_agent": user_agent, "referrer": referrer}
    if isinstance(buffer, RedisClickBuffer):
        redirects = _redis_redirects.get(buffer)
        if redirects is None:
            redirects = _redis_redirects[buffer] = _RedisRedirects(buffer)
        return redirects.resolve(code, **visit)
    return _resolve_through_cache(code, **visit)


def _resolve_through_cache(code, *, ip, visitor_id, user_agent, referrer) -> Redirect:
    # One cache round trip answers both questions: is this IP guessing too much, and where does
    # the code lead. The limit holds for real codes too, or a blocked guesser would still learn
    # which of its guesses exist.
    miss_key = ratelimit.bucket_key("redirect_miss", ip)
    lookup = target_lookup(code, extra_keys=[miss_key])
    wait = ratelimit.wait_for("redirect_miss", lookup.extras.get(miss_key))
    if wait:
        return Redirect(wait=wait)
    target = lookup.target if lookup.hit else referral_target(code)
    if target is None:
        ratelimit.record_miss("redirect_miss", ip)
        return Redirect()
    click_record(
        rep_code_id=target.rep_code_id,
        advocate_id=target.advocate_id,
        landing=target.url,
        ip=ip,
        visitor_id=visitor_id,
        user_agent=user_agent,
        referrer=referrer,
    )
    return Redirect(target=target)


class _RedisRedirects:
    def __init__(self, buffer: RedisClickBuffer):
        self.buffer = buffer
        self.redis = buffer.client
        self.script = self.redis.register_script(_REDIRECT)
        self.direct = DirectCommands(self.redis)

    def resolve(self, code, *, ip, visitor_id, user_agent, referrer) -> Redirect:
        normalised = normalise_code(code)
        miss_key = ratelimit.bucket_key("redirect_miss", ip)
        limit, _ = ratelimit.limit("redirect_miss")
        fields = click_fields(
            ip=ip, visitor_id=visitor_id, user_agent=user_agent, referrer=referrer
        )
        tail = "," + json.dumps(fields, separators=(",", ":"))[1:]
        if not CODE_SHAPE.match(normalised):
            misses = self.redis.get(miss_key)
            wait = ratelimit.wait_for("redirect_miss", int(misses or 0))
            if wait:
                return Redirect(wait=wait)
            self._record_miss(miss_key)
            return Redirect()
        generation, entry, misses, pushed = self._run_script(
            GENERATION_KEY, _ENTRY_PREFIX + normalised, miss_key, self.buffer.queue_key, limit, tail
        )
        wait = ratelimit.wait_for("redirect_miss", int(misses or 0))
        if wait:
            return Redirect(wait=wait)
        if pushed:
            return Redirect(target=_target_from_entry(entry))
        if generation is not None and entry is not None:
            stored_generation, head, _ = entry.split(b"\n", 2)
            if stored_generation == generation and not head:
                self._record_miss(miss_key)  # a cached miss: unknown or unusable code
                return Redirect()
        # Cold: no generation yet, or the entry is missing or stale. Read the database and
        # store the answer under the generation read before it.
        if generation is None:
            generation = self._start_generation()
        target = referral_target_uncached(normalised)
        self._store(normalised, generation, target)
        if target is None:
            self._record_miss(miss_key)
            return Redirect()
        self.buffer.push_raw(_click_head(target) + tail)
        return Redirect(target=target)

    def _run_script(self, *keys_and_args):
        try:
            return self.direct.execute("EVALSHA", self.script.sha, 4, *keys_and_args)
        except NoScriptError:
            # A restarted or flushed server: load the script once more, as redis-py's Script does.
            self.redis.script_load(_REDIRECT)
            return self.direct.execute("EVALSHA", self.script.sha, 4, *keys_and_args)

    def _store(self, normalised: str, generation: bytes, target) -> None:
        if target is None:
            value = generation + b"\n\n"
        else:
            payload = json.dumps(asdict(target), separators=(",", ":"))
            value = generation + b"\n" + _click_head(target).encode() + b"\n" + payload.encode()
        self.redis.set(_ENTRY_PREFIX + normalised, value, ex=app_settings.TARGET_CACHE_SECONDS)

    def _start_generation(self) -> bytes:
        # As advocacy.cache does: start from the clock, so no number handed out before returns.
        with self.redis.pipeline(transaction=False) as pipe:
            pipe.set(GENERATION_KEY, time.time_ns(), nx=True)
            pipe.get(GENERATION_KEY)
            return pipe.execute()[1]

    def _record_miss(self, miss_key: str) -> None:
        _, window = ratelimit.limit("redirect_miss")
        with self.redis.pipeline(transaction=False) as pipe:
            pipe.incr(miss_key)
            pipe.expire(miss_key, window + 1)
            pipe.execute()


# One per click buffer (a test or a new process makes a new buffer, and with it a new client).
_redis_redirects: "weakref.WeakKeyDictionary[RedisClickBuffer, _RedisRedirects]" = (
    weakref.WeakKeyDictionary()
)


# The targets of the entries last read, by entry: a hit's entry is the same bytes on every click
# until the code or the generation changes, so it is parsed once. Bounded by starting afresh.
_targets_read: dict[bytes, ReferralTarget] = {}


def _target_from_entry(entry: bytes) -> ReferralTarget:
    target = _targets_read.get(entry)
    if target is None:
        if len(_targets_read) >= 1024:
            _targets_read.clear()
        payload = entry.split(b"\n", 2)[2]
        target = _targets_read[entry] = ReferralTarget(**json.loads(payload))
    return target


def _click_head(target) -> str:
    head = {"rep_code_id": target.rep_code_id, "advocate_id": target.advocate_id}
    head["landing"] = target.url[:500]
    return json.dumps(head, separators=(",", ":"))[:-1]


def redirect_generation_bump() -> None:
    """Retire every redirect entry in the Redis buffer (called whenever the targets generation
    is bumped; a no-op with the memory buffer)."""
    buffer = get_click_buffer()
    if not isinstance(buffer, RedisClickBuffer):
        return
    with buffer.client.pipeline(transaction=False) as pipe:
        pipe.set(GENERATION_KEY, time.time_ns(), nx=True)
        pipe.incr(GENERATION_KEY)
        pipe.execute()
