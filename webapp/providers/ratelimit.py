"""A rate limiter shared by every process through Redis.

Sliding-window log per credential set: no window of ``window`` seconds ever holds more than
``limit`` requests, so a provider counting in fixed windows of any alignment never sees
more than its limit. A provider-announced pause (e.g. ``X-Rate-Limit-Remaining: 0``) is
stored too, so every worker waits it out.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass

INLINE_WAIT_LIMIT = 3.0
INLINE_WAIT_FRACTION = 0.05

# KEYS: log, pause, promised. ARGV: window ms, limit, member, inline wait ms.
# A full window answers with the wait. A wait the caller sleeps through inline is the oldest
# slot's; a longer one is a *promise*: the caller is rescheduled (a push job, a sync slice),
# so it is given its own turn after every caller promised before it — the slot that frees for
# it — and that turn is remembered. Waiters rescheduled together thus come back one slot
# apart instead of all at the first free slot (where all but one would be turned away
# again). Admission looks at the log only: promises never let a request exceed the limit.
_ACQUIRE = """
local pause = redis.call('PTTL', KEYS[2])
if pause > 0 then return pause end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local wait = math.max(1, tonumber(oldest[2]) + window - now)
if wait <= tonumber(ARGV[4]) then return wait end
local times = {}
for i, score in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')) do
  if i % 2 == 0 then table.insert(times, tonumber(score)) end
end
for i, score in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1, 'WITHSCORES')) do
  if i % 2 == 0 then table.insert(times, tonumber(score)) end
end
table.sort(times)
local turn = math.max(now + wait, times[#times - limit + 1] + window)
redis.call('ZADD', KEYS[3], turn, ARGV[3])
redis.call('PEXPIRE', KEYS[3], turn - now + window)
return math.max(1, turn - now)
"""


# KEYS: end, pause. ARGV: announced reset ms, window ms, spent (1/0).
# A provider announcing "seconds until the window resets" in whole seconds, rounded up, says
# in each answer "the window ends at most R s from now". Every answer of the same window
# narrows that bound (the first answer of a window, R = the full window, pins it to within
# the answer's own latency), so the pause after the spent answer ends when the window does,
# not up to a second later. Bounds from one window differ by about a second (the rounding);
# ends of successive windows lie a window apart, so with windows of 3 s or more a bound more
# than 1.5 s from the known one belongs to another window and replaces it.
_WINDOW_END = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local bound = now + tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local known = tonumber(redis.call('GET', KEYS[1]))
if known ~= nil and window >= 3000 and math.abs(bound - known) < 1500 then bound = math.min(bound, known) end
redis.call('SET', KEYS[1], bound, 'PX', math.max(1, bound - now + window))
if ARGV[3] == '1' and bound > now then redis.call('SET', KEYS[2], '1', 'PX', bound - now) end
return bound - now
"""


@dataclass
class RateLimit:
    limit: int
    window_seconds: float


class SharedRateLimiter:
    def __init__(self, redis, key: str, rule: RateLimit):
        self.redis = redis
        self.log_key = f"ratelimit:{key}:log"
        self.pause_key = f"ratelimit:{key}:pause"
        self.promised_key = f"ratelimit:{key}:promised"
        self.window_end_key = f"ratelimit:{key}:window_end"
        self.rule = rule
        self._script = redis.register_script(_ACQUIRE)
        self._window_end = redis.register_script(_WINDOW_END)

    @property
    def inline_wait(self) -> float:
        """The longest wait a caller sleeps through in-process: at most 3 s, and at most 5% of
        the window (a compressed test window must not turn every wait into a sleep). Beyond it
        the caller is rescheduled (ProviderRateLimited), freeing its worker."""
        return min(INLINE_WAIT_LIMIT, self.rule.window_seconds * INLINE_WAIT_FRACTION)

    def try_acquire(self) -> float:
        """Take a slot now and return 0, or return the seconds to wait before trying again: a
        wait up to ``inline_wait`` is the next free slot; a longer one is this caller's turn
        behind the callers already rescheduled (see _ACQUIRE)."""
        wait_ms = self._script(keys=[self.log_key, self.pause_key, self.promised_key],
                               args=[int(self.rule.window_seconds * 1000), self.rule.limit, uuid.uuid4().hex,
                                     int(self.inline_wait * 1000)])
        return int(wait_ms) / 1000.0

    def pause(self, seconds: float) -> None:
        """Every process waits ``seconds`` (the provider told us its window is spent)."""
        if seconds > 0:
            self.redis.set(self.pause_key, "1", px=max(1, int(seconds * 1000)))

    def window_resets_in(self, seconds: float, spent: bool) -> float:
        """Record a provider's "window resets in ``seconds``" (whole seconds, rounded up) and
        return the tightest bound on the window's end known from every answer of this window;
        when ``spent``, every process pauses until then."""
        left_ms = self._window_end(keys=[self.window_end_key, self.pause_key],
                                   args=[max(0, int(seconds * 1000)), int(self.rule.window_seconds * 1000),
                                         int(spent)])
        return int(left_ms) / 1000.0


def with_margin(rule: RateLimit, fraction: float = 0.1) -> RateLimit:
    """The same limit over a slightly longer window, for providers that announce nothing to
    re-align on (no remaining/reset headers): the time between taking a slot and the request
    arriving can otherwise slip one request into the provider's previous window."""
    return RateLimit(limit=rule.limit, window_seconds=rule.window_seconds * (1 + fraction))
