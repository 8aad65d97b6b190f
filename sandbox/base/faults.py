"""Fault injection of a simulator: scripted one-shot answers, 429 bursts, random errors,
slow answers and "timeout after create" (the write happens, the client never hears)."""
from __future__ import annotations

import random
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .control import ControlError, number as _number

# Upper bound for any sleep a fault or a control call may ask for, so a typo cannot hang a
# test run for hours.
MAX_FAULT_SLEEP_SECONDS = 120.0

@dataclass
class FaultAction:
    kind: str  # "scripted" | "rate_limit" | "error" | "slow"
    status: int = 0
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


class FaultInjector:
    """Scripted and random failures applied before a simulator handles an API request.

    Order of precedence per request: ``fail_next`` queue, ``rate_limit_burst``,
    ``error_rate``, then ``slow_rate`` (which delays but still answers normally).
    ``timeout_after_create_rate`` is drawn after a view persisted a create.
    """

    DEFAULTS: dict[str, Any] = {
        "error_rate": 0.0, "error_status": 503, "error_body": None,
        "timeout_after_create_rate": 0.0, "timeout_seconds": 5.0,
        "slow_rate": 0.0, "slow_seconds": 0.5,
        "rate_limit_burst": 0, "seed": None,
    }
    _RATES = ("error_rate", "timeout_after_create_rate", "slow_rate")
    _SECONDS = ("timeout_seconds", "slow_seconds")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._cfg = dict(self.DEFAULTS)
            self._fail_next: deque[dict[str, Any]] = deque()
            self._rng = random.Random()
            self._counts = {"scripted": 0, "rate_limit": 0, "error": 0, "slow": 0,
                            "timeout_after_create": 0}

    def configure(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Merge the given settings into the current ones (validated as a whole first)."""
        unknown = set(payload) - set(self.DEFAULTS) - {"fail_next"}
        if unknown:
            raise ControlError(400, f"unknown fault settings: {sorted(unknown)}")
        cfg = dict(self._cfg)
        for name in self._RATES:
            if name in payload:
                cfg[name] = _number(payload[name], name, 0.0, 1.0)
        for name in self._SECONDS:
            if name in payload:
                cfg[name] = _number(payload[name], name, 0.0, MAX_FAULT_SLEEP_SECONDS)
        if "error_status" in payload:
            cfg["error_status"] = int(_number(payload["error_status"], "error_status", 100, 599))
        if "error_body" in payload:
            cfg["error_body"] = payload["error_body"]
        if "rate_limit_burst" in payload:
            cfg["rate_limit_burst"] = int(_number(payload["rate_limit_burst"], "rate_limit_burst",
                                                  0, 1_000_000))
        if "fail_next" in payload and not isinstance(payload["fail_next"], (list, type(None))):
            raise ControlError(400, "fail_next must be a list")
        scripted = [_scripted(item, i) for i, item in enumerate(payload.get("fail_next") or [])]
        seed = payload.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, str))):
            raise ControlError(400, "seed must be an integer or a string")
        with self._lock:
            if "seed" in payload:
                cfg["seed"] = payload["seed"]
                self._rng = random.Random(payload["seed"])
            self._cfg = cfg
            self._fail_next.extend(scripted)
        return self.snapshot()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {**self._cfg, "fail_next": list(self._fail_next),
                    "injected": dict(self._counts)}

    def _draw(self, rate: float) -> bool:
        return rate > 0 and self._rng.random() < rate

    def next_action(self) -> FaultAction | None:
        with self._lock:
            if self._fail_next:
                item = self._fail_next.popleft()
                self._counts["scripted"] += 1
                return FaultAction("scripted", item["status"], item.get("body"),
                                   dict(item.get("headers") or {}), item.get("delay", 0.0))
            if self._cfg["rate_limit_burst"] > 0:
                self._cfg["rate_limit_burst"] -= 1
                self._counts["rate_limit"] += 1
                return FaultAction("rate_limit", 429)
            if self._draw(self._cfg["error_rate"]):
                self._counts["error"] += 1
                return FaultAction("error", self._cfg["error_status"], self._cfg["error_body"])
            if self._draw(self._cfg["slow_rate"]):
                self._counts["slow"] += 1
                return FaultAction("slow", seconds=self._cfg["slow_seconds"])
        return None

    def timeout_after_create(self) -> float | None:
        with self._lock:
            if self._draw(self._cfg["timeout_after_create_rate"]):
                self._counts["timeout_after_create"] += 1
                return float(self._cfg["timeout_seconds"])
        return None


def _scripted(item: Any, index: int) -> dict[str, Any]:
    if not isinstance(item, dict) or "status" not in item:
        raise ControlError(400, f"fail_next[{index}] must be an object with a status")
    out = {"status": int(_number(item["status"], f"fail_next[{index}].status", 100, 599)),
           "body": item.get("body"), "headers": item.get("headers") or {}}
    if not isinstance(out["headers"], dict):
        raise ControlError(400, f"fail_next[{index}].headers must be an object")
    if "delay" in item:
        out["delay"] = _number(item["delay"], f"fail_next[{index}].delay", 0.0,
                               MAX_FAULT_SLEEP_SECONDS)
    return out

