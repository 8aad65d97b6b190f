"""Provider-neutral pieces shared by every simulator in the sandbox.

Each simulator is a blueprint plus a `SimRuntime` kept in
``app.extensions["sandbox"][<key>]``, so two sandbox apps in one process (for example
two test servers) never share orders, counters or fault settings.

`install_common(bp, key)` gives a simulator blueprint, under ``<prefix>/_sim/``:

* a request recorder (``GET``/``DELETE /_sim/requests``),
* a fault injector (``GET``/``POST``/``DELETE /_sim/faults``; POST merges the given
  settings into the current ones and appends ``fail_next`` entries, DELETE resets),
* a scriptable clock (``GET``/``POST``/``DELETE /_sim/clock``): ``{"now": iso}`` freezes
  it there (``"frozen": false`` lets it run from there), ``{"advance_seconds": n}`` moves
  it, DELETE returns to real time. Simulators stamp their records with it.

Control routes (anything under ``<prefix>/_sim/``) are never recorded, faulted or
authenticated; they exist for tests and demos only.
"""
from __future__ import annotations

import json
import math
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from urllib.parse import quote, quote_plus
from xml.sax.saxutils import escape as xml_escape
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request

EXTENSION_KEY = "sandbox"

# Header names whose values never reach the recorder (lower case).
DEFAULT_REDACTED_HEADERS = frozenset({
    "authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "api-key",
    "x-oneflow-authorization", "x-hp-hmac-authentication",
})

# Upper bound for any sleep a fault or a control call may ask for, so a typo cannot hang a
# test run for hours.
MAX_FAULT_SLEEP_SECONDS = 120.0


# --------------------------------------------------------------------------- registry types

@dataclass(frozen=True)
class SimulatorSpec:
    """What the app factory needs to mount one provider simulator."""

    key: str                                   # slug: extension key and default prefix
    title: str
    url_prefix: str
    create_blueprint: Callable[[], Blueprint]
    create_state: Callable[["SimRuntime", Mapping[str, Any]], Any]
    default_config: Mapping[str, Any] = field(default_factory=dict)
    redact_headers: frozenset[str] = frozenset()


class SimRuntime:
    """Everything one simulator instance owns; `data` is the provider-specific state."""

    def __init__(self, spec: SimulatorSpec, config: Mapping[str, Any]):
        self.spec = spec
        self.lock = threading.RLock()  # coarse lock for the provider's data
        self.ids = IdSequence()
        self.clock = SimClock()
        self.recorder = RequestRecorder(
            limit=int(config.get("SANDBOX_RECORD_LIMIT", 1000)),
            body_limit=int(config.get("SANDBOX_RECORD_BODY_LIMIT", 2048)),
            redact=DEFAULT_REDACTED_HEADERS | {h.lower() for h in spec.redact_headers},
        )
        self.faults = FaultInjector()
        initial_faults = (config.get("SANDBOX_FAULTS") or {}).get(spec.key)
        if initial_faults:
            self.faults.configure(initial_faults)
        self.limiter = FixedWindowRateLimiter()
        self.data: Any = spec.create_state(self, config)


def init_runtime(app: Flask, spec: SimulatorSpec) -> SimRuntime:
    runtime = SimRuntime(spec, app.config)
    app.extensions.setdefault(EXTENSION_KEY, {})[spec.key] = runtime
    return runtime


def get_runtime(key: str) -> SimRuntime:
    return current_app.extensions[EXTENSION_KEY][key]


# --------------------------------------------------------------------------- small utilities

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


def control_payload() -> dict[str, Any]:
    """Control routes accept fields in the query string and/or a JSON object body."""
    payload: dict[str, Any] = dict(request.args.items())
    if request.get_data(cache=True).strip():
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise ControlError(400, "control body must be a JSON object")
        payload.update(body)
    return payload


class ControlError(Exception):
    """A bad control call; rendered as {"error": ...} with the given status."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def control_error_response(exc: ControlError) -> tuple[Response, int]:
    return jsonify({"error": exc.message}), exc.status


def is_control_request(key: str) -> bool:
    prefix = get_runtime(key).spec.url_prefix.rstrip("/")
    return request.path.startswith(prefix + "/_sim/") or request.path == prefix + "/_sim"


def set_credential(label: str | None, secrets: tuple[str, ...] = ()) -> None:
    """Let a simulator tag the current request with the account it authenticated as, and
    name that account's secrets so the recorder keeps them out of the recorded body (a SOAP
    header or cXML SharedSecret travels in the body)."""
    g.sandbox_credential = label
    g.sandbox_secrets = tuple(s for s in secrets if s)


def mark_created() -> None:
    """Called by a view after it persisted a create; enables 'timeout after create'."""
    g.sandbox_created = True


def external_base_url() -> str:
    """Base URL the outside world uses to reach this sandbox (for webhook resource URLs)."""
    configured = current_app.config.get("SANDBOX_EXTERNAL_BASE_URL")
    if configured:
        return str(configured).rstrip("/")
    return (request.host_url.rstrip("/") + request.script_root).rstrip("/")


def utc_stamp() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


# --------------------------------------------------------------------------- rate limiting

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


# --------------------------------------------------------------------------- request recorder

class RequestRecorder:
    """Bounded, thread-safe log of API requests with secrets redacted."""

    def __init__(self, limit: int = 1000, body_limit: int = 2048,
                 redact: frozenset[str] = DEFAULT_REDACTED_HEADERS):
        self._lock = threading.Lock()
        self._entries: deque[dict[str, Any]] = deque(maxlen=max(1, limit))
        self._seq = 0
        self._dropped = 0
        self.body_limit = body_limit
        self.redact = redact

    def _headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        out = {}
        for name, value in headers.items():
            if name.lower() in self.redact:
                scheme = value.split(" ", 1)[0] if " " in value else ""
                value = f"{scheme} [redacted]".strip()
            out[name] = value
        return out

    def record(self, response: Response, extra: Mapping[str, Any]) -> None:
        raw = request.get_data(cache=True)
        text = raw[: self.body_limit].decode("utf-8", errors="replace")
        for secret in g.get("sandbox_secrets", ()):
            for form in {secret, quote_plus(secret), quote(secret, safe=""), xml_escape(secret),
                         json.dumps(secret)[1:-1]}:
                text = text.replace(form, "[redacted]")
        entry = {
            "method": request.method,
            "path": request.path,
            "query": request.query_string.decode("latin-1"),
            "headers": self._headers(request.headers),
            "body": text,
            "body_truncated": len(raw) > self.body_limit,
            "status": response.status_code,
            "timestamp": utc_stamp(),
            **extra,
        }
        with self._lock:
            self._seq += 1
            entry = {"seq": self._seq, **entry}
            if len(self._entries) == self._entries.maxlen:
                self._dropped += 1
            self._entries.append(entry)

    def entries(self, credential: str | None = None, limit: int | None = None) -> list[dict]:
        with self._lock:
            items = list(self._entries)
        if credential is not None:
            items = [e for e in items if e.get("credential") == credential]
        if limit is not None:
            items = items[-limit:] if limit > 0 else []
        return items

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._dropped = 0

    @property
    def dropped(self) -> int:
        return self._dropped


# --------------------------------------------------------------------------- fault injection

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


def _number(value: Any, name: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ControlError(400, f"{name} must be a number")
    if not low <= value <= high:
        raise ControlError(400, f"{name} must be between {low} and {high}")
    return float(value)


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


def body_response(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Response:
    """A response whose body is JSON for dict/list, text for str and empty for None."""
    if body is None:
        response = Response(b"", status=status)
    elif isinstance(body, (dict, list)):
        response = Response(json.dumps(body), status=status, mimetype="application/json")
    else:
        response = Response(str(body), status=status, mimetype="text/plain")
    for name, value in (headers or {}).items():
        response.headers[name] = str(value)
    return response


# --------------------------------------------------------------------------- blueprint wiring

def install_common(bp: Blueprint, key: str, *,
                   rate_limited_response: Callable[[], Response] | None = None) -> None:
    """Attach recording, fault injection and the shared control routes to `bp`.

    Call this before the simulator registers its own hooks so faults are applied before
    authentication (they stand for failures in front of the provider's application).
    `rate_limited_response` builds the provider's own 429 for ``rate_limit_burst``.
    """

    def default_429() -> Response:
        return body_response(429, {"message": "Too Many Requests"})

    make_429 = rate_limited_response or default_429

    @bp.before_request
    def _sandbox_before() -> Response | None:
        g.sandbox_started = time.monotonic()
        if is_control_request(key):
            return None
        action = get_runtime(key).faults.next_action()
        if action is None:
            return None
        g.sandbox_fault = action.kind
        if action.kind == "slow":
            time.sleep(action.seconds)
            return None
        if action.kind == "rate_limit":
            return make_429()
        if action.kind == "scripted" and action.seconds:
            time.sleep(action.seconds)
        body = action.body
        if action.kind == "error" and body is None:
            body = {"message": f"Simulated fault: HTTP {action.status}"}
        return body_response(action.status, body, action.headers)

    @bp.after_request
    def _sandbox_after(response: Response) -> Response:
        if is_control_request(key):
            return response
        runtime = get_runtime(key)
        delay = None
        if g.get("sandbox_created") and response.status_code < 300:
            delay = runtime.faults.timeout_after_create()
            if delay:
                g.sandbox_fault = "timeout_after_create"
        started = g.get("sandbox_started", time.monotonic())
        runtime.recorder.record(response, {
            "duration_ms": round((time.monotonic() - started) * 1000, 1),
            "credential": g.get("sandbox_credential"),
            "fault": g.get("sandbox_fault"),
            "delayed_seconds": delay or 0,
        })
        if delay:
            time.sleep(delay)  # the write is done; the client just never hears about it
        return response

    bp.register_error_handler(ControlError, control_error_response)

    @bp.get("/_sim/requests")
    def sim_requests_list():
        runtime = get_runtime(key)
        limit = request.args.get("limit", type=int)
        entries = runtime.recorder.entries(request.args.get("credential"), limit)
        return jsonify({"requests": entries, "count": len(entries),
                        "dropped": runtime.recorder.dropped})

    @bp.delete("/_sim/requests")
    def sim_requests_clear():
        get_runtime(key).recorder.clear()
        return jsonify({"cleared": True})

    @bp.get("/_sim/faults")
    def sim_faults_get():
        return jsonify(get_runtime(key).faults.snapshot())

    @bp.post("/_sim/faults")
    def sim_faults_set():
        return jsonify(get_runtime(key).faults.configure(control_payload()))

    @bp.delete("/_sim/faults")
    def sim_faults_reset():
        faults = get_runtime(key).faults
        faults.reset()
        return jsonify(faults.snapshot())

    @bp.get("/_sim/clock")
    def sim_clock_get():
        return jsonify(get_runtime(key).clock.snapshot())

    @bp.post("/_sim/clock")
    def sim_clock_set():
        """{"now": iso, "frozen": true} sets the clock; {"advance_seconds": n} moves it."""
        payload = control_payload()
        clock = get_runtime(key).clock
        if "now" in payload:
            try:
                now = parse_iso_datetime(str(payload["now"]))
            except ValueError:
                raise ControlError(400, "now must be an ISO-8601 date-time") from None
            clock.set(now, frozen=bool(payload.get("frozen", True)))
        if "advance_seconds" in payload:
            clock.advance(_number(payload["advance_seconds"], "advance_seconds",
                                  -10 * 365 * 86400, 10 * 365 * 86400))
        return jsonify(clock.snapshot())

    @bp.delete("/_sim/clock")
    def sim_clock_reset():
        clock = get_runtime(key).clock
        clock.set(None)
        return jsonify(clock.snapshot())
