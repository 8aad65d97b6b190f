"""Failed-login counting in Redis, per email and per client address, so every web process
enforces the same lockout.

Checking the count and counting the attempt are one atomic step (a Lua script): each attempt
takes a slot before its password is checked, so parallel requests cannot all pass a check
made before any of them failed. A successful login gives its slot back."""
from __future__ import annotations

import hashlib

from flask import current_app

from .queue import get_redis

# KEYS: counters; ARGV[1]: window seconds; ARGV[1 + i]: limit of KEYS[i].
# Locked: the longest remaining window. Otherwise count this attempt on every key (the window
# starts at a key's first attempt) and answer 0.
ACQUIRE = """
for i, key in ipairs(KEYS) do
  local count = tonumber(redis.call('GET', key) or '0')
  if count >= tonumber(ARGV[i + 1]) then
    local ttl = redis.call('TTL', key)
    if ttl < 1 then ttl = 1 end
    return ttl
  end
end
for _, key in ipairs(KEYS) do
  if redis.call('INCR', key) == 1 then redis.call('EXPIRE', key, ARGV[1]) end
end
return 0
"""
# A success: the email's failures are forgiven; the address only gets this attempt's slot back.
RELEASE = """
redis.call('DEL', KEYS[1])
for i = 2, #KEYS do
  if tonumber(redis.call('GET', KEYS[i]) or '0') > 0 then redis.call('DECR', KEYS[i]) end
end
return 0
"""


class LoginThrottle:
    def __init__(self, keys: list[str], max_failures: int, lockout_seconds: int):
        self.keys, self.max_failures, self.lockout_seconds = keys, max_failures, lockout_seconds
        self.redis = get_redis()

    @classmethod
    def for_request(cls, email: str, address: str) -> "LoginThrottle":
        digest = hashlib.sha256(email.encode()).hexdigest()[:32]
        cfg = current_app.config
        # The address key allows more attempts: an office behind one NAT shares it.
        return cls([f"login-fail:email:{digest}", f"login-fail:ip:{address}"],
                   cfg["LOGIN_MAX_FAILURES"], cfg["LOGIN_LOCKOUT_SECONDS"])

    def _limit(self, key: str) -> int:
        return self.max_failures * (4 if ":ip:" in key else 1)

    def acquire(self) -> int:
        """0 and this attempt counted, or the seconds left in a lockout (nothing counted)."""
        limits = [self._limit(key) for key in self.keys]
        return int(self.redis.eval(ACQUIRE, len(self.keys), *self.keys, self.lockout_seconds, *limits))

    def succeeded(self) -> None:
        self.redis.eval(RELEASE, len(self.keys), *self.keys)
