"""Per-credential fixed-window rate limiting of a simulator (providers answer their own 429)."""
from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int  # whole seconds until the current window ends


class FixedWindowRateLimiter:
    """Fixed window per credential: the window opens on the first request after the
    previous one expired and admits `limit` requests; refused requests are not counted."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[float, int]] = {}

    def _window(self, key: str, window_seconds: float, now: float) -> tuple[float, int]:
        start, count = self._windows.get(key, (now, 0))
        if now >= start + window_seconds:
            start, count = now, 0
        return start, count

    @staticmethod
    def _reset(start: float, window_seconds: float, now: float) -> int:
        return max(1, math.ceil(start + window_seconds - now))

    def hit(self, key: str, limit: int, window_seconds: float) -> RateDecision:
        with self._lock:
            now = self._clock()
            start, count = self._window(key, window_seconds, now)
            if count >= limit:
                self._windows[key] = (start, count)
                return RateDecision(False, limit, 0, self._reset(start, window_seconds, now))
            count += 1
            self._windows[key] = (start, count)
            return RateDecision(True, limit, limit - count, self._reset(start, window_seconds, now))

    def peek(self, key: str, limit: int, window_seconds: float) -> RateDecision:
        """Current remaining/reset without consuming a request."""
        with self._lock:
            now = self._clock()
            if key not in self._windows:
                return RateDecision(True, limit, limit, max(1, math.ceil(window_seconds)))
            start, count = self._window(key, window_seconds, now)
            return RateDecision(count < limit, limit, max(0, limit - count),
                                self._reset(start, window_seconds, now))

    def reset(self, key: str | None = None) -> None:
        with self._lock:
            if key is None:
                self._windows.clear()
            else:
                self._windows.pop(key, None)

