"""A rate limiter shared by every process through Redis.

Sliding-window log per credential set: no window of ``window`` seconds ever holds more than
``limit`` requests, so a provider counting in fixed windows of any alignment never sees
more than its limit. A provider-announced pause (e.g. ``X-Rate-Limit-Remaining: 0``) is
stored too, so every worker waits it out.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass

_ACQUIRE = """
local pause = redis.call('PTTL', KEYS[2])
if pause > 0 then return pause end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + window - now)
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
        self.rule = rule
        self._script = redis.register_script(_ACQUIRE)

    def try_acquire(self) -> float:
        """Take a slot now and return 0, or return the seconds to wait before trying again."""
        wait_ms = self._script(keys=[self.log_key, self.pause_key],
                               args=[int(self.rule.window_seconds * 1000), self.rule.limit, uuid.uuid4().hex])
        return int(wait_ms) / 1000.0

    def pause(self, seconds: float) -> None:
        """Every process waits ``seconds`` (the provider told us its window is spent)."""
        if seconds > 0:
            self.redis.set(self.pause_key, "1", px=max(1, int(seconds * 1000)))


def with_margin(rule: RateLimit, fraction: float = 0.1) -> RateLimit:
    """The same limit over a slightly longer window, for providers that announce nothing to
    re-align on (no remaining/reset headers): the time between taking a slot and the request
    arriving can otherwise slip one request into the provider's previous window."""
    return RateLimit(limit=rule.limit, window_seconds=rule.window_seconds * (1 + fraction))
