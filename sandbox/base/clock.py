"""Time and ids of a simulator: a clock tests can freeze or move, and per-kind id ranges."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from typing import Any


class IdSequence:
    """Thread-safe integer ids per kind; each kind can start in its own range so an id of
    one kind is never mistaken for another in a client bug."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next: dict[str, int] = {}

    def next(self, kind: str, start: int = 1) -> int:
        with self._lock:
            value = self._next.get(kind, start)
            self._next[kind] = value + 1
            return value


class SimClock:
    """Naive-UTC clock that tests can freeze, set or move forward."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._frozen: datetime | None = None
        self._offset = timedelta(0)

    def now(self) -> datetime:
        with self._lock:
            if self._frozen is not None:
                return self._frozen
            return datetime.now(timezone.utc).replace(tzinfo=None) + self._offset

    def set(self, now: datetime | None = None, *, frozen: bool = True) -> None:
        with self._lock:
            if now is None:
                self._frozen, self._offset = None, timedelta(0)
            elif frozen:
                self._frozen, self._offset = now, timedelta(0)
            else:
                self._frozen = None
                self._offset = now - datetime.now(timezone.utc).replace(tzinfo=None)

    def advance(self, seconds: float) -> None:
        with self._lock:
            if self._frozen is not None:
                self._frozen += timedelta(seconds=seconds)
            else:
                self._offset += timedelta(seconds=seconds)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            frozen = self._frozen is not None
            offset = self._offset.total_seconds()
        return {"now": self.now().isoformat(), "frozen": frozen, "offset_seconds": offset}


def parse_iso_datetime(value: str) -> datetime:
    """ISO-8601 (with or without zone) → naive UTC."""
    text = value.strip().replace(" ", "T", 1)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
    return parsed


def utc_stamp() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")
